using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using k8s;
using Mesh.Adapters.Aws;
using Mesh.Core.Resilience;

namespace Mesh.EksForwarder;

/// <summary>
/// Puts slice changes on the bus in the order they were made: batches of at most ten (PutEvents' limit) and 256 KB,
/// each holding at most one change of a slice, so resending a refused entry can never put it after a later change
/// of the same slice. A batch is retried, with back-off, until EventBridge takes it: nothing is dropped (a repeat is
/// harmless, Ingest's generation guard sees to that).
/// </summary>
public sealed class ChangePublisher(EventBridgePublisher bus, ForwarderOptions options, ForwarderHealth health, TimeProvider clock, ILogger<ChangePublisher> log)
{
    public const string DetailType = "EKS EndpointSlice Change";
    /// <summary>PutEvents takes at most 256 KB a call; entries are measured as AWS measures them, with room to spare.</summary>
    private const int MaxBatchBytes = 240 * 1024;

    private readonly Channel<SliceChange> _queue = Channel.CreateUnbounded<SliceChange>(new UnboundedChannelOptions { SingleReader = true });
    private readonly GuardedRetry _resend = new(5, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5), clock);

    public ValueTask EnqueueAsync(SliceChange change, CancellationToken cancellationToken)
    {
        health.Queued(1);
        return _queue.Writer.WriteAsync(change, cancellationToken);
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var pending = new List<(SliceChange Change, PutEventsEntry Entry)>();
        while (await _queue.Reader.WaitToReadAsync(cancellationToken))
        {
            while (_queue.Reader.TryRead(out var change))
            {
                var entry = Entry(change);
                if (Size(entry) > MaxBatchBytes)
                {
                    health.Queued(-1);
                    log.LogError("slice {Slice} ({Type}) is {Bytes} bytes as an event, above EventBridge's 256 KB: not forwarded; split the Service's slices (maxEndpointsPerSlice)",
                        change.Slice, change.WatchEventType, Size(entry));
                    continue;
                }
                pending.Add((change, entry));
            }
            while (pending.Count > 0)
            {
                var batch = NextBatch(pending);
                await SendAsync(batch, cancellationToken);
                pending.RemoveRange(0, batch.Count);
                health.Queued(-batch.Count);
            }
        }
    }

    /// <summary>The longest prefix of the queue with at most ten entries, one per slice, within the size limit.</summary>
    private static List<(SliceChange Change, PutEventsEntry Entry)> NextBatch(List<(SliceChange Change, PutEventsEntry Entry)> pending)
    {
        var batch = new List<(SliceChange, PutEventsEntry)>();
        var slices = new HashSet<string>(StringComparer.Ordinal);
        var bytes = 0;
        foreach (var item in pending)
        {
            if (batch.Count == EventBridgePublisher.EntriesPerCall || !slices.Add(item.Change.SliceUid) || bytes + Size(item.Entry) > MaxBatchBytes) break;
            bytes += Size(item.Entry);
            batch.Add(item);
        }
        return batch;
    }

    private async Task SendAsync(List<(SliceChange Change, PutEventsEntry Entry)> batch, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await bus.PutAsync([.. batch.Select(b => b.Entry)], _resend, cancellationToken);
                foreach (var (change, _) in batch)
                    log.LogInformation("put {Type} of slice {Slice} (generation {Generation})", change.WatchEventType, change.Slice, change.EndpointSlice.Metadata.Generation);
                health.Published(batch.Count, clock.GetUtcNow());
                return;
            }
            catch (Exception e) when (e is AwsCallException or HttpRequestException && !cancellationToken.IsCancellationRequested)
            {
                var wait = Backoff.Delay(attempt, options.MaxBackoffSeconds);
                log.LogWarning("EventBridge did not take {Count} events (attempt {Attempt}): {Reason}; again in {Wait}", batch.Count, attempt, e.Message, wait);
                await Task.Delay(wait, clock, cancellationToken);
            }
        }
    }

    /// <summary>The README's "EKS EndpointSlice Change" event: the slice as the API server returned it, and its pods' version labels.</summary>
    private PutEventsEntry Entry(SliceChange change)
    {
        var detail = new JsonObject
        {
            ["schemaVersion"] = "1",
            ["clusterName"] = options.ClusterName,
            ["watchEventType"] = change.WatchEventType,
            ["observedAt"] = clock.GetUtcNow().ToString("O"),
            ["endpointSlice"] = JsonNode.Parse(KubernetesJson.Serialize(change.EndpointSlice)),
            ["podLabels"] = new JsonObject(change.PodLabels.Select(p => KeyValuePair.Create(p.Key,
                (JsonNode?)new JsonObject(p.Value.Select(l => KeyValuePair.Create(l.Key, (JsonNode?)JsonValue.Create(l.Value))))))),
        };
        return new PutEventsEntry(options.Source, DetailType, detail.ToJsonString(), options.EventBusName, options.ClusterArn is { Length: > 0 } arn ? [arn] : []);
    }

    private static int Size(PutEventsEntry entry) =>
        Encoding.UTF8.GetByteCount(entry.Detail) + Encoding.UTF8.GetByteCount(entry.DetailType) + Encoding.UTF8.GetByteCount(entry.Source)
        + entry.Resources.Sum(r => Encoding.UTF8.GetByteCount(r)) + 14;
}

/// <summary>Exponential back-off: 1 s, 2 s, 4 s ... up to a ceiling.</summary>
public static class Backoff
{
    public static TimeSpan Delay(int attempt, int maxSeconds) => TimeSpan.FromSeconds(Math.Min(maxSeconds, Math.Pow(2, Math.Min(attempt - 1, 10))));
}
