using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Serving;

/// <summary>How many of a fleet's live proxies run a given snapshot, which run another, and which rejected one.</summary>
public sealed record ConvergenceCounts(string Version, int Proxies, int Current, int Behind, IReadOnlyList<RejectingProxy> Rejected)
{
    /// <summary>How many proxies <see cref="Nodes"/> lists at most (a fleet tracks up to thousands).</summary>
    public const int MaxNodesListed = 100;

    /// <summary>Each proxy (the first <see cref="MaxNodesListed"/> by node id): current, behind or rejecting, and when it last polled.</summary>
    public IReadOnlyList<ProxyState> Nodes { get; init; } = [];
}

public sealed record ProxyState(string NodeId, string State, DateTimeOffset LastPoll);

public sealed record RejectingProxy(string NodeId, string Type, string Names, string RejectedVersion, string RunningVersion)
{
    /// <summary>The proxy's own words for the rejection (an ADS NACK's error_detail); null for REST polls.</summary>
    public string? Reason { get; init; }
}

public static class Convergence
{
    /// <summary>A proxy runs <paramref name="target"/> when every subscription it polls reports the version the target would serve it.</summary>
    public static ConvergenceCounts Of(FleetSnapshot target, IEnumerable<ProxyPoll> polls)
    {
        int proxies = 0, current = 0, behind = 0;
        var rejected = new List<RejectingProxy>();
        var nodes = new List<ProxyState>();
        foreach (var node in polls.GroupBy(p => p.Key.NodeId, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            proxies++;
            var rejections = node.Where(p => p.Rejected is not null).ToList();
            string state;
            if (rejections.Count > 0)
            {
                rejected.AddRange(rejections.Select(p => new RejectingProxy(node.Key, p.Key.Type.PathName(), p.Key.Names, p.Rejected!, p.Reported) { Reason = p.RejectionReason }));
                state = "rejecting";
            }
            else if (node.All(p => p.Reported == XdsResponder.VersionOf(target, p.Key.Type, p.Key.Names.Length == 0 ? [] : p.Key.Names.Split(','))))
            {
                current++;
                state = "current";
            }
            else
            {
                behind++;
                state = "behind";
            }
            if (nodes.Count < ConvergenceCounts.MaxNodesListed) nodes.Add(new ProxyState(node.Key, state, node.Max(p => p.At)));
        }
        return new ConvergenceCounts(target.Version, proxies, current, behind, rejected) { Nodes = nodes };
    }
}

/// <summary>Per fleet a change published to: its version, the fleet's head now, and how many proxies run it, run another, or rejected one.</summary>
public sealed record FleetConvergence(string Fleet, string? Version, string? HeadVersion, ConvergenceCounts? Counts);

public sealed record ChangeConvergence(string Change, IReadOnlyList<FleetConvergence> Fleets);

/// <summary>Across fleets: live proxies, those behind their fleet's current version, those rejecting it, and how long the longest-waiting head has waited for its proxies.</summary>
public sealed record ConvergenceSummary(int Proxies, int Behind, int Rejecting, TimeSpan Lag);

/// <summary>Convergence of a change (each fleet it published to) and of a fleet (against its current snapshot).</summary>
public sealed class ConvergenceQueries(SnapshotCache snapshots, ISnapshotStore store, ProxyTracker proxies)
{
    public async Task<ChangeConvergence> OfChangeAsync(ChangeRecord change, CancellationToken cancellationToken)
    {
        var fleets = new List<FleetConvergence>();
        foreach (var published in change.Published)
        {
            if (!FleetId.TryParse(published.Fleet, out var fleet)) continue;
            var head = await store.GetHeadAsync(fleet, cancellationToken);
            var target = published.Version is null ? null : await snapshots.FindAsync(fleet, published.Version, cancellationToken);
            fleets.Add(new FleetConvergence(published.Fleet, published.Version, head?.Version, target is null ? null : await proxies.CountAsync(target, cancellationToken)));
        }
        return new ChangeConvergence(change.Id, fleets);
    }

    /// <summary>Every fleet of the meshes against its current snapshot; lag counts from a head's commit while any proxy is behind or rejecting it.</summary>
    public async Task<ConvergenceSummary> SummarizeAsync(IEnumerable<string> meshes, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var (proxyCount, behind, rejecting, lag) = (0, 0, 0, TimeSpan.Zero);
        foreach (var mesh in meshes)
        {
            foreach (var head in await store.ListHeadsAsync(mesh, cancellationToken))
            {
                if (await snapshots.GetCurrentAsync(head.Fleet, cancellationToken) is not { } current) continue;
                var counts = await proxies.CountAsync(current, cancellationToken);
                (proxyCount, behind, rejecting) = (proxyCount + counts.Proxies, behind + counts.Behind, rejecting + counts.Rejected.Count);
                if (counts.Behind + counts.Rejected.Count > 0 && now - head.CommittedAt > lag) lag = now - head.CommittedAt;
            }
        }
        return new ConvergenceSummary(proxyCount, behind, rejecting, lag);
    }

    /// <summary>Null when the fleet has no compiled configuration.</summary>
    public async Task<FleetConvergence?> OfFleetAsync(FleetId fleet, CancellationToken cancellationToken) =>
        await snapshots.GetCurrentAsync(fleet, cancellationToken) is { } head
            ? new FleetConvergence(fleet.ToString(), head.Version, head.Version, await proxies.CountAsync(head, cancellationToken))
            : null;
}
