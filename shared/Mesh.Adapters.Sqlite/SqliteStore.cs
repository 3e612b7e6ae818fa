using System.Collections.Concurrent;
using System.Text.Json;
using Mesh.Core.Editing;
using Mesh.Core.Endpoints;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Serving;
using Mesh.Core.Snapshots;
using Mesh.Contracts.State;
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
            source_id TEXT NOT NULL, workload TEXT NOT NULL, version INTEGER NOT NULL,
            terminal INTEGER NOT NULL, revision INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (source_id, workload));
        CREATE INDEX IF NOT EXISTS endpoint_sources_live ON endpoint_sources (workload) WHERE terminal = 0;
        CREATE TABLE IF NOT EXISTS meshes (name TEXT PRIMARY KEY, revision INTEGER NOT NULL, generation TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS changes (mesh TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (mesh, id));
        CREATE TABLE IF NOT EXISTS proxy_polls (
            fleet TEXT NOT NULL, node TEXT NOT NULL, type TEXT NOT NULL, names TEXT NOT NULL,
            reported TEXT NOT NULL, served TEXT, rejected TEXT, at TEXT NOT NULL, PRIMARY KEY (fleet, node, type, names));
        CREATE TABLE IF NOT EXISTS services (
            mesh TEXT NOT NULL, name TEXT NOT NULL, workload TEXT, body TEXT NOT NULL, PRIMARY KEY (mesh, name));
        CREATE INDEX IF NOT EXISTS services_by_workload ON services (workload);
        CREATE TABLE IF NOT EXISTS snapshots (
            fleet TEXT NOT NULL, version TEXT NOT NULL, manifest BLOB NOT NULL, PRIMARY KEY (fleet, version));
        CREATE TABLE IF NOT EXISTS resources (
            hash TEXT NOT NULL, name TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY (hash, name)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS fleet_heads (
            fleet TEXT PRIMARY KEY, mesh TEXT NOT NULL, service TEXT NOT NULL,
            sequence INTEGER NOT NULL, version TEXT NOT NULL, committed_at TEXT NOT NULL,
            compiled_generation TEXT NOT NULL, compiled_revision INTEGER NOT NULL);
        """;

    private const int MaxRememberedResources = 500_000;

    private readonly string _connectionString;
    private readonly ConcurrentDictionary<ResourceKey, byte> _storedResources = new();
    private readonly ConcurrentDictionary<string, MeshState> _meshes = new(StringComparer.Ordinal);

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
              VALUES ($id, $workload, $version, $terminal, 1, $body) ON CONFLICT (source_id, workload) DO NOTHING
              """
            : """
              UPDATE endpoint_sources SET version = $version, terminal = $terminal, revision = revision + 1, body = $body
              WHERE source_id = $id AND workload = $workload AND revision = $expected
              """;
        await using var command = Command(connection, sql,
            ("$id", observation.SourceId), ("$workload", observation.Workload.Value), ("$version", observation.Version),
            ("$terminal", observation.Terminal ? 1 : 0), ("$body", body), ("$expected", expectedRevision ?? 0));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<IReadOnlyDictionary<WorkloadKey, IReadOnlyList<SourceObservation>>> ListLiveAsync(IReadOnlyCollection<WorkloadKey> workloads, CancellationToken cancellationToken)
    {
        var live = workloads.Distinct().ToDictionary(w => w, _ => new List<SourceObservation>());
        await using var connection = Connect();
        await using var command = Command(connection,
            "SELECT body FROM endpoint_sources WHERE terminal = 0 AND workload IN (SELECT value FROM json_each($workloads)) ORDER BY source_id",
            ("$workloads", JsonSerializer.Serialize(live.Keys.Select(w => w.Value).ToArray(), StateJson.Default.StringArray)));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var observation = ReadObservation(reader.GetString(0));
            live[observation.Workload].Add(observation);
        }
        return live.ToDictionary(p => p.Key, p => (IReadOnlyList<SourceObservation>)p.Value);
    }

    public async Task<IReadOnlyList<LedgerEntry>> ListBySourceAsync(string sourceId, CancellationToken cancellationToken)
    {
        await using var connection = Connect();
        await using var command = Command(connection, "SELECT body, revision FROM endpoint_sources WHERE source_id = $id ORDER BY workload", ("$id", sourceId));
        var entries = new List<LedgerEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) entries.Add(new LedgerEntry(ReadObservation(reader.GetString(0)), reader.GetInt64(1)));
        return entries;
    }

    // ---- desired state ----

    /// <summary>SQLite has no transaction limit that matters here.</summary>
    public int MaxServicesPerChange => 1000;

    public async Task<IReadOnlyList<string>> ListMeshesAsync(CancellationToken cancellationToken)
    {
        await using var connection = Connect();
        await using var command = Command(connection, "SELECT name FROM meshes ORDER BY name");
        var meshes = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) meshes.Add(reader.GetString(0));
        return meshes;
    }

    public async Task<MeshState?> GetMeshAsync(string mesh, CancellationToken cancellationToken)
    {
        await using var connection = Connect();
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using var revisionCommand = Command(connection, "SELECT revision, generation FROM meshes WHERE name = $mesh", ("$mesh", mesh));
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
        await using var command = Command(connection, "SELECT body FROM services WHERE mesh = $mesh", ("$mesh", mesh));
        var services = new List<ServiceDefinition>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            services.Add(JsonSerializer.Deserialize(reader.GetString(0), StateJson.Default.StoredService)!.ToDefinition());
        return _meshes[mesh] = new MeshState(mesh, services, revision, generation);
    }

    public async Task<bool> TryApplyAsync(ChangeRecord change, CancellationToken cancellationToken)
    {
        await using var connection = Connect();
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        var guard = change switch
        {
            { Lifecycle: MeshLifecycle.Deleted } => "DELETE FROM meshes WHERE name = $mesh AND revision = $expected AND generation = $generation",
            { Revision: 1 } => "INSERT INTO meshes (name, revision, generation) VALUES ($mesh, 1, $generation) ON CONFLICT (name) DO NOTHING",
            _ => "UPDATE meshes SET revision = $revision WHERE name = $mesh AND revision = $expected AND generation = $generation",
        };
        await using (var command = Command(connection, guard, ("$mesh", change.Mesh), ("$revision", change.Revision), ("$expected", change.Revision - 1),
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
                ? Command(connection, """
                    INSERT INTO services (mesh, name, workload, body) VALUES ($mesh, $name, $workload, $body)
                    ON CONFLICT (mesh, name) DO UPDATE SET workload = excluded.workload, body = excluded.body
                    """,
                    ("$mesh", change.Mesh), ("$name", service.Name), ("$workload", after.Service.Workload?.Key.Value),
                    ("$body", JsonSerializer.Serialize(after, StateJson.Default.StoredService)))
                : Command(connection, "DELETE FROM services WHERE mesh = $mesh AND name = $name", ("$mesh", change.Mesh), ("$name", service.Name));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var command = Command(connection, "INSERT INTO changes (mesh, id, body) VALUES ($mesh, $id, $body)",
            ("$mesh", change.Mesh), ("$id", change.Id), ("$body", JsonSerializer.Serialize(change, StateJson.Default.ChangeRecord))))
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<ChangeRecord?> GetChangeAsync(string mesh, string id, CancellationToken cancellationToken)
    {
        await using var connection = Connect();
        await using var command = Command(connection, "SELECT body FROM changes WHERE mesh = $mesh AND id = $id", ("$mesh", mesh), ("$id", id));
        return await command.ExecuteScalarAsync(cancellationToken) is string body ? ReadChange(body) : null;
    }

    public async Task<ChangePage> ListChangesAsync(string mesh, string? after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = Connect();
        await using var command = Command(connection,
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
        await using var connection = Connect();
        await using var command = Command(connection, "UPDATE changes SET body = $body WHERE mesh = $mesh AND id = $id",
            ("$mesh", mesh), ("$id", id), ("$body", JsonSerializer.Serialize(change with { Published = [.. published] }, StateJson.Default.ChangeRecord)));
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
        await using var command = Command(connection, "SELECT mesh, service, sequence, version, committed_at, compiled_generation, compiled_revision FROM fleet_heads WHERE fleet = $fleet", ("$fleet", fleet.ToString()));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadHead(reader) : null;
    }

    public async Task<IReadOnlyList<SnapshotHead>> ListHeadsAsync(string mesh, CancellationToken cancellationToken)
    {
        await using var connection = Connect();
        await using var command = Command(connection, "SELECT mesh, service, sequence, version, committed_at, compiled_generation, compiled_revision FROM fleet_heads WHERE mesh = $mesh ORDER BY service", ("$mesh", mesh));
        var heads = new List<SnapshotHead>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) heads.Add(ReadHead(reader));
        return heads;
    }

    public async Task<FleetSnapshot?> GetAsync(FleetId fleet, string version, CancellationToken cancellationToken)
    {
        await using var connection = Connect();
        await using var command = Command(connection, "SELECT manifest FROM snapshots WHERE fleet = $fleet AND version = $version", ("$fleet", fleet.ToString()), ("$version", version));
        if (await command.ExecuteScalarAsync(cancellationToken) is not byte[] stored) return null;
        var manifest = SnapshotManifest.Decode(stored);
        var keys = manifest.Keys.ToHashSet();
        await using var read = Command(connection, "SELECT name, hash, body FROM resources WHERE hash IN (SELECT value FROM json_each($hashes))",
            ("$hashes", JsonSerializer.Serialize(keys.Select(k => k.Hash).Distinct().ToArray(), StateJson.Default.StringArray)));
        var bodies = new Dictionary<ResourceKey, ReadOnlyMemory<byte>>();
        await using var reader = await read.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var key = new ResourceKey(reader.GetString(0), reader.GetString(1));
            if (keys.Contains(key)) bodies[key] = (byte[])reader.GetValue(2);
        }
        return manifest.Assemble(bodies);
    }

    /// <summary>
    /// One transaction: the resource bodies not stored yet (content-addressed, so a fleet's next version and every
    /// fleet calling the same backend add only what differs), the manifest, and the head under its sequence guard.
    /// </summary>
    public async Task<bool> TryCommitAsync(FleetSnapshot snapshot, long expectedSequence, MeshStamp compiledFrom, DateTimeOffset committedAt, CancellationToken cancellationToken)
    {
        await using var connection = Connect();
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        var fleet = snapshot.Fleet.ToString();
        var added = new List<ResourceKey>();
        await using (var insert = Command(connection, "INSERT INTO resources (hash, name, body) VALUES ($hash, $name, $body) ON CONFLICT DO NOTHING",
            ("$hash", ""), ("$name", ""), ("$body", Array.Empty<byte>())))
        {
            foreach (var resource in snapshot.Sets.SelectMany(s => s.Resources))
            {
                var key = new ResourceKey(resource.Name, resource.Hash);
                if (_storedResources.ContainsKey(key)) continue;
                insert.Parameters["$hash"].Value = key.Hash;
                insert.Parameters["$name"].Value = key.Name;
                insert.Parameters["$body"].Value = resource.Json.ToArray();
                await insert.ExecuteNonQueryAsync(cancellationToken);
                added.Add(key);
            }
        }
        await using (var manifest = Command(connection, "INSERT INTO snapshots (fleet, version, manifest) VALUES ($fleet, $version, $manifest) ON CONFLICT DO NOTHING",
            ("$fleet", fleet), ("$version", snapshot.Version), ("$manifest", SnapshotManifest.Of(snapshot).Encode())))
        {
            await manifest.ExecuteNonQueryAsync(cancellationToken);
        }
        var sql = expectedSequence == 0
            ? """
              INSERT INTO fleet_heads (fleet, mesh, service, sequence, version, committed_at, compiled_generation, compiled_revision)
              VALUES ($fleet, $mesh, $service, 1, $version, $at, $generation, $revision) ON CONFLICT (fleet) DO NOTHING
              """
            : """
              UPDATE fleet_heads SET sequence = sequence + 1, version = $version, committed_at = $at,
                  compiled_generation = $generation, compiled_revision = $revision
              WHERE fleet = $fleet AND sequence = $expected
              """;
        await using var head = Command(connection, sql, ("$fleet", fleet), ("$mesh", snapshot.Fleet.Mesh), ("$service", snapshot.Fleet.Service),
            ("$version", snapshot.Version), ("$at", committedAt.ToString("O")), ("$expected", expectedSequence),
            ("$generation", compiledFrom.Generation), ("$revision", compiledFrom.Revision));
        if (await head.ExecuteNonQueryAsync(cancellationToken) != 1)
        {
            await transaction.RollbackAsync(cancellationToken);
            return false;
        }
        await transaction.CommitAsync(cancellationToken);
        // Only bodies of committed transactions are known to be stored; the set is bounded by starting over.
        if (_storedResources.Count > MaxRememberedResources) _storedResources.Clear();
        foreach (var key in added) _storedResources.TryAdd(key, 0);
        return true;
    }

    // ---- proxy polls ----

    public async Task<ProxyPoll?> GetPollAsync(SubscriptionKey key, CancellationToken cancellationToken)
    {
        await using var connection = Connect();
        await using var command = Command(connection,
            "SELECT reported, served, rejected, at FROM proxy_polls WHERE fleet = $fleet AND node = $node AND type = $type AND names = $names",
            ("$fleet", key.Fleet.ToString()), ("$node", key.NodeId), ("$type", key.Type.PathName()), ("$names", key.Names));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadPoll(key, reader) : null;
    }

    public async Task RecordPollAsync(ProxyPoll poll, CancellationToken cancellationToken)
    {
        await using var connection = Connect();
        await using var command = Command(connection, """
            INSERT INTO proxy_polls (fleet, node, type, names, reported, served, rejected, at)
            VALUES ($fleet, $node, $type, $names, $reported, $served, $rejected, $at)
            ON CONFLICT (fleet, node, type, names) DO UPDATE SET
                reported = excluded.reported, served = excluded.served, rejected = excluded.rejected, at = excluded.at
            """,
            ("$fleet", poll.Key.Fleet.ToString()), ("$node", poll.Key.NodeId), ("$type", poll.Key.Type.PathName()), ("$names", poll.Key.Names),
            ("$reported", poll.Reported), ("$served", poll.Served), ("$rejected", poll.Rejected), ("$at", poll.At.ToString("O")));
        await command.ExecuteNonQueryAsync(cancellationToken);
        // Polls expire as DynamoDB's do (its TTL), so nodes that stopped polling do not pile up.
        await using var expire = Command(connection, "DELETE FROM proxy_polls WHERE fleet = $fleet AND at < $cutoff",
            ("$fleet", poll.Key.Fleet.ToString()), ("$cutoff", (poll.At - IProxyStatusStore.PollLifetime).ToString("O")));
        await expire.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<ProxyPoll>> ListPollsAsync(FleetId fleet, DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var connection = Connect();
        await using var command = Command(connection,
            "SELECT reported, served, rejected, at, node, type, names FROM proxy_polls WHERE fleet = $fleet ORDER BY node, type, names", ("$fleet", fleet.ToString()));
        var polls = new List<ProxyPoll>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (!XdsTypes.TryParsePathName(reader.GetString(5), out var type)) continue;
            var poll = ReadPoll(new SubscriptionKey(fleet, reader.GetString(4), type, reader.GetString(6)), reader);
            if (poll.At >= since) polls.Add(poll);
        }
        return polls;
    }

    private static ProxyPoll ReadPoll(SubscriptionKey key, SqliteDataReader reader) => new(
        key, reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
        DateTimeOffset.Parse(reader.GetString(3), System.Globalization.CultureInfo.InvariantCulture));

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

    private static ChangeRecord ReadChange(string body) =>
        JsonSerializer.Deserialize(body, StateJson.Default.ChangeRecord) ?? throw new InvalidDataException("stored change is empty");

    private static SnapshotHead ReadHead(SqliteDataReader reader) => new(
        new FleetId(reader.GetString(0), reader.GetString(1)), reader.GetInt64(2), reader.GetString(3),
        DateTimeOffset.Parse(reader.GetString(4), System.Globalization.CultureInfo.InvariantCulture), new MeshStamp(reader.GetString(5), reader.GetInt64(6)));
}
