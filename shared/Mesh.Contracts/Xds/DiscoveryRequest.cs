using System.Buffers;
using System.Text.Json;

namespace Mesh.Contracts.Xds;

/// <summary>
/// The part of Envoy's DiscoveryRequest a REST poll needs. Read by hand so that both proto3 JSON spellings
/// (version_info and versionInfo) are accepted and nothing else is allocated.
/// </summary>
public sealed record DiscoveryRequest(string VersionInfo, string? NodeId, string? NodeCluster, string? Zone, IReadOnlyList<string> ResourceNames, string? TypeUrl)
{
    /// <summary>The fleet token in node.metadata, if the proxy's bootstrap carries one.</summary>
    public string? FleetToken { get; init; }

    /// <summary>Straight from the request body's buffers, without copying them.</summary>
    public static DiscoveryRequest Parse(ReadOnlySequence<byte> json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new JsonException("a DiscoveryRequest is a JSON object");
        var node = Property(root, "node", "node");
        JsonElement? locality = node is { ValueKind: JsonValueKind.Object } n ? Property(n, "locality", "locality") : null;
        var names = Property(root, "resource_names", "resourceNames") is { ValueKind: JsonValueKind.Array } array
            ? array.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new JsonException("resource_names must hold only strings")).ToList()
            : [];
        return new DiscoveryRequest(
            String(root, "version_info", "versionInfo") ?? "",
            node is { ValueKind: JsonValueKind.Object } nodeObject ? String(nodeObject, "id", "id") : null,
            node is { ValueKind: JsonValueKind.Object } nodeObject2 ? String(nodeObject2, "cluster", "cluster") : null,
            locality is { ValueKind: JsonValueKind.Object } l ? String(l, "zone", "zone") : null,
            names,
            String(root, "type_url", "typeUrl"))
        {
            FleetToken = node is { ValueKind: JsonValueKind.Object } nodeObject3 && Property(nodeObject3, "metadata", "metadata") is { ValueKind: JsonValueKind.Object } metadata
                ? String(metadata, Mesh.Core.Serving.FleetTokens.MetadataKey, Mesh.Core.Serving.FleetTokens.MetadataKey)
                : null,
        };
    }

    private static JsonElement? Property(JsonElement element, string protoName, string jsonName) =>
        element.TryGetProperty(protoName, out var value) || element.TryGetProperty(jsonName, out value) ? value : null;

    private static string? String(JsonElement element, string protoName, string jsonName) => Property(element, protoName, jsonName) switch
    {
        null or { ValueKind: JsonValueKind.Null } => null,
        { ValueKind: JsonValueKind.String } value => value.GetString(),
        _ => throw new JsonException($"{protoName} must be a string"),
    };
}
