using System.Text.Json.Serialization;
using Mesh.Core.Editing;
using Mesh.Core.Endpoints;
using Mesh.Core.Model;

namespace Mesh.Core.Storage;

/// <summary>The stored form of ledger entries, services and changes, shared by every store implementation.</summary>
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
[JsonSerializable(typeof(string[]))]
public sealed partial class StateJson : JsonSerializerContext;
