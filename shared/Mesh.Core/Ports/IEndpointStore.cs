using Mesh.Core.Model;

namespace Mesh.Core.Ports;

/// <summary>
/// The endpoint ledger: one entry per task or slice and workload, written only under a revision guard. Entries are
/// found by workload and source; a slice that moves to another Service has an entry under each.
/// </summary>
public interface IEndpointStore
{
    Task<LedgerEntry?> GetAsync(WorkloadKey workload, string sourceId, CancellationToken cancellationToken);

    /// <summary>
    /// Every entry of one source, under any workload: an EndpointSlice whose service label changed is recorded under its
    /// new service, and its entry under the old one must be emptied.
    /// </summary>
    Task<IReadOnlyList<LedgerEntry>> ListBySourceAsync(string sourceId, CancellationToken cancellationToken);

    /// <summary>
    /// Stores <paramref name="observation"/> if the stored revision still equals <paramref name="expectedRevision"/>
    /// (null: no entry yet). Returns false, changing nothing, when another writer got there first.
    /// </summary>
    Task<bool> TryWriteAsync(SourceObservation observation, long? expectedRevision, CancellationToken cancellationToken);

    /// <summary>
    /// The live (non-terminal) observations of each workload, read consistently: the union of its tasks or slices.
    /// Every workload asked for is in the result, with no observations if it has none. One call for many
    /// workloads, since a publish reads the backends of every fleet it compiles.
    /// </summary>
    Task<IReadOnlyDictionary<WorkloadKey, IReadOnlyList<SourceObservation>>> ListLiveAsync(IReadOnlyCollection<WorkloadKey> workloads, CancellationToken cancellationToken);
}

public static class EndpointStoreExtensions
{
    public static async Task<IReadOnlyList<SourceObservation>> ListLiveAsync(this IEndpointStore store, WorkloadKey workload, CancellationToken cancellationToken) =>
        (await store.ListLiveAsync([workload], cancellationToken))[workload];
}
