using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mesh.Contracts.Events;

/// <summary>The EventBridge envelope. The detail is read once its type is known.</summary>
public sealed record EventEnvelope
{
    [JsonPropertyName("id")] public string? Id { get; init; }
    [JsonPropertyName("detail-type")] public string? DetailType { get; init; }
    [JsonPropertyName("source")] public string? Source { get; init; }
    [JsonPropertyName("account")] public string? Account { get; init; }
    [JsonPropertyName("time")] public DateTimeOffset? Time { get; init; }
    [JsonPropertyName("region")] public string? Region { get; init; }
    [JsonPropertyName("resources")] public IReadOnlyList<string>? Resources { get; init; }
    [JsonPropertyName("detail")] public JsonElement Detail { get; init; }
}

public static class DetailTypes
{
    public const string EcsTaskStateChange = "ECS Task State Change";
    public const string EcsDeploymentStateChange = "ECS Deployment State Change";
    public const string EksEndpointSliceChange = "EKS EndpointSlice Change";
}
