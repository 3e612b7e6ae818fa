using System.Buffers;
using System.Text.Json;
using Mesh.Core.Model;

namespace Mesh.Core.Snapshots;

/// <summary>A resource of a snapshot by name and content hash.</summary>
public readonly record struct ResourceKey(string Name, string Hash);

/// <summary>
/// A snapshot without its resource bodies: which resource, by name and hash, is in each type. A store that
/// keeps each resource body once (content-addressed) stores this per version; consecutive versions of a fleet,
/// and fleets calling the same backend, share nearly all bodies.
/// </summary>
public sealed record SnapshotManifest(FleetId Fleet, string Version, IReadOnlyList<(XdsType Type, IReadOnlyList<ResourceKey> Resources)> Sets)
{
    public IEnumerable<ResourceKey> Keys => Sets.SelectMany(s => s.Resources);

    public static SnapshotManifest Of(FleetSnapshot snapshot) =>
        new(snapshot.Fleet, snapshot.Version, [.. snapshot.Sets.Select(s => (s.Type, (IReadOnlyList<ResourceKey>)[.. s.Resources.Select(r => new ResourceKey(r.Name, r.Hash))]))]);

    public byte[] Encode()
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("fleet", Fleet.ToString());
            w.WriteString("version", Version);
            w.WriteStartArray("sets");
            foreach (var (type, resources) in Sets)
            {
                w.WriteStartObject();
                w.WriteString("type", type.PathName());
                w.WriteStartArray("resources");
                foreach (var resource in resources)
                {
                    w.WriteStartArray();
                    w.WriteStringValue(resource.Name);
                    w.WriteStringValue(resource.Hash);
                    w.WriteEndArray();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    public static SnapshotManifest Decode(ReadOnlyMemory<byte> stored)
    {
        using var document = JsonDocument.Parse(stored);
        var root = document.RootElement;
        if (!FleetId.TryParse(root.GetProperty("fleet").GetString(), out var fleet))
            throw new InvalidDataException("stored manifest names no valid fleet");
        var sets = new List<(XdsType, IReadOnlyList<ResourceKey>)>();
        foreach (var set in root.GetProperty("sets").EnumerateArray())
        {
            if (!XdsTypes.TryParsePathName(set.GetProperty("type").GetString() ?? "", out var type))
                throw new InvalidDataException("stored manifest has an unknown resource type");
            sets.Add((type, [.. set.GetProperty("resources").EnumerateArray().Select(r => new ResourceKey(r[0].GetString()!, r[1].GetString()!))]));
        }
        return new SnapshotManifest(fleet, root.GetProperty("version").GetString()!, sets);
    }

    /// <summary>The snapshot, from its resource bodies; refused unless every body is there and it hashes to its version.</summary>
    public FleetSnapshot Assemble(IReadOnlyDictionary<ResourceKey, ReadOnlyMemory<byte>> bodies)
    {
        var snapshot = new FleetSnapshot(Fleet, Sets.Select(s => new ResourceSet(s.Type, s.Resources.Select(key =>
            new XdsResource(key.Name, bodies.TryGetValue(key, out var body) ? body : throw new InvalidDataException($"snapshot {Version} of {Fleet}: resource {key.Name} ({key.Hash}) is missing"))))));
        return snapshot.Version == Version
            ? snapshot
            : throw new InvalidDataException($"stored snapshot {Version} of {Fleet} does not hash to its version ({snapshot.Version})");
    }
}
