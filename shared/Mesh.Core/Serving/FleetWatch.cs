using System.Collections.Concurrent;
using Mesh.Core.Model;
using Mesh.Core.Ports;

namespace Mesh.Core.Serving;

/// <summary>
/// The current snapshot of every fleet a stream watches, and a signal when it moves, so that thousands of streams of
/// one fleet cost one read per move. A move is learnt in-process the moment this process commits (through
/// <see cref="SnapshotCache.Committed"/>), and from the store by <see cref="RefreshAsync"/>, which a head poll
/// calls where other processes commit.
/// </summary>
public sealed class FleetWatch
{
    private readonly SnapshotCache _snapshots;
    private readonly ConcurrentDictionary<FleetId, Entry> _fleets = new();

    public FleetWatch(SnapshotCache snapshots)
    {
        _snapshots = snapshots;
        snapshots.Committed += Publish;
    }

    /// <summary>The fleets some stream has watched.</summary>
    public IEnumerable<FleetId> Watched => _fleets.Keys;

    /// <summary>The fleet's snapshot now, and a task that completes when it moves on from it. Null when it has none yet.</summary>
    public async Task<(FleetSnapshot? Snapshot, Task Moved)> CurrentAsync(FleetId fleet, CancellationToken cancellationToken)
    {
        var entry = _fleets.GetOrAdd(fleet, _ => new Entry());
        // Taken before reading, so a move between the read and the wait is not missed.
        var moved = entry.Moved.Task;
        if (entry.Snapshot is { } known) return (known, moved);
        var current = await _snapshots.GetCurrentAsync(fleet, cancellationToken);
        if (current is not null) Publish(current);
        return (entry.Snapshot ?? current, moved);
    }

    /// <summary>Reads the fleet's head and, if it moved, its snapshot; true when it moved.</summary>
    public async Task<bool> RefreshAsync(FleetId fleet, string headVersion, CancellationToken cancellationToken)
    {
        if (_fleets.TryGetValue(fleet, out var entry) && entry.Snapshot?.Version == headVersion) return false;
        Publish(await _snapshots.GetAsync(fleet, headVersion, cancellationToken));
        return true;
    }

    public void Publish(FleetSnapshot snapshot)
    {
        var entry = _fleets.GetOrAdd(snapshot.Fleet, _ => new Entry());
        TaskCompletionSource moved;
        lock (entry)
        {
            if (entry.Snapshot?.Version == snapshot.Version) return;
            entry.Snapshot = snapshot;
            moved = entry.Moved;
            entry.Moved = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        moved.TrySetResult();
    }

    private sealed class Entry
    {
        public volatile FleetSnapshot? Snapshot;
        public TaskCompletionSource Moved = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
