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
}
