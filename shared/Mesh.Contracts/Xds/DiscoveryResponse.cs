using System.Buffers;
using System.Text.Json;
using Mesh.Core.Model;
using Mesh.Core.Snapshots;

namespace Mesh.Contracts.Xds;

/// <summary>Writes a DiscoveryResponse around resources that are already canonical JSON.</summary>
public static class DiscoveryResponse
{
    public static byte[] Write(string versionInfo, XdsType type, IEnumerable<XdsResource> resources)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("version_info", versionInfo);
            writer.WriteStartArray("resources");
            foreach (var resource in resources) writer.WriteRawValue(resource.Json.Span, skipInputValidation: true);
            writer.WriteEndArray();
            writer.WriteString("type_url", type.TypeUrl());
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
