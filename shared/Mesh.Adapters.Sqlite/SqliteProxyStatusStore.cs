using Mesh.Core.Model;
using Mesh.Core.Ports;
using Microsoft.Data.Sqlite;

namespace Mesh.Adapters.Sqlite;

/// <summary>Each proxy subscription's last poll; polls older than the poll lifetime are deleted as new ones arrive.</summary>
public sealed class SqliteProxyStatusStore(SqliteDatabase database) : IProxyStatusStore
{
    /// <summary>Expiry sweeps a fleet's records; once a minute per fleet is enough (they live a day), and keeps a write O(1).</summary>
    private static readonly TimeSpan SweepInterval = TimeSpan.FromMinutes(1);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<FleetId, DateTimeOffset> _swept = new();

    public async Task<ProxyPoll?> GetPollAsync(SubscriptionKey key, CancellationToken cancellationToken)
    {
        await using var connection = database.Connect();
        await using var command = SqliteDatabase.Command(connection,
            "SELECT reported, served, rejected, at, rejection_reason FROM proxy_polls WHERE fleet = $fleet AND node = $node AND type = $type AND names = $names",
            ("$fleet", key.Fleet.ToString()), ("$node", key.NodeId), ("$type", key.Type.PathName()), ("$names", key.Names));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadPoll(key, reader) : null;
    }

    public async Task RecordPollAsync(ProxyPoll poll, CancellationToken cancellationToken)
    {
        await using var connection = database.Connect();
        await using var command = SqliteDatabase.Command(connection, """
            INSERT INTO proxy_polls (fleet, node, type, names, reported, served, rejected, at, rejection_reason)
            VALUES ($fleet, $node, $type, $names, $reported, $served, $rejected, $at, $reason)
            ON CONFLICT (fleet, node, type, names) DO UPDATE SET
                reported = excluded.reported, served = excluded.served, rejected = excluded.rejected, at = excluded.at,
                rejection_reason = excluded.rejection_reason
            """,
            ("$fleet", poll.Key.Fleet.ToString()), ("$node", poll.Key.NodeId), ("$type", poll.Key.Type.PathName()), ("$names", poll.Key.Names),
            ("$reported", poll.Reported), ("$served", poll.Served), ("$rejected", poll.Rejected), ("$at", poll.At.ToString("O")), ("$reason", poll.RejectionReason));
        await command.ExecuteNonQueryAsync(cancellationToken);
        if (_swept.TryGetValue(poll.Key.Fleet, out var swept) && poll.At - swept < SweepInterval) return;
        _swept[poll.Key.Fleet] = poll.At;
        // Polls expire as DynamoDB's do (its TTL), so nodes that stopped polling do not pile up.
        await using var expire = SqliteDatabase.Command(connection, "DELETE FROM proxy_polls WHERE fleet = $fleet AND at < $cutoff",
            ("$fleet", poll.Key.Fleet.ToString()), ("$cutoff", (poll.At - IProxyStatusStore.PollLifetime).ToString("O")));
        await expire.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task ForgetPollAsync(SubscriptionKey key, CancellationToken cancellationToken)
    {
        await using var connection = database.Connect();
        await using var command = SqliteDatabase.Command(connection,
            "DELETE FROM proxy_polls WHERE fleet = $fleet AND node = $node AND type = $type AND names = $names",
            ("$fleet", key.Fleet.ToString()), ("$node", key.NodeId), ("$type", key.Type.PathName()), ("$names", key.Names));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<ProxyPoll>> ListPollsAsync(FleetId fleet, DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var connection = database.Connect();
        await using var command = SqliteDatabase.Command(connection,
            "SELECT reported, served, rejected, at, rejection_reason, node, type, names FROM proxy_polls WHERE fleet = $fleet ORDER BY node, type, names", ("$fleet", fleet.ToString()));
        var polls = new List<ProxyPoll>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (!XdsTypes.TryParsePathName(reader.GetString(6), out var type)) continue;
            var poll = ReadPoll(new SubscriptionKey(fleet, reader.GetString(5), type, reader.GetString(7)), reader);
            if (poll.At >= since) polls.Add(poll);
        }
        return polls;
    }

    private static ProxyPoll ReadPoll(SubscriptionKey key, SqliteDataReader reader) => new(
        key, reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
        DateTimeOffset.Parse(reader.GetString(3), System.Globalization.CultureInfo.InvariantCulture))
    {
        RejectionReason = reader.IsDBNull(4) ? null : reader.GetString(4),
    };
}
