using System.Text.Json;
using System.Text.Json.Serialization;
using Mesh.Core.Model;

namespace Mesh.LocalHost;

/// <summary>samples.json: a mesh's desired state, and named, complete Lambda events that tell a story in order.</summary>
public sealed record SampleFile
{
    public string Story { get; init; } = "";
    public required DesiredStateSample DesiredState { get; init; }
    public IReadOnlyList<ContainerInstanceSample> ContainerInstances { get; init; } = [];
    public required IReadOnlyList<Sample> Samples { get; init; }
    /// <summary>API Gateway HTTP API (payload 2.0) events for the Api function, for `sam local invoke ApiFunction -e`.</summary>
    public IReadOnlyList<Sample> ApiSamples { get; init; } = [];

    public static SampleFile Load(string path)
    {
        return JsonSerializer.Deserialize(File.ReadAllText(path), SampleJson.Default.SampleFile)
            ?? throw new InvalidDataException($"{path} is empty");
    }

    /// <summary>samples.json at the repository root: found from the working directory upwards.</summary>
    public static string? Find(string startDirectory)
    {
        for (var directory = new DirectoryInfo(startDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "samples.json");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}

public sealed record DesiredStateSample(IReadOnlyList<ServiceDefinition> Services);

public sealed record ContainerInstanceSample(string Arn, string Address);

/// <summary>One complete Lambda event (an SQS batch, or an HTTP API request), as `sam local invoke -e` takes it.</summary>
public sealed record Sample(string Name, string Description, JsonElement Event);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true)]
[JsonSerializable(typeof(SampleFile))]
public sealed partial class SampleJson : JsonSerializerContext;
