using System.Collections.Concurrent;
using System.Text.Json;
using Mesh.Contracts.State;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using Microsoft.Data.Sqlite;

namespace Mesh.Adapters.Sqlite;

/// <summary>Meshes, their services and gateways, and their change log; a mesh is read once per generation and revision.</summary>
public sealed class SqliteDesiredStateStore(SqliteDatabase database) : IDesiredStateStore
{
    private readonly ConcurrentDictionary<string, MeshState> _meshes = new(StringComparer.Ordinal);

    /// <summary>SQLite has no transaction limit that matters here.</summary>
    public int MaxServicesPerChange => 1000;

    public async Task<IReadOnlyList<string>> ListMeshesAsync(CancellationToken cancellationToken)
    {
        await using var connection = database.Connect();
        await using var command = SqliteDatabase.Command(connection, "SELECT name FROM meshes ORDER BY name");
        var meshes = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) meshes.Add(reader.GetString(0));
        return meshes;
    }

    public async Task<MeshState?> GetMeshAsync(string mesh, CancellationToken cancellationToken)
    {
        await using var connection = database.Connect();
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using var revisionCommand = SqliteDatabase.Command(connection, "SELECT revision, generation FROM meshes WHERE name = $mesh", ("$mesh", mesh));
        long revision;
        string generation;
        await using (var meta = await revisionCommand.ExecuteReaderAsync(cancellationToken))
        {
            if (!await meta.ReadAsync(cancellationToken)) return null;
            (revision, generation) = (meta.GetInt64(0), meta.GetString(1));
        }
        // Every write to a mesh's services moves its revision, and a mesh created again has a new generation: a mesh
        // read at this generation and revision is this mesh.
        if (_meshes.TryGetValue(mesh, out var cached) && cached.Revision == revision && cached.Generation == generation) return cached;
        await using var command = SqliteDatabase.Command(connection, "SELECT body FROM services WHERE mesh = $mesh", ("$mesh", mesh));
        var services = new List<ServiceDefinition>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
                services.Add(JsonSerializer.Deserialize(reader.GetString(0), StateJson.Default.StoredService)!.ToDefinition());
        }
        await using var settingsCommand = SqliteDatabase.Command(connection, "SELECT body FROM mesh_settings WHERE mesh = $mesh", ("$mesh", mesh));
        var settings = await settingsCommand.ExecuteScalarAsync(cancellationToken) is string body ? JsonSerializer.Deserialize(body, StateJson.Default.MeshSettings) : null;
        await using var gatewaysCommand = SqliteDatabase.Command(connection, "SELECT body FROM gateways WHERE mesh = $mesh", ("$mesh", mesh));
        var gateways = new List<GatewayDefinition>();
        await using (var reader = await gatewaysCommand.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
                gateways.Add(JsonSerializer.Deserialize(reader.GetString(0), StateJson.Default.GatewayDefinition)!);
        }
        return _meshes[mesh] = new MeshState(mesh, services, revision, generation, settings, gateways);
    }

    public async Task<bool> TryApplyAsync(ChangeRecord change, CancellationToken cancellationToken)
    {
        await using var connection = database.Connect();
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        var guard = change switch
        {
            { Lifecycle: MeshLifecycle.Deleted } => "DELETE FROM meshes WHERE name = $mesh AND revision = $expected AND generation = $generation",
            { Revision: 1 } => "INSERT INTO meshes (name, revision, generation) VALUES ($mesh, 1, $generation) ON CONFLICT (name) DO NOTHING",
            _ => "UPDATE meshes SET revision = $revision WHERE name = $mesh AND revision = $expected AND generation = $generation",
        };
        await using (var command = SqliteDatabase.Command(connection, guard, ("$mesh", change.Mesh), ("$revision", change.Revision), ("$expected", change.Revision - 1),
            ("$generation", change.Generation)))
        {
            if (await command.ExecuteNonQueryAsync(cancellationToken) != 1)
            {
                await transaction.RollbackAsync(cancellationToken);
                return false;
            }
        }
        foreach (var service in change.Services)
        {
            await using var command = service.After is { } after
                ? SqliteDatabase.Command(connection, """
                    INSERT INTO services (mesh, name, workload, body) VALUES ($mesh, $name, $workload, $body)
                    ON CONFLICT (mesh, name) DO UPDATE SET workload = excluded.workload, body = excluded.body
                    """,
                    ("$mesh", change.Mesh), ("$name", service.Name), ("$workload", after.Service.Workload?.Key.Value),
                    ("$body", JsonSerializer.Serialize(after, StateJson.Default.StoredService)))
                : SqliteDatabase.Command(connection, "DELETE FROM services WHERE mesh = $mesh AND name = $name", ("$mesh", change.Mesh), ("$name", service.Name));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        foreach (var gateway in change.Gateways)
        {
            await using var command = gateway.After is { } after
                ? SqliteDatabase.Command(connection, "INSERT INTO gateways (mesh, name, body) VALUES ($mesh, $name, $body) ON CONFLICT (mesh, name) DO UPDATE SET body = excluded.body",
                    ("$mesh", change.Mesh), ("$name", gateway.Name), ("$body", JsonSerializer.Serialize(after, StateJson.Default.GatewayDefinition)))
                : SqliteDatabase.Command(connection, "DELETE FROM gateways WHERE mesh = $mesh AND name = $name", ("$mesh", change.Mesh), ("$name", gateway.Name));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        if (change.Lifecycle == MeshLifecycle.Deleted || change.Settings is not null)
        {
            await using var command = change.Lifecycle == MeshLifecycle.Deleted
                ? SqliteDatabase.Command(connection, "DELETE FROM mesh_settings WHERE mesh = $mesh", ("$mesh", change.Mesh))
                : SqliteDatabase.Command(connection, "INSERT INTO mesh_settings (mesh, body) VALUES ($mesh, $body) ON CONFLICT (mesh) DO UPDATE SET body = excluded.body",
                    ("$mesh", change.Mesh), ("$body", JsonSerializer.Serialize(change.Settings!.After, StateJson.Default.MeshSettings)));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var command = SqliteDatabase.Command(connection, "INSERT INTO changes (mesh, id, body) VALUES ($mesh, $id, $body)",
            ("$mesh", change.Mesh), ("$id", change.Id), ("$body", JsonSerializer.Serialize(change, StateJson.Default.ChangeRecord))))
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<ChangeRecord?> GetChangeAsync(string mesh, string id, CancellationToken cancellationToken)
    {
        await using var connection = database.Connect();
        await using var command = SqliteDatabase.Command(connection, "SELECT body FROM changes WHERE mesh = $mesh AND id = $id", ("$mesh", mesh), ("$id", id));
        return await command.ExecuteScalarAsync(cancellationToken) is string body ? ReadChange(body) : null;
    }

    public async Task<ChangePage> ListChangesAsync(string mesh, string? after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = database.Connect();
        await using var command = SqliteDatabase.Command(connection,
            "SELECT body FROM changes WHERE mesh = $mesh AND ($after IS NULL OR id < $after) ORDER BY id DESC LIMIT $limit",
            ("$mesh", mesh), ("$after", after), ("$limit", limit + 1));
        var changes = new List<ChangeRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) changes.Add(ReadChange(reader.GetString(0)));
        return changes.Count > limit ? new ChangePage(changes[..limit], changes[limit - 1].Id) : new ChangePage(changes, null);
    }

    public async Task RecordPublishedAsync(string mesh, string id, IReadOnlyList<PublishedVersion> published, CancellationToken cancellationToken)
    {
        var change = await GetChangeAsync(mesh, id, cancellationToken) ?? throw new InvalidOperationException($"no change {id} in mesh '{mesh}'");
        await using var connection = database.Connect();
        await using var command = SqliteDatabase.Command(connection, "UPDATE changes SET body = $body WHERE mesh = $mesh AND id = $id",
            ("$mesh", mesh), ("$id", id), ("$body", JsonSerializer.Serialize(change with { Published = [.. published] }, StateJson.Default.ChangeRecord)));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<FleetId>> FindByWorkloadAsync(WorkloadKey workload, CancellationToken cancellationToken)
    {
        await using var connection = database.Connect();
        await using var command = SqliteDatabase.Command(connection, "SELECT mesh, name FROM services WHERE workload = $workload ORDER BY mesh, name", ("$workload", workload.Value));
        var fleets = new List<FleetId>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) fleets.Add(new FleetId(reader.GetString(0), reader.GetString(1)));
        return fleets;
    }

    private static ChangeRecord ReadChange(string body) =>
        JsonSerializer.Deserialize(body, StateJson.Default.ChangeRecord) ?? throw new InvalidDataException("stored change is empty");
}
