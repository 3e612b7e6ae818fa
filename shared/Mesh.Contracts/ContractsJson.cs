using System.Text.Json.Serialization;
using Mesh.Contracts.Events;
using Mesh.Contracts.Sqs;

namespace Mesh.Contracts;

/// <summary>
/// Source-generated serialization for every wire record: tolerant readers (unknown fields ignored, names matched
/// case-insensitively), but numbers are numbers: a detail.version sent as a string is not an ECS event.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    PropertyNameCaseInsensitive = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SqsEvent))]
[JsonSerializable(typeof(SqsBatchResponse))]
[JsonSerializable(typeof(EventEnvelope))]
[JsonSerializable(typeof(EcsTaskStateChange))]
[JsonSerializable(typeof(EcsDeploymentStateChange))]
[JsonSerializable(typeof(EksEndpointSliceChange))]
public sealed partial class ContractsJson : JsonSerializerContext;
