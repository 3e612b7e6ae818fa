using System.Text.Json;
using Mesh.Core.Endpoints;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Snapshots;
using Mesh.Core.Storage;
using Microsoft.Data.Sqlite;

namespace Mesh.Adapters.Sqlite;

/// <summary>
/// The embedded store: every port on one SQLite file in WAL mode. Guards are conditional statements
/// (UPDATE ... WHERE revision = @expected), and a snapshot commit is one transaction.
/// </summary>
public sealed class SqliteStore : IMeshStore
{
    private const string Schema = """
        PRAGMA journal_mode = WAL;
        CREATE TABLE IF NOT EXISTS endpoint_sources (
            source_id TEXT PRIMARY KEY, workload TEXT NOT NULL, version INTEGER NOT NULL,
            terminal INTEGER NOT NULL, revision INTEGER NOT NULL, body TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS endpoint_sources_live ON endpoint_sources (workload) WHERE terminal = 0;
        CREATE TABLE IF NOT EXISTS services (
            mesh TEXT NOT NULL, name TEXT NOT NULL, workload TEXT, body TEXT NOT NULL, PRIMARY KEY (mesh, name));
        CREATE INDEX IF NOT EXISTS services_by_workload ON services (workload);
        CREATE TABLE IF NOT EXISTS snapshots (
            fleet TEXT NOT NULL, version TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY (fleet, version));
        CREATE TABLE IF NOT EXISTS fleet_heads (
            fleet TEXT PRIMARY KEY, mesh TEXT NOT NULL, service TEXT NOT NULL,
            sequence INTEGER NOT NULL, version TEXT NOT NULL, committed_at TEXT NOT NULL);
        """;

    private readonly string _connectionString;

    private SqliteStore(string connectionString) => _connectionString = connectionString;

