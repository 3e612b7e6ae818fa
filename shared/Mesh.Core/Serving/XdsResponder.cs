using Mesh.Core.Compile;
using Mesh.Core.Model;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Serving;

public abstract record XdsReply;

/// <summary>The proxy already runs this version: HTTP 304, and Envoy schedules its next poll.</summary>
public sealed record NotModified(string Version) : XdsReply;

/// <summary>A DiscoveryResponse: every resource of a wildcard type, or exactly the named ones.</summary>
public sealed record Resources(string Version, IReadOnlyList<XdsResource> Items) : XdsReply;

/// <summary>
/// The REST xDS decision, as Envoy implements the protocol: 200 with resources when the proxy's last accepted
/// version differs, 304 when it is equal and non-empty (never to an empty one: Envoy would wait for its
/// initial fetch timeout). CDS and LDS are state of the world; EDS and RDS name their resources.
/// </summary>
public static class XdsResponder
{
    public static XdsReply Respond(FleetSnapshot snapshot, XdsType type, string versionInfo, IReadOnlyList<string> resourceNames)
    {
        var set = snapshot[type];
        if (type.IsWildcard() || resourceNames.Count == 0)
            return Reply(set.Version, set.Resources, versionInfo);
        var named = resourceNames.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        // A name the snapshot lacks (a cluster being removed, a rollback in flight) gets its empty resource, never an error.
        var found = named.Select(n => set.Find(n) ?? PlaceholderResources.Empty(type, n)).ToList();
        // A named poll's version is that of its resources alone, so an unrelated change answers 304.
        var version = found.Count == 1 ? found[0].Hash : ContentHash.Combine(found.SelectMany(r => new[] { r.Name, r.Hash }));
        return Reply(version, found, versionInfo);
    }

    /// <summary>The version a poll of these names would be answered with.</summary>
    public static string? VersionOf(FleetSnapshot snapshot, XdsType type, IReadOnlyList<string> resourceNames) =>
        Respond(snapshot, type, "", resourceNames) is Resources resources ? resources.Version : null;

    private static XdsReply Reply(string version, IReadOnlyList<XdsResource> resources, string versionInfo) =>
        versionInfo.Length > 0 && versionInfo == version ? new NotModified(version) : new Resources(version, resources);
}
