using System.Text.Json.Serialization;
using Mesh.Core.Endpoints;
using Mesh.Core.Model;

namespace Mesh.Core.Storage;

/// <summary>The stored form of ledger entries and service definitions, shared by every store implementation.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(SourceObservation))]
[JsonSerializable(typeof(ServiceDefinition))]
public sealed partial class StateJson : JsonSerializerContext;
