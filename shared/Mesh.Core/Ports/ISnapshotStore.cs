using Mesh.Core.Model;

namespace Mesh.Core.Ports;

/// <summary>
/// The head of a fleet: which snapshot it serves, and a sequence number that moves on every commit,
/// even one that leaves the content unchanged, so that a compile from stale inputs can never win; and the desired
/// state it was compiled from, so that a head left behind by a crash can be found and republished.
/// </summary>
public sealed record SnapshotHead(FleetId Fleet, long Sequence, string Version, DateTimeOffset CommittedAt, MeshStamp CompiledFrom);

/// <summary>Compiled snapshots, content-addressed, and each fleet's head.</summary>
public interface ISnapshotStore
{
    Task<SnapshotHead?> GetHeadAsync(FleetId fleet, CancellationToken cancellationToken);

    Task<IReadOnlyList<SnapshotHead>> ListHeadsAsync(string mesh, CancellationToken cancellationToken);

    Task<FleetSnapshot?> GetAsync(FleetId fleet, string version, CancellationToken cancellationToken);

    /// <summary>
    /// Stores <paramref name="snapshot"/> and moves the fleet's head to it, if the head's sequence still equals
    /// <paramref name="expectedSequence"/> (0: no head yet), recording <paramref name="compiledFrom"/>. Returns false,
    /// changing no head, otherwise.
    /// </summary>
    Task<bool> TryCommitAsync(FleetSnapshot snapshot, long expectedSequence, MeshStamp compiledFrom, DateTimeOffset committedAt, CancellationToken cancellationToken);
}
