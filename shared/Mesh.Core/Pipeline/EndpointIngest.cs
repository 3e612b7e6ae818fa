using Mesh.Core.Endpoints;
using Mesh.Core.Model;
using Mesh.Core.Publishing;
using Mesh.Core.Telemetry;

namespace Mesh.Core.Pipeline;

/// <summary>One observation to record, and the message it came in (which is what fails, and is redelivered, if anything does).</summary>
public sealed record IngestItem(string MessageId, SourceObservation Observation);

/// <summary>What recording one item decided; <see cref="Failure"/> is set when it could not be recorded.</summary>
public sealed record IngestItemResult(IngestItem Item, LedgerVerdict? Verdict, string? Failure);

/// <summary>What a batch did: each item's verdict, each affected fleet's publish, the steps after it, and the messages that failed.</summary>
public sealed record IngestReport(IReadOnlyList<IngestItemResult> Items, IReadOnlyList<PublishOutcome> Published, IReadOnlyList<StepFailure> PublishFailures,
    AfterCommitReport After, IReadOnlyList<string> FailedMessages);

/// <summary>
/// The ingest use case: record each observation under the ledger's guard, recompile every fleet the recorded ones
/// affect once (and once with other batches that arrive close by, through the coalescer), then the steps after the commit. A message fails alone: its own ledger write, the publish of its own
/// fleets, or its workload's registration. A failed message is redelivered, and its duplicate redoes the publish and
/// the registration, since a duplicate still asks for both.
/// </summary>
public sealed class EndpointIngest(EndpointRecorder recorder, FleetPublisher publisher, PublishCoalescer coalescer, AfterCommit afterCommit)
{
    public async Task<IngestReport> IngestAsync(IReadOnlyList<IngestItem> items, CancellationToken cancellationToken)
    {
        using var span = PipelineTracing.Start(PipelineTracing.Ingest);
        span?.SetTag("mesh.events", items.Count);
        var results = new List<IngestItemResult>();
        foreach (var item in items)
        {
            try
            {
                var outcome = await recorder.RecordAsync(item.Observation, cancellationToken);
                results.Add(new IngestItemResult(item, outcome.Verdict, null));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                results.Add(new IngestItemResult(item, null, e.Message));
            }
        }
        var failed = results.Where(r => r.Failure is not null).Select(r => r.Item.MessageId).ToHashSet(StringComparer.Ordinal);
        var recorded = results.Where(r => r.Verdict is LedgerVerdict.Applied or LedgerVerdict.Duplicate).Select(r => r.Item).ToList();
        if (recorded.Count == 0) return new IngestReport(results, [], [], AfterCommitReport.Nothing, [.. failed]);

        var (published, publishFailures) = await PublishAsync(recorded, failed, cancellationToken);
        var workloads = recorded.Where(i => !failed.Contains(i.MessageId)).Select(i => i.Observation.Workload).Distinct().ToList();
        var after = await afterCommit.RunAsync(published, $"endpoints of {string.Join(", ", workloads)}", new RegistryWork(workloads, []), cancellationToken);
        var unregistered = after.FailedWorkloads(workloads).ToHashSet();
        failed.UnionWith(recorded.Where(i => unregistered.Contains(i.Observation.Workload)).Select(i => i.MessageId));
        return new IngestReport(results, published, publishFailures, after, [.. failed]);
    }

    /// <summary>
    /// Publishes the fleets of every recorded item at once; if that fails, each item's fleets on their own, so that
    /// only the items whose fleets cannot be published fail (and are redelivered).
    /// </summary>
    private async Task<(IReadOnlyList<PublishOutcome>, IReadOnlyList<StepFailure>)> PublishAsync(List<IngestItem> recorded, HashSet<string> failed,
        CancellationToken cancellationToken)
    {
        try
        {
            var fleets = await publisher.FleetsCallingAsync([.. recorded.Select(i => i.Observation.Workload)], cancellationToken);
            return (await coalescer.PublishAsync(fleets, cancellationToken), []);
        }
        catch (Exception e) when (e is not OperationCanceledException && recorded.Count > 1)
        {
            var outcomes = new List<PublishOutcome>();
            var failures = new List<StepFailure> { new("publish", "batch", e.Message) };
            foreach (var item in recorded)
            {
                try
                {
                    var fleets = await publisher.FleetsCallingAsync([item.Observation.Workload], cancellationToken);
                    outcomes.AddRange(await publisher.PublishAsync(fleets, cancellationToken));
                }
                catch (Exception itemError) when (itemError is not OperationCanceledException)
                {
                    failed.Add(item.MessageId);
                    failures.Add(new StepFailure("publish", item.MessageId, itemError.Message));
                }
            }
            // A fleet published for two items: its last outcome is its head.
            return ([.. outcomes.GroupBy(o => o.Fleet).Select(g => g.Last())], failures);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            failed.Add(recorded[0].MessageId);
            return ([], [new StepFailure("publish", recorded[0].MessageId, e.Message)]);
        }
    }
}
