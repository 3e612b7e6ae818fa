using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Publishing;
using Mesh.Core.Serving;
using Mesh.Core.Telemetry;

namespace Mesh.Core.Pipeline;

/// <summary>What the registry must be brought in line with after a commit: the workloads whose endpoints moved, and services an edit changed.</summary>
public sealed record RegistryWork(IReadOnlyList<WorkloadKey> Workloads, IReadOnlyList<(FleetId Service, ServiceDefinition? Definition)> Services)
{
    public static RegistryWork None { get; } = new([], []);
}

/// <summary>A step after a commit that failed, and why; the commit itself stands.</summary>
public sealed record StepFailure(string Step, string Subject, string Reason);

/// <summary>What the steps after a commit did: registry changes made, and what failed (the announcement, a workload's or a service's sync).</summary>
public sealed record AfterCommitReport(IReadOnlyList<RegistrySyncResult> Registered, IReadOnlyList<StepFailure> Failures)
{
    public static AfterCommitReport Nothing { get; } = new([], []);

    public IEnumerable<WorkloadKey> FailedWorkloads(IEnumerable<WorkloadKey> of) =>
        of.Where(w => Failures.Any(f => f.Step == AfterCommit.RegistryStep && f.Subject == w.Value));
}

/// <summary>
/// The one step after every commit, whatever made it (an event, an edit, the reconciler): remember the new snapshots
/// for serving, announce the heads that moved ("Mesh Config Published"), and bring the service registry in line.
/// One failure policy: these steps never undo or fail the commit, which is stored and served; each failure is
/// reported, so the caller can have it redone (an SQS record is failed and redelivered; the reconciler re-runs).
/// </summary>
public sealed class AfterCommit(SnapshotCache snapshots, TimeProvider clock, IConfigEventSink? announcements = null, RegistrySync? registry = null)
{
    public const string AnnounceStep = "announce";
    public const string RegistryStep = "registry";

    public async Task<AfterCommitReport> RunAsync(IReadOnlyList<PublishOutcome> outcomes, string cause, RegistryWork work, CancellationToken cancellationToken)
    {
        using var span = PipelineTracing.Start(PipelineTracing.AfterCommit);
        var failures = new List<StepFailure>();
        foreach (var outcome in outcomes)
        {
            if (outcome.Snapshot is { } committed) snapshots.Remember(committed);
        }
        if (announcements is not null)
        {
            using var announce = PipelineTracing.Start(PipelineTracing.Announce);
            try
            {
                var events = new List<ConfigPublished>();
                foreach (var outcome in outcomes.Where(o => o.Status == PublishStatus.Published))
                {
                    var previous = outcome.PreviousVersion is { } version ? await snapshots.FindAsync(outcome.Fleet, version, cancellationToken) : null;
                    if (ConfigEvents.Of(outcome, previous, cause, clock.GetUtcNow()) is { } published) events.Add(published);
                }
                if (events.Count > 0) await announcements.PublishAsync(events, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                failures.Add(new StepFailure(AnnounceStep, string.Join(", ", outcomes.Where(o => o.Status == PublishStatus.Published).Select(o => o.Fleet)), e.Message));
            }
        }
        var registered = new List<RegistrySyncResult>();
        if (registry is not null)
        {
            using var register = PipelineTracing.Start(PipelineTracing.Register);
            foreach (var workload in work.Workloads.Distinct())
                await TryAsync(workload.Value, () => registry.SyncWorkloadAsync(workload, cancellationToken), registered, failures);
            foreach (var (service, definition) in work.Services)
                await TryAsync(service.ToString(), async () => [await registry.SyncServiceAsync(service, definition, cancellationToken)], registered, failures);
        }
        return new AfterCommitReport(registered, failures);
    }

    private static async Task TryAsync(string subject, Func<Task<IReadOnlyList<RegistrySyncResult>>> sync, List<RegistrySyncResult> registered, List<StepFailure> failures)
    {
        try
        {
            registered.AddRange(await sync());
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            failures.Add(new StepFailure(RegistryStep, subject, e.Message));
        }
    }
}
