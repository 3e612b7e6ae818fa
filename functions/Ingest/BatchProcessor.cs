using Mesh.Contracts.Events;
using Mesh.Contracts.Sqs;
using Mesh.Core.Model;
using Mesh.Core.Pipeline;

namespace Mesh.Ingest;

/// <summary>
/// One SQS batch: map each message, record its endpoints, recompile every affected fleet once, then bring the service
/// registry in line with each affected workload. A message fails alone: unreadable, or its ledger write, the publish of
/// its fleets or its workload's registration failed; SQS delivers it again, and its duplicate redoes what failed.
/// A "Mesh Config Published" event that cannot be sent is logged, not retried: the snapshot it announces is committed
/// and served, and a redelivery would publish nothing new to announce.
/// </summary>
public sealed class BatchProcessor(EventMapper mapper, EndpointRecorder recorder, FleetPublisher publisher, ILogger<BatchProcessor> log,
    RegistrySync? registry = null, ConfigEventNotifier? configEvents = null)
{
    public async Task<SqsBatchResponse> ProcessAsync(SqsEvent batch, CancellationToken cancellationToken)
    {
        var failed = new List<string>();
        var affectedBy = new Dictionary<string, IReadOnlyList<WorkloadKey>>(StringComparer.Ordinal);
        foreach (var message in batch.Records ?? [])
        {
            var messageId = message.MessageId;
            if (string.IsNullOrEmpty(messageId))
            {
                log.LogError("message without messageId cannot be reported as failed; skipped");
                continue;
            }
            var workloads = await RecordAsync(message, cancellationToken);
            if (workloads is null) failed.Add(messageId);
            else if (workloads.Count > 0) affectedBy[messageId] = workloads;
        }
        if (affectedBy.Count > 0 && !await PublishAsync(affectedBy.Values.SelectMany(w => w), cancellationToken))
            failed.AddRange(affectedBy.Keys);
        else if (registry is not null)
        {
            var unregistered = await RegisterAsync(registry, affectedBy.Values.SelectMany(w => w).Distinct(), cancellationToken);
            failed.AddRange(affectedBy.Where(m => m.Value.Any(unregistered.Contains)).Select(m => m.Key));
        }
        return new SqsBatchResponse([.. failed.Distinct().Select(id => new BatchItemFailure(id))]);
    }

    /// <summary>The workloads whose fleets must be recompiled, or null when the message failed.</summary>
    private async Task<IReadOnlyList<WorkloadKey>?> RecordAsync(SqsMessage message, CancellationToken cancellationToken)
    {
        switch (mapper.Map(message.Body))
        {
            case MalformedEvent malformed:
                log.LogWarning("event {MessageId} refused {EventId} {DetailType}: {Reason}",
                    message.MessageId, malformed.Context?.EventId, malformed.Context?.DetailType, malformed.Reason);
                return null;
            case AcknowledgedEvent acknowledged:
                log.LogInformation("event {MessageId} acknowledged {DetailType} {Resource}: {Reason}",
                    message.MessageId, acknowledged.Context.DetailType, acknowledged.Context.Resource, acknowledged.Reason);
                return [];
            case EndpointEvent endpointEvent:
                var observation = endpointEvent.Observation;
                try
                {
                    var outcome = await recorder.RecordAsync(observation, cancellationToken);
                    log.LogInformation("event {MessageId} {Decision} {SourceId} version {DetailVersion} {Status} ({Workload}, {EndpointCount} endpoints)",
                        message.MessageId, outcome.Verdict, observation.SourceId, observation.Version, observation.Status,
                        observation.Workload, observation.Endpoints.Length);
                    return outcome.AffectedWorkloads;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    log.LogError(e, "event {MessageId} failed {SourceId} version {DetailVersion}: {Reason}",
                        message.MessageId, observation.SourceId, observation.Version, e.Message);
                    return null;
                }
            default:
                throw new InvalidOperationException("unknown mapped event");
        }
    }

    private async Task<bool> PublishAsync(IEnumerable<WorkloadKey> workloads, CancellationToken cancellationToken)
    {
        try
        {
            var affected = workloads.Distinct().ToList();
            var fleets = await publisher.FleetsCallingAsync(affected, cancellationToken);
            var outcomes = await publisher.PublishAsync(fleets, cancellationToken);
            foreach (var outcome in outcomes) LogOutcome(log, outcome);
            if (configEvents is not null) await AnnounceAsync(configEvents, outcomes, $"endpoints of {string.Join(", ", affected)}", cancellationToken);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogError(e, "publish failed: {Reason}", e.Message);
            return false;
        }
    }

    /// <summary>The workloads whose registration failed.</summary>
    private async Task<HashSet<WorkloadKey>> RegisterAsync(RegistrySync sync, IEnumerable<WorkloadKey> workloads, CancellationToken cancellationToken)
    {
        var failed = new HashSet<WorkloadKey>();
        foreach (var workload in workloads)
        {
            try
            {
                foreach (var result in await sync.SyncWorkloadAsync(workload, cancellationToken))
                {
                    if (result.Registered + result.Deregistered > 0)
                        log.LogInformation("registry {RegistryService}: {Registered} registered, {Deregistered} deregistered ({Workload})",
                            result.Service, result.Registered, result.Deregistered, workload);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogError(e, "registry sync of {Workload} failed: {Reason}", workload, e.Message);
                failed.Add(workload);
            }
        }
        return failed;
    }

    private async Task AnnounceAsync(ConfigEventNotifier notifier, IReadOnlyList<PublishOutcome> outcomes, string cause, CancellationToken cancellationToken)
    {
        try
        {
            await notifier.NotifyAsync(outcomes, cause, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogError(e, "config published events not sent for {Fleets}: {Reason}",
                string.Join(", ", outcomes.Where(o => o.Status == PublishStatus.Published).Select(o => o.Fleet)), e.Message);
        }
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
