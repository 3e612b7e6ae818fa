using Mesh.Core.Model;

namespace Mesh.Core.Compile;

/// <summary>A virtual host of a gateway listener: the names it answers to and, in the gateway's order, the routes that apply to them.</summary>
public sealed record GatewayVirtualHost(string Name, IReadOnlyList<string> Domains, IReadOnlyList<GatewayRoute> Routes);

/// <summary>
/// How gateway routes meet Envoy's routing. Envoy picks a virtual host by the most specific domain first (exact, then
/// the longest suffix, then "*") and never falls back to another, while a gateway's routes are tried in order whatever
/// host they name. So every distinct hostname becomes a virtual host that holds, in order, each route whose hostname
/// covers it: a request reaches the first route of the gateway that matches it, as App Mesh's priority order says.
/// </summary>
public static class GatewayRouting
{
    /// <summary>The listeners a route applies to: the one its match names, or every one.</summary>
    public static IEnumerable<GatewayListener> ListenersOf(GatewayDefinition gateway, GatewayRoute route) =>
        gateway.Listeners.Where(l => IsOn(route, l));

    /// <summary>The routes of one listener, in the gateway's order.</summary>
    public static IReadOnlyList<GatewayRoute> RoutesOn(GatewayDefinition gateway, GatewayListener listener) => [.. gateway.Routes.Where(r => IsOn(r, listener))];

    private static bool IsOn(GatewayRoute route, GatewayListener listener) => route.Match.Port is not { } port || listener.Port == port;

    public static IReadOnlyList<GatewayVirtualHost> VirtualHosts(IReadOnlyList<GatewayRoute> routes)
    {
        var hosts = new List<GatewayVirtualHost>();
        var exacts = routes.Select(r => r.Match.Hostname?.Exact?.ToLowerInvariant()).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        var suffixes = routes.Select(r => r.Match.Hostname?.Suffix?.ToLowerInvariant()).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        foreach (var exact in exacts)
            hosts.Add(new GatewayVirtualHost(exact, [exact], [.. routes.Where(r => HostnameMatch.Covers(r.Match.Hostname, new HostnameMatch { Exact = exact }))]));
        foreach (var suffix in suffixes)
            hosts.Add(new GatewayVirtualHost($"*{suffix}", [$"*{suffix}"], [.. routes.Where(r => HostnameMatch.Covers(r.Match.Hostname, new HostnameMatch { Suffix = suffix }))]));
        var anyHost = routes.Where(r => r.Match.Hostname is null).ToList();
        if (anyHost.Count > 0) hosts.Add(new GatewayVirtualHost("*", ["*"], anyHost));
        return hosts;
    }
}
