using System.Text.Json;
using Mesh.Contracts.State;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using Microsoft.Data.Sqlite;

namespace Mesh.Adapters.Sqlite;

/// <summary>The endpoint ledger: one row per source and workload, written under its revision.</summary>
public sealed class SqliteEndpointStore(SqliteDatabase database) : IEndpointStore
{
    private readonly ParsedObservations _parsed = new();

    public async Task<LedgerEntry?> GetAsync(WorkloadKey workload, string sourceId, CancellationToken cancellationToken)
    {
        await using var connection = database.Connect();
        await using var command = SqliteDatabase.Command(connection, "SELECT body, revision FROM endpoint_sources WHERE source_id = $id AND workload = $workload",
            ("$id", sourceId), ("$workload", workload.Value));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken)) return null;
        return new LedgerEntry(ReadObservation(reader.GetString(0)), reader.GetInt64(1));
    }

    public async Task<bool> TryWriteAsync(SourceObservation observation, long? expectedRevision, CancellationToken cancellationToken)
    {
        await using var connection = database.Connect();
        var body = JsonSerializer.Serialize(observation, StateJson.Default.SourceObservation);
        var sql = expectedRevision is null
            ? """
              INSERT INTO endpoint_sources (source_id, workload, version, terminal, revision, body)
              VALUES ($id, $workload, $version, $terminal, 1, $body) ON CONFLICT (source_id, workload) DO NOTHING
              """
            : """
              UPDATE endpoint_sources SET version = $version, terminal = $terminal, revision = revision + 1, body = $body
              WHERE source_id = $id AND workload = $workload AND revision = $expected
              """;
        await using var command = SqliteDatabase.Command(connection, sql,
            ("$id", observation.SourceId), ("$workload", observation.Workload.Value), ("$version", observation.Version),
            ("$terminal", observation.Terminal ? 1 : 0), ("$body", body), ("$expected", expectedRevision ?? 0));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<IReadOnlyDictionary<WorkloadKey, IReadOnlyList<SourceObservation>>> ListLiveAsync(IReadOnlyCollection<WorkloadKey> workloads, CancellationToken cancellationToken)
    {
        var live = workloads.Distinct().ToDictionary(w => w, _ => new List<SourceObservation>());
        await using var connection = database.Connect();
        await using var command = SqliteDatabase.Command(connection,
            "SELECT source_id, workload, revision, body FROM endpoint_sources WHERE terminal = 0 AND workload IN (SELECT value FROM json_each($workloads)) ORDER BY source_id",
            ("$workloads", JsonSerializer.Serialize(live.Keys.Select(w => w.Value).ToArray(), StateJson.Default.StringArray)));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var observation = _parsed.Get(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3));
            live[observation.Workload].Add(observation);
        }
        return live.ToDictionary(p => p.Key, p => (IReadOnlyList<SourceObservation>)p.Value);
    }

    public async Task<IReadOnlyList<LedgerEntry>> ListBySourceAsync(string sourceId, CancellationToken cancellationToken)
    {
        await using var connection = database.Connect();
        await using var command = SqliteDatabase.Command(connection, "SELECT body, revision FROM endpoint_sources WHERE source_id = $id ORDER BY workload", ("$id", sourceId));
        var entries = new List<LedgerEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) entries.Add(new LedgerEntry(ReadObservation(reader.GetString(0)), reader.GetInt64(1)));
        return entries;
    }

    private static SourceObservation ReadObservation(string body) =>
        JsonSerializer.Deserialize(body, StateJson.Default.SourceObservation)
        ?? throw new InvalidDataException("stored ledger entry is empty");
}
