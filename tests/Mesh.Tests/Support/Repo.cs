using Mesh.LocalHost;

namespace Mesh.Tests.Support;

/// <summary>Files of the repository the tests read: samples.json, the shared events beside it, golden files.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string SamplesPath => Path.Combine(Root, "samples.json");

    public static SampleFile Samples { get; } = SampleFile.Load(SamplesPath);

    /// <summary>../shared/events beside the project root, when present (it is on every developer machine and in CI).</summary>
    public static string SharedEvents => Path.Combine(Root, "..", "shared", "events");

    public static string GoldenDirectory => Path.Combine(Root, "tests", "Mesh.Tests", "Golden");

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Pipeline.sln"))) return directory.FullName;
        }
        throw new DirectoryNotFoundException("the repository root (Pipeline.sln) is not above the test binaries");
    }
}