    /// <summary>Opens (creating if needed) the store in the file at <paramref name="path"/>.</summary>
    public static SqliteStore Open(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        var store = new SqliteStore(new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = 30 }.ToString());
        using var connection = store.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = Schema;
        command.ExecuteNonQuery();
        return store;
    }

    // ---- endpoint ledger ----

    public async Task<LedgerEntry?> GetAsync(WorkloadKey workload, string sourceId, CancellationToken cancellationToken)
    {
        await using var connection = Connect();
        await using var command = Command(connection, "SELECT body, revision FROM endpoint_sources WHERE source_id = $id AND workload = $workload",
            ("$id", sourceId), ("$workload", workload.Value));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken)) return null;
        return new LedgerEntry(ReadObservation(reader.GetString(0)), reader.GetInt64(1));
    }

    public async Task<bool> TryWriteAsync(SourceObservation observation, long? expectedRevision, CancellationToken cancellationToken)
    {
        await using var connection = Connect();
        var body = JsonSerializer.Serialize(observation, StateJson.Default.SourceObservation);
        var sql = expectedRevision is null
            ? """
              INSERT INTO endpoint_sources (source_id, workload, version, terminal, revision, body)
              VALUES ($id, $workload, $version, $terminal, 1, $body) ON CONFLICT (source_id) DO NOTHING
              """
            : """
              UPDATE endpoint_sources SET workload = $workload, version = $version, terminal = $terminal,
                  revision = revision + 1, body = $body
              WHERE source_id = $id AND revision = $expected
              """;
        await using var command = Command(connection, sql,
            ("$id", observation.SourceId), ("$workload", observation.Workload.Value), ("$version", observation.Version),
            ("$terminal", observation.Terminal ? 1 : 0), ("$body", body), ("$expected", expectedRevision ?? 0));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<IReadOnlyList<SourceObservation>> ListLiveAsync(WorkloadKey workload, CancellationToken cancellationToken)
    {
        await using var connection = Connect();
        await using var command = Command(connection,
            "SELECT body FROM endpoint_sources WHERE workload = $workload AND terminal = 0 ORDER BY source_id", ("$workload", workload.Value));
        var list = new List<SourceObservation>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) list.Add(ReadObservation(reader.GetString(0)));
        return list;
    }

    // ---- desired state ----

    public async Task<IReadOnlyList<string>> ListMeshesAsync(CancellationToken cancellationToken)
    {
        await using var connection = Connect();
        await using var command = Command(connection, "SELECT DISTINCT mesh FROM services ORDER BY mesh");
        var meshes = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) meshes.Add(reader.GetString(0));
        return meshes;
    }

    public async Task<MeshState?> GetMeshAsync(string mesh, CancellationToken cancellationToken)
    {
        await using var connection = Connect();
        await using var command = Command(connection, "SELECT body FROM services WHERE mesh = $mesh", ("$mesh", mesh));
        var services = new List<ServiceDefinition>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            services.Add(JsonSerializer.Deserialize(reader.GetString(0), StateJson.Default.ServiceDefinition)!);
        return services.Count == 0 ? null : new MeshState(mesh, services);
    }

    public async Task PutServiceAsync(ServiceDefinition service, CancellationToken cancellationToken)
    {
        await using var connection = Connect();
        await using var command = Command(connection, """
            INSERT INTO services (mesh, name, workload, body) VALUES ($mesh, $name, $workload, $body)
            ON CONFLICT (mesh, name) DO UPDATE SET workload = excluded.workload, body = excluded.body
            """,
            ("$mesh", service.Mesh), ("$name", service.Name), ("$workload", service.Workload?.Key.Value),
            ("$body", JsonSerializer.Serialize(service, StateJson.Default.ServiceDefinition)));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<FleetId>> FindByWorkloadAsync(WorkloadKey workload, CancellationToken cancellationToken)
    {
        await using var connection = Connect();
        await using var command = Command(connection, "SELECT mesh, name FROM services WHERE workload = $workload ORDER BY mesh, name", ("$workload", workload.Value));
        var fleets = new List<FleetId>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) fleets.Add(new FleetId(reader.GetString(0), reader.GetString(1)));
        return fleets;
    }

    // ---- snapshots ----

    public async Task<SnapshotHead?> GetHeadAsync(FleetId fleet, CancellationToken cancellationToken)
    {
        await using var connection = Connect();
        await using var command = Command(connection, "SELECT mesh, service, sequence, version, committed_at FROM fleet_heads WHERE fleet = $fleet", ("$fleet", fleet.ToString()));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadHead(reader) : null;
    }

    public async Task<IReadOnlyList<SnapshotHead>> ListHeadsAsync(string mesh, CancellationToken cancellationToken)
    {
        await using var connection = Connect();
        await using var command = Command(connection, "SELECT mesh, service, sequence, version, committed_at FROM fleet_heads WHERE mesh = $mesh ORDER BY service", ("$mesh", mesh));
        var heads = new List<SnapshotHead>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) heads.Add(ReadHead(reader));
        return heads;
    }

    public async Task<FleetSnapshot?> GetAsync(FleetId fleet, string version, CancellationToken cancellationToken)
    {
        await using var connection = Connect();
        await using var command = Command(connection, "SELECT body FROM snapshots WHERE fleet = $fleet AND version = $version", ("$fleet", fleet.ToString()), ("$version", version));
        return await command.ExecuteScalarAsync(cancellationToken) is byte[] body ? SnapshotCodec.Decode(body) : null;
    }

    public async Task<bool> TryCommitAsync(FleetSnapshot snapshot, long expectedSequence, DateTimeOffset committedAt, CancellationToken cancellationToken)
    {
        await using var connection = Connect();
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        var fleet = snapshot.Fleet.ToString();
        await using (var body = Command(connection, "INSERT INTO snapshots (fleet, version, body) VALUES ($fleet, $version, $body) ON CONFLICT DO NOTHING",
            ("$fleet", fleet), ("$version", snapshot.Version), ("$body", SnapshotCodec.Encode(snapshot))))
        {
            await body.ExecuteNonQueryAsync(cancellationToken);
        }
        var sql = expectedSequence == 0
            ? """
              INSERT INTO fleet_heads (fleet, mesh, service, sequence, version, committed_at)
              VALUES ($fleet, $mesh, $service, 1, $version, $at) ON CONFLICT (fleet) DO NOTHING
              """
            : """
              UPDATE fleet_heads SET sequence = sequence + 1, version = $version, committed_at = $at
              WHERE fleet = $fleet AND sequence = $expected
              """;
        await using var head = Command(connection, sql, ("$fleet", fleet), ("$mesh", snapshot.Fleet.Mesh), ("$service", snapshot.Fleet.Service),
            ("$version", snapshot.Version), ("$at", committedAt.ToString("O")), ("$expected", expectedSequence));
        if (await head.ExecuteNonQueryAsync(cancellationToken) != 1)
        {
            await transaction.RollbackAsync(cancellationToken);
            return false;
        }
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    private SqliteConnection Connect()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        // In WAL mode NORMAL cannot corrupt the file; a power cut may lose the last commits, which the
        // embedded store (one machine, local runs) accepts for an fsync less per commit.
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA synchronous = NORMAL";
        pragma.ExecuteNonQuery();
        return connection;
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }

    private static SourceObservation ReadObservation(string body) =>
        JsonSerializer.Deserialize(body, StateJson.Default.SourceObservation)
        ?? throw new InvalidDataException("stored ledger entry is empty");

    private static SnapshotHead ReadHead(SqliteDataReader reader) => new(
        new FleetId(reader.GetString(0), reader.GetString(1)), reader.GetInt64(2), reader.GetString(3),
        DateTimeOffset.Parse(reader.GetString(4), System.Globalization.CultureInfo.InvariantCulture));
}
