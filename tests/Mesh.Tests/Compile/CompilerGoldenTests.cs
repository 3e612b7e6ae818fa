using System.Text.Json;
using System.Text.Json.Nodes;
using Mesh.Core.Model;
using Mesh.Core.Snapshots;
using Mesh.Tests.Support;

namespace Mesh.Tests.Compile;

/// <summary>
/// The Envoy configuration each sample fleet ends the story with, as reviewed golden files in Golden/.
/// A change to the compiler shows up here as a diff to review. UPDATE_GOLDEN=1 rewrites them.
/// </summary>
public class CompilerGoldenTests
{
    public static TheoryData<string> Fleets() => [.. SampleEvents.Fleets(Repo.Samples).Select(f => f.Service)];

    [Theory]
    [MemberData(nameof(Fleets))]
    public async Task Each_sample_fleet_compiles_to_its_reviewed_golden_snapshot(string service)
    {
        var samples = Repo.Samples;
        using var store = new TempStore();
        await Story.SeedAsync(store, samples);
        await Story.FeedAsync(store, samples, SampleEvents.Bodies(samples).Select(b => b.Body));
        var snapshots = await Story.SnapshotsAsync(store, samples);
        var actual = Readable(snapshots.Single(s => s.Key.Service == service).Value);

        var path = Path.Combine(Repo.GoldenDirectory, $"{service}.json");
        await Golden.AssertMatchesAsync(path, actual);
    }

    /// <summary>The stored snapshot, indented, one property per resource type, so a diff reads like config.</summary>
    private static string Readable(byte[] stored)
    {
        var snapshot = SnapshotCodec.Decode(stored);
        var root = new JsonObject { ["fleet"] = snapshot.Fleet.ToString(), ["version"] = snapshot.Version };
        foreach (var set in snapshot.Sets)
        {
            root[set.Type.PathName()] = new JsonObject
            {
                ["version"] = set.Version,
                ["resources"] = new JsonArray([.. set.Resources.Select(r => JsonNode.Parse(r.Json.Span))]),
            };
        }
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }
}
