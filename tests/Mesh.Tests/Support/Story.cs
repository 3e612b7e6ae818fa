using Mesh.Contracts.Sqs;
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
        foreach (var service in samples.DesiredState.Services) await store.Store.PutServiceAsync(service, CancellationToken.None);
        await store.Publisher.PublishAsync(SampleEvents.Fleets(samples), CancellationToken.None);
    }

    public static BatchProcessor Processor(TempStore store, SampleFile samples) =>
        new(SampleEvents.Mapper(samples), store.Recorder, store.Publisher, NullLogger<BatchProcessor>.Instance);

    public static async Task<SqsBatchResponse> FeedAsync(TempStore store, SampleFile samples, IEnumerable<string> bodies, int batchSize = 1)
    {
        var processor = Processor(store, samples);
        var failures = new List<BatchItemFailure>();
        var numbered = bodies.Select((body, i) => new SqsMessage($"m{i}", body)).ToList();
        foreach (var batch in numbered.Chunk(batchSize))
            failures.AddRange((await processor.ProcessAsync(new SqsEvent(batch), CancellationToken.None)).BatchItemFailures);
        return new SqsBatchResponse(failures);
    }

    /// <summary>The stored bytes of every fleet's current snapshot.</summary>
    public static async Task<IReadOnlyDictionary<FleetId, byte[]>> SnapshotsAsync(TempStore store, SampleFile samples)
    {
        var result = new Dictionary<FleetId, byte[]>();
        foreach (var fleet in SampleEvents.Fleets(samples))
        {
            var head = await store.Store.GetHeadAsync(fleet, CancellationToken.None) ?? throw new InvalidOperationException($"{fleet} has no head");
            var snapshot = await store.Store.GetAsync(fleet, head.Version, CancellationToken.None);
            result[fleet] = SnapshotCodec.Encode(snapshot!);
        }
        return result;
    }
}
