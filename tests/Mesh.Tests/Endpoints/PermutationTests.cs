using Mesh.Tests.Support;

namespace Mesh.Tests.Endpoints;

/// <summary>At least once and out of order: any order and any duplication of the story's events ends in the same bytes.</summary>
public class PermutationTests
{
    [Fact]
    public async Task The_story_shuffled_and_duplicated_gives_byte_identical_snapshots_in_every_order()
    {
        var samples = Repo.Samples;
        var bodies = SampleEvents.Bodies(samples).Select(b => b.Body).ToList();

        using var reference = new TempStore();
        await Story.SeedAsync(reference, samples);
        await Story.FeedAsync(reference, samples, bodies);
        var expected = await Story.SnapshotsAsync(reference, samples);

        for (var seed = 1; seed <= 30; seed++)
        {
            var random = new Random(seed);
            var delivered = bodies.Concat(bodies.Where(_ => random.Next(3) == 0)).OrderBy(_ => random.Next()).ToList();
            using var store = new TempStore();
            await Story.SeedAsync(store, samples);
            await Story.FeedAsync(store, samples, delivered, batchSize: 1 + random.Next(5));
            var actual = await Story.SnapshotsAsync(store, samples);
            foreach (var (fleet, bytes) in expected)
                Assert.True(bytes.AsSpan().SequenceEqual(actual[fleet]), $"seed {seed}: {fleet} differs from the in-order run");
        }
    }
}
