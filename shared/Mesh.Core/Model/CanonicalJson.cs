using System.Text.Json.Serialization;

namespace Mesh.Core.Model;

/// <summary>
/// The model's canonical JSON, for content-derived identity only: ETags and "is this the same resource". Stores keep
/// their own format (Mesh.Contracts.State), so the two can evolve apart.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(ServiceDefinition))]
[JsonSerializable(typeof(StoredService))]
[JsonSerializable(typeof(RouteTable))]
[JsonSerializable(typeof(ServicePolicy))]
[JsonSerializable(typeof(MeshSettings))]
[JsonSerializable(typeof(GatewayDefinition))]
public sealed partial class CanonicalJson : JsonSerializerContext;
