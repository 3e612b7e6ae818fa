using Mesh.Core.Model;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Serving;

/// <summary>One REST subscription of one proxy: CDS or LDS, or one EDS cluster or RDS route table (by its names).</summary>
public readonly record struct SubscriptionKey(FleetId Fleet, string NodeId, XdsType Type, string Names)
{
    public static SubscriptionKey Of(FleetId fleet, string nodeId, XdsType type, IEnumerable<string> names) =>
        new(fleet, nodeId, type, string.Join(',', names.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)));
}

/// <summary>
/// A proxy's last poll of a subscription: the version it reported running, the version it was last sent, and,
/// if it kept reporting the same older version after being sent a newer one, that rejected version (REST xDS
/// has no NACK: an unchanged version_info is the only sign).
/// </summary>
public sealed record ProxyPoll(SubscriptionKey Key, string Reported, string? Served, string? Rejected, DateTimeOffset At)
{
    /// <summary>The record after a new poll that reported <paramref name="reported"/> and was answered with <paramref name="served"/> (null: 304).</summary>
    public static ProxyPoll Next(ProxyPoll? previous, SubscriptionKey key, string reported, string? served, DateTimeOffset at)
    {
        var rejected = previous is { Served: { } sent } && reported.Length > 0 && reported != sent && reported == previous.Reported ? sent : null;
        return new ProxyPoll(key, reported, served ?? previous?.Served, rejected, at);
    }

    public bool SameState(ProxyPoll other) => Reported == other.Reported && Served == other.Served && Rejected == other.Rejected;
}

/// <summary>How many of a fleet's live proxies run a given snapshot, which run another, and which rejected one.</summary>
public sealed record ConvergenceCounts(string Version, int Proxies, int Current, int Behind, IReadOnlyList<RejectingProxy> Rejected);

public sealed record RejectingProxy(string NodeId, string Type, string Names, string RejectedVersion, string RunningVersion);

public static class Convergence
{
    /// <summary>A proxy runs <paramref name="target"/> when every subscription it polls reports the version the target would serve it.</summary>
    public static ConvergenceCounts Of(FleetSnapshot target, IEnumerable<ProxyPoll> polls)
    {
        int proxies = 0, current = 0, behind = 0;
        var rejected = new List<RejectingProxy>();
        foreach (var node in polls.GroupBy(p => p.Key.NodeId, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            proxies++;
            var rejections = node.Where(p => p.Rejected is not null).ToList();
            if (rejections.Count > 0)
            {
                rejected.AddRange(rejections.Select(p => new RejectingProxy(node.Key, p.Key.Type.PathName(), p.Key.Names, p.Rejected!, p.Reported)));
                continue;
            }
            if (node.All(p => p.Reported == XdsResponder.VersionOf(target, p.Key.Type, p.Key.Names.Length == 0 ? [] : p.Key.Names.Split(','))))
                current++;
            else
                behind++;
        }
        return new ConvergenceCounts(target.Version, proxies, current, behind, rejected);
    }
}
