using System.Collections.Concurrent;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Serving;

/// <summary>
/// The latest snapshot read or committed per fleet, and when its head was last confirmed. A poll reads only the
/// fleet's head (small); the snapshot behind it is read once per version and kept, since a version's content never
/// changes. A caller that may answer from a head confirmed a moment ago (<see cref="GetRecentAsync"/>) reads nothing.
/// </summary>
public sealed class SnapshotCache(ISnapshotStore store, TimeProvider clock)
{
    private readonly ConcurrentDictionary<FleetId, Latest> _latest = new();

    /// <param name="ConfirmedAt">When the head was read or committed as this version; null for a version read by name.</param>
    private sealed record Latest(FleetSnapshot Snapshot, long? ConfirmedAt);

    public async Task<FleetSnapshot?> GetCurrentAsync(FleetId fleet, CancellationToken cancellationToken)
    {
        var confirmedAt = clock.GetTimestamp();
        if (await store.GetHeadAsync(fleet, cancellationToken) is not { } head) return null;
        var snapshot = await GetAsync(fleet, head.Version, cancellationToken);
        _latest[fleet] = new Latest(snapshot, confirmedAt);
        return snapshot;
    }

    /// <summary>
    /// The fleet's snapshot as its head was at most <paramref name="maxAge"/> ago (this process's own commits are
    /// known at once); older than that, read again.
    /// </summary>
    public ValueTask<FleetSnapshot?> GetRecentAsync(FleetId fleet, TimeSpan maxAge, CancellationToken cancellationToken) =>
        _latest.TryGetValue(fleet, out var latest) && latest.ConfirmedAt is { } confirmedAt && clock.GetElapsedTime(confirmedAt) < maxAge
            ? ValueTask.FromResult<FleetSnapshot?>(latest.Snapshot)
            : new ValueTask<FleetSnapshot?>(GetCurrentAsync(fleet, cancellationToken));

    public async Task<FleetSnapshot> GetAsync(FleetId fleet, string version, CancellationToken cancellationToken)
    {
        if (_latest.TryGetValue(fleet, out var cached) && cached.Snapshot.Version == version) return cached.Snapshot;
        var snapshot = await store.GetAsync(fleet, version, cancellationToken)
            ?? throw new InvalidDataException($"fleet {fleet} refers to snapshot {version}, which the store does not hold");
        _latest[fleet] = new Latest(snapshot, null);
        return snapshot;
    }

    /// <summary>A version of the fleet, from the cache when it is the latest, else from the store; null when the store no longer holds it.</summary>
    public async Task<FleetSnapshot?> FindAsync(FleetId fleet, string version, CancellationToken cancellationToken) =>
        _latest.TryGetValue(fleet, out var cached) && cached.Snapshot.Version == version ? cached.Snapshot : await store.GetAsync(fleet, version, cancellationToken);

    /// <summary>Raised for every snapshot this process commits, so streams in this process push it at once.</summary>
    public event Action<FleetSnapshot>? Committed;

    /// <summary>Keeps a snapshot this process just committed, so serving it reads nothing back.</summary>
    public void Remember(FleetSnapshot snapshot)
    {
        _latest[snapshot.Fleet] = new Latest(snapshot, clock.GetTimestamp());
        Committed?.Invoke(snapshot);
    }
}
