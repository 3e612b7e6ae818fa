using System.Collections.Immutable;
using Mesh.Core.Model;

namespace Mesh.Core.Model;

/// <summary>All resources of one xDS type in a snapshot, sorted by name; its version is the hash of their names and hashes.</summary>
public sealed class ResourceSet
{
    // A plain dictionary: a frozen one costs more to build than a fleet's lookups save, and every publish builds these.
    private readonly Lazy<Dictionary<string, XdsResource>> _byName;

    public ResourceSet(XdsType type, IEnumerable<XdsResource> resources)
    {
        Type = type;
        Resources = [.. resources.OrderBy(r => r.Name, StringComparer.Ordinal)];
        Version = ContentHash.Combine(Resources.SelectMany(r => new[] { r.Name, r.Hash }));
        _byName = new(() => Resources.DistinctBy(r => r.Name, StringComparer.Ordinal).ToDictionary(r => r.Name, StringComparer.Ordinal));
    }

    public XdsType Type { get; }
    public ImmutableArray<XdsResource> Resources { get; }
    public string Version { get; }

    public XdsResource? Find(string name) => _byName.Value.GetValueOrDefault(name);
}

/// <summary>
/// The whole configuration of one fleet at one moment: an immutable value, built whole and hashed, never patched.
/// Its version is derived from its content, so compiling the same inputs twice gives the same version.
/// </summary>
public sealed class FleetSnapshot
{
    public FleetSnapshot(FleetId fleet, IEnumerable<ResourceSet> sets)
    {
        Fleet = fleet;
        var byType = sets.ToDictionary(s => s.Type);
        Sets = [.. XdsTypes.All.Select(t => byType.GetValueOrDefault(t) ?? new ResourceSet(t, []))];
        Version = ContentHash.Combine(Sets.Select(s => s.Version));
    }

    public FleetId Fleet { get; }
    public string Version { get; }
    /// <summary>One set per type, in the order of <see cref="XdsTypes.All"/>.</summary>
    public ImmutableArray<ResourceSet> Sets { get; }

    public ResourceSet this[XdsType type] => Sets[(int)type];

    public int TotalBytes => Sets.Sum(s => s.Resources.Sum(r => r.Json.Length));
}
