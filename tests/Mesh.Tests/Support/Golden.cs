using System.Text.Json;
using System.Text.Json.Nodes;
using Mesh.Core.Model;

namespace Mesh.Tests.Support;

/// <summary>
/// Reviewed golden files. UPDATE_GOLDEN=1 rewrites a file whose content changed, and then the test fails: a rewritten
/// file is a diff to review, never a pass in the run that wrote it.
/// </summary>
public static class Golden
{
    public static async Task AssertMatchesAsync(string path, string actual)
    {
        var expected = File.Exists(path) ? await File.ReadAllTextAsync(path) : null;
        if (expected == actual) return;
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1")
        {
            await File.WriteAllTextAsync(path, actual);
            Assert.Fail($"rewrote {Path.GetFileName(path)}: review the diff, then run again without UPDATE_GOLDEN");
        }
        Assert.True(expected is not null, $"no golden file {path}; run with UPDATE_GOLDEN=1 and review it");
        Assert.Equal(expected, actual);
    }

    /// <summary>A fleet snapshot as a golden file holds it: fleet, version, and each type's resources in order.</summary>
    public static string Of(FleetSnapshot snapshot)
    {
        var root = new JsonObject { ["fleet"] = snapshot.Fleet.ToString(), ["version"] = snapshot.Version };
        foreach (var set in snapshot.Sets) root[set.Type.PathName()] = new JsonArray([.. set.Resources.Select(r => JsonNode.Parse(r.Json.Span))]);
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }
}
