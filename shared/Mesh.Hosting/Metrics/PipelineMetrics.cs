using Mesh.Core.Endpoints;
using Mesh.Core.Pipeline;
using Mesh.Core.Publishing;
using Mesh.Core.Serving;

namespace Mesh.Hosting.Metrics;

/// <summary>
/// The control plane's metrics, from what its use cases report. Counts are written even when zero, so an alarm on
/// one sees a value every invocation.
/// </summary>
public static class PipelineMetrics
{
    public const string EventsApplied = "EventsApplied";
    public const string EventsDuplicate = "EventsDuplicate";
    public const string EventsStale = "EventsStale";
    public const string EventsAfterTerminal = "EventsAfterTerminal";
    public const string EventsRefused = "EventsRefused";
    public const string EventsFailed = "EventsFailed";
    public const string FleetsPublished = "FleetsPublished";
    public const string FleetsUnchanged = "FleetsUnchanged";
    public const string FleetsRefused = "FleetsRefused";
    public const string PublishFailures = "PublishFailures";
    /// <summary>From the event's time (EventBridge's "time") or the edit's arrival to its snapshots' commit.</summary>
    public const string PublishLatency = "PublishLatency";
    public const string SnapshotBytes = "SnapshotBytes";
    public const string EditsApplied = "EditsApplied";
    public const string EditsRefused = "EditsRefused";
    public const string ProxiesBehind = "ProxiesBehind";
    public const string ProxiesRejecting = "ProxiesRejecting";
    public const string ConvergenceLag = "ConvergenceLag";

    public static void Ingested(InvocationMetrics metrics, IngestReport? report, int refused)
    {
        var verdicts = report?.Items.Where(i => i.Verdict is not null).Select(i => i.Verdict!.Value).ToList() ?? [];
        metrics.Count(EventsApplied, verdicts.Count(v => v == LedgerVerdict.Applied));
        metrics.Count(EventsDuplicate, verdicts.Count(v => v == LedgerVerdict.Duplicate));
        metrics.Count(EventsStale, verdicts.Count(v => v == LedgerVerdict.Stale));
        metrics.Count(EventsAfterTerminal, verdicts.Count(v => v == LedgerVerdict.AfterTerminal));
        metrics.Count(EventsRefused, refused);
        metrics.Count(EventsFailed, report?.FailedMessages.Count ?? 0);
        Published(metrics, report?.Published ?? [], report?.PublishFailures.Count ?? 0);
    }

    public static void Published(InvocationMetrics metrics, IReadOnlyList<PublishOutcome> outcomes, int failures = 0)
    {
        metrics.Count(FleetsPublished, outcomes.Count(o => o.Status == PublishStatus.Published));
        metrics.Count(FleetsUnchanged, outcomes.Count(o => o.Status == PublishStatus.Unchanged));
        metrics.Count(FleetsRefused, outcomes.Count(o => o.Status == PublishStatus.Refused));
        metrics.Count(PublishFailures, failures);
        foreach (var outcome in outcomes.Where(o => o.Status == PublishStatus.Published))
            metrics.Record(SnapshotBytes, MetricUnit.Bytes, outcome.SnapshotBytes);
    }

    public static void Latency(InvocationMetrics metrics, TimeSpan latency) =>
        metrics.Record(PublishLatency, MetricUnit.Milliseconds, Math.Max(0, Math.Round(latency.TotalMilliseconds, 1)));

    public static void Converging(InvocationMetrics metrics, ConvergenceSummary summary)
    {
        metrics.Count(ProxiesBehind, summary.Behind);
        metrics.Count(ProxiesRejecting, summary.Rejecting);
        metrics.Record(ConvergenceLag, MetricUnit.Seconds, Math.Round(summary.Lag.TotalSeconds, 1));
    }
}
