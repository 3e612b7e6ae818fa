using Mesh.Core.Endpoints;
using Mesh.Core.Model;

namespace Mesh.Core.Ports;

/// <summary>
/// The endpoint ledger: one entry per task or slice, written only under a revision guard. A source belongs to
/// one workload for its whole life (a task's service, a slice's Service), so entries are found by both.
/// </summary>
public interface IEndpointStore
{
    Task<LedgerEntry?> GetAsync(WorkloadKey workload, string sourceId, CancellationToken cancellationToken);

    /// <summary>
    /// Stores <paramref name="observation"/> if the stored revision still equals <paramref name="expectedRevision"/>
    /// (null: no entry yet). Returns false, changing nothing, when another writer got there first.
    /// </summary>
    Task<bool> TryWriteAsync(SourceObservation observation, long? expectedRevision, CancellationToken cancellationToken);

    /// <summary>The live (non-terminal) observations of a workload, read consistently: the union of its tasks or slices.</summary>
    Task<IReadOnlyList<SourceObservation>> ListLiveAsync(WorkloadKey workload, CancellationToken cancellationToken);
}
