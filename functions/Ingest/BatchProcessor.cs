using Mesh.Contracts.Events;
using Mesh.Contracts.Sqs;
using Mesh.Core.Pipeline;
using Mesh.Core.Publishing;
using Mesh.Hosting;
using Mesh.Hosting.Metrics;

namespace Mesh.Ingest;

/// <summary>
/// One SQS batch: map each message to an observation (a message that does not map fails alone, with its reason
/// logged), hand the observations to the core's ingest use case, log each decision, and report the messages that
/// failed as batch item failures, which SQS delivers again.
/// </summary>
public sealed class BatchProcessor(EventMapper mapper, EndpointIngest ingest, TimeProvider clock, ILogger<BatchProcessor> log)
{
    /// <summary>An older event is a redrive from the dead-letter queue or a replay: its age is not the pipeline's latency.</summary>
    public static readonly TimeSpan MaxLatencyAge = TimeSpan.FromMinutes(15);

    public async Task<SqsBatchResponse> ProcessAsync(SqsEvent batch, InvocationMetrics metrics, CancellationToken cancellationToken)
    {
        var failed = new List<string>();
        var items = new List<IngestItem>();
        var times = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var refused = 0;
        foreach (var message in batch.Records ?? [])
        {
            if (string.IsNullOrEmpty(message?.MessageId))
            {
                log.LogError("record without a messageId cannot be reported as failed; skipped");
                continue;
            }
            var messageId = LogText.Safe(message.MessageId);
            switch (mapper.Map(message.Body))
            {
                case MalformedEvent malformed:
                    log.LogWarning("event {MessageId} refused {EventId} {DetailType}: {Reason}",
                        messageId, LogText.Safe(malformed.Context?.EventId), LogText.Safe(malformed.Context?.DetailType), LogText.Safe(malformed.Reason));
                    failed.Add(message.MessageId);
                    refused++;
                    break;
                case AcknowledgedEvent acknowledged:
                    log.LogInformation("event {MessageId} acknowledged {DetailType} {Resource}: {Reason}",
                        messageId, LogText.Safe(acknowledged.Context.DetailType), LogText.Safe(acknowledged.Context.Resource), LogText.Safe(acknowledged.Reason));
                    break;
                case EndpointEvent endpointEvent:
                    items.Add(new IngestItem(message.MessageId, endpointEvent.Observation));
                    if (endpointEvent.Context.Time is { } time) times[message.MessageId] = time;
                    break;
            }
        }
        var report = items.Count > 0 ? Log(await ingest.IngestAsync(items, cancellationToken)) : null;
        if (report is not null) failed.AddRange(report.FailedMessages);
        PipelineMetrics.Ingested(metrics, report, refused);
        // Applied events whose fleets were all published: their time to committed snapshots.
        var now = clock.GetUtcNow();
        foreach (var applied in report?.Items.Where(i => i.Verdict == Core.Endpoints.LedgerVerdict.Applied && !report.FailedMessages.Contains(i.Item.MessageId)) ?? [])
        {
            if (times.TryGetValue(applied.Item.MessageId, out var time) && now - time <= MaxLatencyAge) PipelineMetrics.Latency(metrics, now - time);
        }
        return new SqsBatchResponse([.. failed.Distinct(StringComparer.Ordinal).Select(id => new BatchItemFailure(id))]);
    }

    private IngestReport Log(IngestReport report)
    {
        foreach (var result in report.Items)
        {
            var (item, observation) = (result.Item, result.Item.Observation);
            if (result.Failure is { } reason)
                log.LogError("event {MessageId} failed {SourceId} version {DetailVersion}: {Reason}", LogText.Safe(item.MessageId), observation.SourceId, observation.Version, LogText.Safe(reason));
            else
                log.LogInformation("event {MessageId} {Decision} {SourceId} version {DetailVersion} {Status} ({Workload}, {EndpointCount} endpoints)",
                    LogText.Safe(item.MessageId), result.Verdict, observation.SourceId, observation.Version, observation.Status, observation.Workload, observation.Endpoints.Length);
        }
        foreach (var failure in report.PublishFailures)
            log.LogError("publish of {Subject} failed: {Reason}", LogText.Safe(failure.Subject), LogText.Safe(failure.Reason));
        foreach (var outcome in report.Published) LogOutcome(log, outcome);
        foreach (var result in report.After.Registered.Where(r => r.Registered + r.Deregistered > 0))
            log.LogInformation("registry {RegistryService}: {Registered} registered, {Deregistered} deregistered", result.Service, result.Registered, result.Deregistered);
        foreach (var failure in report.After.Failures)
            log.LogError("after commit: {Step} of {Subject} failed: {Reason}", failure.Step, LogText.Safe(failure.Subject), LogText.Safe(failure.Reason));
        return report;
    }

    public static void LogOutcome(ILogger log, PublishOutcome outcome)
    {
        switch (outcome.Status)
        {
            case PublishStatus.Published:
                log.LogInformation("fleet {Fleet} published {SnapshotVersion} (was {PreviousVersion}), {SnapshotBytes} bytes",
                    outcome.Fleet, outcome.Version, outcome.PreviousVersion ?? "none", outcome.SnapshotBytes);
                break;
            case PublishStatus.Unchanged:
                log.LogInformation("fleet {Fleet} unchanged {SnapshotVersion}", outcome.Fleet, outcome.Version);
                break;
            case PublishStatus.Refused:
                log.LogError("fleet {Fleet} refused, keeps {SnapshotVersion}: {Reasons}", outcome.Fleet, outcome.PreviousVersion ?? "none", string.Join("; ", outcome.Messages));
                break;
            default:
                log.LogInformation("fleet {Fleet} is no longer defined", outcome.Fleet);
                break;
        }
        foreach (var warning in outcome.Messages.Where(_ => outcome.Status != PublishStatus.Refused))
            log.LogWarning("fleet {Fleet}: {Warning}", outcome.Fleet, warning);
    }
}
