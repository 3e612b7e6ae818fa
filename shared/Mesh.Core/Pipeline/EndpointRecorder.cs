using Mesh.Core.Endpoints;
using Mesh.Core.Model;
using Mesh.Core.Ports;

namespace Mesh.Core.Pipeline;

/// <summary>What recording one observation decided, and which workloads' fleets must be recompiled for it.</summary>
public sealed record RecordOutcome(SourceObservation Observation, LedgerVerdict Verdict, IReadOnlyList<WorkloadKey> AffectedWorkloads);

/// <summary>
/// Applies observations to the endpoint ledger under its revision guard: read, decide, write if unchanged, else again.
/// A duplicate still asks for a recompile: its first delivery may have stored the change and then failed to publish.
/// </summary>
public sealed class EndpointRecorder(IEndpointStore store, TimeProvider clock)
{
    private const int MaxAttempts = 8;

    public async Task<RecordOutcome> RecordAsync(SourceObservation observation, CancellationToken cancellationToken)
    {
        for (var attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            var stored = await store.GetAsync(observation.Workload, observation.SourceId, cancellationToken);
            var verdict = EndpointLedger.Decide(stored, observation);
            if (verdict == LedgerVerdict.Applied && !await store.TryWriteAsync(observation, stored?.Revision, cancellationToken))
            {
                await Backoff.DelayAsync(attempt, clock, cancellationToken);
                continue;
            }
            return new RecordOutcome(observation, verdict, verdict is LedgerVerdict.Applied or LedgerVerdict.Duplicate ? [observation.Workload] : []);
        }
        throw new ConcurrencyConflictException($"{observation.SourceId}: the ledger entry kept changing for {MaxAttempts} attempts");
    }
}
