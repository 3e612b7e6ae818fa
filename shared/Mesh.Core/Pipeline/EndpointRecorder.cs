using Mesh.Core.Endpoints;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Resilience;
using Mesh.Core.Telemetry;

namespace Mesh.Core.Pipeline;

/// <summary>What recording one observation decided, and which workloads' fleets must be recompiled for it.</summary>
public sealed record RecordOutcome(SourceObservation Observation, LedgerVerdict Verdict, IReadOnlyList<WorkloadKey> AffectedWorkloads);

/// <summary>
/// Applies observations to the endpoint ledger under its revision guard: read, decide, write if unchanged, else again.
/// A duplicate still asks for a recompile: its first delivery may have stored the change and then failed to publish.
/// An observation that breaks the ledger's rules for endpoint data is refused before anything is written. A source
/// that moved to another workload (a relabelled slice) empties its entries under the others, as Kubernetes moves
/// the slice's endpoints from the old Service to the new one; an older event of the old Service is then stale.
/// </summary>
public sealed class EndpointRecorder(IEndpointStore store, GuardedRetry retry)
{
    public async Task<RecordOutcome> RecordAsync(SourceObservation observation, CancellationToken cancellationToken)
    {
        using var span = PipelineTracing.Start(PipelineTracing.Record);
        span?.SetTag("mesh.source", observation.SourceId);
        span?.SetTag("mesh.version", observation.Version);
        if (ObservationRules.Problem(observation) is { } problem) throw new InvalidObservationException(problem);
        var outcome = await RecordOneAsync(observation, cancellationToken);
        if (!observation.CanMove || outcome.AffectedWorkloads.Count == 0) return outcome;
        var emptied = new List<WorkloadKey>();
        foreach (var other in await store.ListBySourceAsync(observation.SourceId, cancellationToken))
        {
            if (other.Observation.Workload == observation.Workload) continue;
            var movedAway = observation with { Workload = other.Observation.Workload, Endpoints = [], Status = $"moved to {observation.Workload}" };
            emptied.AddRange((await RecordOneAsync(movedAway, cancellationToken)).AffectedWorkloads);
        }
        return emptied.Count == 0 ? outcome : outcome with { AffectedWorkloads = [.. outcome.AffectedWorkloads, .. emptied] };
    }

    private Task<RecordOutcome> RecordOneAsync(SourceObservation observation, CancellationToken cancellationToken) =>
        retry.RunAsync($"ledger entry {observation.SourceId}", async _ =>
        {
            var stored = await store.GetAsync(observation.Workload, observation.SourceId, cancellationToken);
            var verdict = EndpointLedger.Decide(stored, observation);
            if (verdict == LedgerVerdict.Applied && !await store.TryWriteAsync(observation, stored?.Revision, cancellationToken)) return null;
            return new RecordOutcome(observation, verdict, verdict is LedgerVerdict.Applied or LedgerVerdict.Duplicate ? [observation.Workload] : []);
        }, cancellationToken);
}
