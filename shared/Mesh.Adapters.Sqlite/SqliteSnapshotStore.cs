using System.Collections.Concurrent;
using System.Text.Json;
using Mesh.Contracts.State;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Snapshots;
using Microsoft.Data.Sqlite;

namespace Mesh.Adapters.Sqlite;

/// <summary>Snapshots as content-addressed resource bodies and a manifest per version, and each fleet's head.</summary>
public sealed class SqliteSnapshotStore(SqliteDatabase database) : ISnapshotStore
{
    private const int MaxRememberedResources = 500_000;

    private readonly ConcurrentDictionary<ResourceKey, byte> _storedResources = new();

    public async Task<SnapshotHead?> GetHeadAsync(FleetId fleet, CancellationToken cancellationToken)
    {
        await using var connection = database.Connect();
        await using var command = SqliteDatabase.Command(connection, "SELECT mesh, service, sequence, version, committed_at, compiled_generation, compiled_revision FROM fleet_heads WHERE fleet = $fleet", ("$fleet", fleet.ToString()));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadHead(reader) : null;
    }

    public async Task<IReadOnlyList<SnapshotHead>> ListHeadsAsync(string mesh, CancellationToken cancellationToken)
    {
        await using var connection = database.Connect();
        await using var command = SqliteDatabase.Command(connection, "SELECT mesh, service, sequence, version, committed_at, compiled_generation, compiled_revision FROM fleet_heads WHERE mesh = $mesh ORDER BY service", ("$mesh", mesh));
        var heads = new List<SnapshotHead>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) heads.Add(ReadHead(reader));
        return heads;
    }

    public async Task<FleetSnapshot?> GetAsync(FleetId fleet, string version, CancellationToken cancellationToken)
    {
        await using var connection = database.Connect();
        await using var command = SqliteDatabase.Command(connection, "SELECT manifest FROM snapshots WHERE fleet = $fleet AND version = $version", ("$fleet", fleet.ToString()), ("$version", version));
        if (await command.ExecuteScalarAsync(cancellationToken) is not byte[] stored) return null;
        var manifest = SnapshotManifest.Decode(stored);
        var keys = manifest.Keys.ToHashSet();
        await using var read = SqliteDatabase.Command(connection, "SELECT name, hash, body FROM resources WHERE hash IN (SELECT value FROM json_each($hashes))",
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
        await using var connection = database.Connect();
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        var fleet = snapshot.Fleet.ToString();
        var added = new List<ResourceKey>();
        await using (var insert = SqliteDatabase.Command(connection, "INSERT INTO resources (hash, name, body) VALUES ($hash, $name, $body) ON CONFLICT DO NOTHING",
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
        await using (var manifest = SqliteDatabase.Command(connection, "INSERT INTO snapshots (fleet, version, manifest) VALUES ($fleet, $version, $manifest) ON CONFLICT DO NOTHING",
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
        await using var head = SqliteDatabase.Command(connection, sql, ("$fleet", fleet), ("$mesh", snapshot.Fleet.Mesh), ("$service", snapshot.Fleet.Service),
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

    private static SnapshotHead ReadHead(SqliteDataReader reader) => new(
        new FleetId(reader.GetString(0), reader.GetString(1)), reader.GetInt64(2), reader.GetString(3),
        DateTimeOffset.Parse(reader.GetString(4), System.Globalization.CultureInfo.InvariantCulture), new MeshStamp(reader.GetString(5), reader.GetInt64(6)));
}
