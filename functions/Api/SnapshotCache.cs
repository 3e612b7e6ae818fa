using System.Collections.Concurrent;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Snapshots;

namespace Mesh.Api;

/// <summary>
/// Each poll reads the fleet's head (small); the snapshot behind it is read once per version and kept,
/// since a version's content never changes.
/// </summary>
public sealed class SnapshotCache(ISnapshotStore store)
{
    private readonly ConcurrentDictionary<FleetId, FleetSnapshot> _current = new();

    public async Task<FleetSnapshot?> GetCurrentAsync(FleetId fleet, CancellationToken cancellationToken)
    {
        var head = await store.GetHeadAsync(fleet, cancellationToken);
        if (head is null) return null;
        if (_current.TryGetValue(fleet, out var cached) && cached.Version == head.Version) return cached;
        var snapshot = await store.GetAsync(fleet, head.Version, cancellationToken)
            ?? throw new InvalidDataException($"fleet {fleet} heads to snapshot {head.Version}, which the store does not hold");
        _current[fleet] = snapshot;
        return snapshot;
    }
}
