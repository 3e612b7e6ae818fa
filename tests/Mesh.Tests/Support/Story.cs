using Mesh.Contracts.Sqs;
using Mesh.Core.Editing;
using Mesh.Core.Model;
using Mesh.Core.Snapshots;
using Mesh.Ingest;
using Mesh.LocalHost;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Tests.Support;

/// <summary>Drives the real Ingest batch processor over a store: seed the desired state, then feed messages.</summary>
public static class Story
{
    public static async Task SeedAsync(TempStore store, SampleFile samples)
    {
        await store.Store.Desired.PutServicesAsync(samples.DesiredState.Services, CancellationToken.None);
        await store.Publisher.PublishAsync(SampleEvents.Fleets(samples), CancellationToken.None);
    }

    public static BatchProcessor Processor(TempStore store, SampleFile samples) =>
        new(SampleEvents.Mapper(samples), store.Ingest, TimeProvider.System, NullLogger<BatchProcessor>.Instance);

    /// <summary>Feeds the bodies in batches; with <paramref name="redeliveries"/>, failed messages come back as SQS would send them again.</summary>
    public static async Task<SqsBatchResponse> FeedAsync(TempStore store, SampleFile samples, IEnumerable<string> bodies, int batchSize = 1, int redeliveries = 0)
    {
        var processor = Processor(store, samples);
        var pending = bodies.Select((body, i) => new SqsMessage($"m{i}", body)).ToList();
        for (var delivery = 0; ; delivery++)
        {
            var failures = new List<BatchItemFailure>();
            foreach (var batch in pending.Chunk(batchSize))
                failures.AddRange((await processor.ProcessAsync(new SqsEvent(batch), new Mesh.Hosting.Metrics.InvocationMetrics("ingest"), CancellationToken.None)).BatchItemFailures);
            if (failures.Count == 0 || delivery == redeliveries) return new SqsBatchResponse(failures);
            var failed = failures.Select(f => f.ItemIdentifier).ToHashSet();
            pending = [.. pending.Where(m => failed.Contains(m.MessageId!))];
        }
    }

    public static async Task<IReadOnlyList<Mesh.Core.Ports.SnapshotHead>> HeadsAsync(TempStore store, SampleFile samples) =>
        [.. (await Task.WhenAll(SampleEvents.Fleets(samples).Select(f => store.Store.Snapshots.GetHeadAsync(f, CancellationToken.None)))).Select(h => h!)];

    /// <summary>The stored bytes of every fleet's current snapshot.</summary>
    public static async Task<IReadOnlyDictionary<FleetId, byte[]>> SnapshotsAsync(TempStore store, SampleFile samples)
    {
        var result = new Dictionary<FleetId, byte[]>();
        foreach (var fleet in SampleEvents.Fleets(samples))
        {
            var head = await store.Store.Snapshots.GetHeadAsync(fleet, CancellationToken.None) ?? throw new InvalidOperationException($"{fleet} has no head");
            var snapshot = await store.Store.Snapshots.GetAsync(fleet, head.Version, CancellationToken.None);
            result[fleet] = SnapshotCodec.Encode(snapshot!);
        }
        return result;
    }
}
