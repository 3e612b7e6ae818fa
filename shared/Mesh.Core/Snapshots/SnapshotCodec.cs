using System.Buffers;
using System.Text.Json;
using Mesh.Core.Model;

namespace Mesh.Core.Snapshots;

/// <summary>
/// The stored form of a snapshot: one JSON document holding each resource's bytes verbatim, so that what is
/// read back is byte-identical to what was compiled. Shared by every store.
/// </summary>
public static class SnapshotCodec
{
    public static byte[] Encode(FleetSnapshot snapshot)
    {
        var buffer = new ArrayBufferWriter<byte>(snapshot.TotalBytes + 1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("fleet", snapshot.Fleet.ToString());
            writer.WriteString("version", snapshot.Version);
            writer.WriteStartArray("sets");
            foreach (var set in snapshot.Sets)
            {
                writer.WriteStartObject();
                writer.WriteString("type", set.Type.PathName());
                writer.WriteString("version", set.Version);
                writer.WriteStartArray("resources");
                foreach (var resource in set.Resources)
                {
                    writer.WriteStartObject();
                    writer.WriteString("name", resource.Name);
                    writer.WritePropertyName("body");
                    writer.WriteRawValue(resource.Json.Span, skipInputValidation: true);
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    public static FleetSnapshot Decode(ReadOnlyMemory<byte> stored)
    {
        using var document = JsonDocument.Parse(stored);
        var root = document.RootElement;
        if (!FleetId.TryParse(root.GetProperty("fleet").GetString(), out var fleet))
            throw new InvalidDataException("stored snapshot names no valid fleet");
        var sets = new List<ResourceSet>();
        foreach (var set in root.GetProperty("sets").EnumerateArray())
        {
            if (!XdsTypes.TryParsePathName(set.GetProperty("type").GetString() ?? "", out var type))
                throw new InvalidDataException("stored snapshot has an unknown resource type");
            var resources = set.GetProperty("resources").EnumerateArray()
                .Select(r => new XdsResource(r.GetProperty("name").GetString()!, RawBytes(r.GetProperty("body"))))
                .ToList();
            sets.Add(new ResourceSet(type, resources));
        }
        var snapshot = new FleetSnapshot(fleet, sets);
        var storedVersion = root.GetProperty("version").GetString();
        return snapshot.Version == storedVersion
            ? snapshot
            : throw new InvalidDataException($"stored snapshot {storedVersion} of {fleet} does not hash to its version ({snapshot.Version})");
    }

    // GetRawText is a slice of the stored text, so each resource reads back byte for byte as it was compiled.
    private static byte[] RawBytes(JsonElement element) => System.Text.Encoding.UTF8.GetBytes(element.GetRawText());
}
