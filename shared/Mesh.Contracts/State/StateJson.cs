using System.Text.Json.Serialization;
using Mesh.Core.Model;

namespace Mesh.Contracts.State;

/// <summary>The stored form of ledger entries, services and changes, shared by every store implementation and the API's views.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(SourceObservation))]
[JsonSerializable(typeof(ServiceDefinition))]
[JsonSerializable(typeof(StoredService))]
[JsonSerializable(typeof(ChangeRecord))]
[JsonSerializable(typeof(RouteTable))]
[JsonSerializable(typeof(ServicePolicy))]
[JsonSerializable(typeof(MeshSettings))]
[JsonSerializable(typeof(GatewayDefinition))]
[JsonSerializable(typeof(MeshSpec))]
[JsonSerializable(typeof(string[]))]
public sealed partial class StateJson : JsonSerializerContext;
