using System.Collections.Concurrent;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Serving;

/// <summary>
/// The latest snapshot read or committed per fleet. A poll reads only the fleet's head (small); the snapshot
/// behind it is read once per version and kept, since a version's content never changes.
/// </summary>
public sealed class SnapshotCache(ISnapshotStore store)
{
    private readonly ConcurrentDictionary<FleetId, FleetSnapshot> _latest = new();

    public async Task<FleetSnapshot?> GetCurrentAsync(FleetId fleet, CancellationToken cancellationToken) =>
        await store.GetHeadAsync(fleet, cancellationToken) is { } head ? await GetAsync(fleet, head.Version, cancellationToken) : null;

    public async Task<FleetSnapshot> GetAsync(FleetId fleet, string version, CancellationToken cancellationToken)
    {
        if (_latest.TryGetValue(fleet, out var cached) && cached.Version == version) return cached;
        var snapshot = await store.GetAsync(fleet, version, cancellationToken)
            ?? throw new InvalidDataException($"fleet {fleet} refers to snapshot {version}, which the store does not hold");
        _latest[fleet] = snapshot;
        return snapshot;
    }

    /// <summary>A version of the fleet, from the cache when it is the latest, else from the store; null when the store no longer holds it.</summary>
    public async Task<FleetSnapshot?> FindAsync(FleetId fleet, string version, CancellationToken cancellationToken) =>
        _latest.TryGetValue(fleet, out var cached) && cached.Version == version ? cached : await store.GetAsync(fleet, version, cancellationToken);

    /// <summary>Raised for every snapshot this process commits, so streams in this process push it at once.</summary>
    public event Action<FleetSnapshot>? Committed;

    /// <summary>Keeps a snapshot this process just committed, so serving it reads nothing back.</summary>
    public void Remember(FleetSnapshot snapshot)
    {
        _latest[snapshot.Fleet] = snapshot;
        Committed?.Invoke(snapshot);
    }
}
