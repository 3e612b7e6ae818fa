using System.Net;
using Mesh.Core.Model;

namespace Mesh.Core.Compile;

/// <summary>What a chain of the outbound listener does with a connection: HTTP routing by Host, or TCP to a cluster.</summary>
internal enum ChainAction { Http, Tcp }

/// <summary>
/// One filter chain of the outbound listener. Envoy narrows the chains stage by stage (port, then destination
/// address, then server name, then transport protocol) and never backtracks, so a chain is only as good as the
/// chains that share its earlier stages.
/// </summary>
internal sealed record OutboundChain(int? Port, IReadOnlyList<IPNetwork> Ranges, IReadOnlyList<string> ServerNames, string? TransportProtocol, ChainAction Action, string? Cluster)
{
    public string Key => $"{Port}|{string.Join(',', Ranges)}|{string.Join(',', ServerNames)}|{TransportProtocol}";
}

/// <summary>
/// The chains of the outbound listener, which receives every connection the app opens (interception redirects them
/// to it) and tells them apart by their original destination: mesh HTTP by port, then by Host in the routes; mesh
/// TCP by port; declared external ranges by address; TLS to declared external hosts by SNI; everything else by the
/// default chain, which passes through (ALLOW_ALL) or refuses (DROP_ALL).
/// </summary>
internal static class OutboundChains
{
    /// <summary>Where, under DROP_ALL, apps may still reach AWS's APIs (App Mesh allowed them too).</summary>
    public const string AwsApis = "*.amazonaws.com";
    public const int TlsPort = 443;

    public static IReadOnlyList<OutboundChain> Plan(IReadOnlyList<BackendPort> backendPorts, EgressSettings egress, XdsSettings settings)
    {
        var dropAll = egress.Mode == EgressMode.DropAll;
        var tcpPorts = backendPorts.Where(p => p.IsTcp).DistinctBy(p => p.Port.Port).ToList();
        var tcpPortNumbers = tcpPorts.Select(p => p.Port.Port).ToHashSet();
        var externalHostPorts = dropAll ? egress.ExternalServices.Where(e => !e.Hosts.IsEmpty).SelectMany(e => e.Ports) : [];
        // A declared host on a mesh TCP port is told only by its SNI: plaintext there is the TCP backend's.
        var httpPorts = backendPorts.Where(p => !p.IsTcp).Select(p => p.Port.Port).Concat(externalHostPorts)
            .Where(p => !tcpPortNumbers.Contains(p)).Distinct().Order().ToList();

        var chains = new List<OutboundChain>
        {
            // A connection dialled to the listener itself (no interception, or an app using it as its proxy) is routed
            // by Host like intercepted HTTP; passing it through would connect Envoy to itself.
            new(settings.OutboundPort, [], [], null, ChainAction.Http, null),
        };
        chains.AddRange(httpPorts.Select(port => new OutboundChain(port, [], [], "raw_buffer", ChainAction.Http, null)));
        chains.AddRange(tcpPorts.Select(p => new OutboundChain(p.Port.Port, [], [], null, ChainAction.Tcp, p.Cluster)));
        if (dropAll)
        {
            var sni = egress.ExternalServices
                .SelectMany(e => e.Ports.SelectMany(port => e.Hosts.Select(host => (port, host))))
                .Append((port: TlsPort, host: AwsApis))
                .GroupBy(x => x.port)
                .OrderBy(g => g.Key);
            chains.AddRange(sni.Select(g => new OutboundChain(g.Key, [], [.. g.Select(x => x.host).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal)],
                "tls", ChainAction.Tcp, ResourceNames.Passthrough)));
        }
        chains.AddRange(RangeChains(egress, chains.Select(c => c.Port).OfType<int>().Where(p => p != settings.OutboundPort).ToHashSet()));
        return chains;
    }

    /// <summary>
    /// Declared external ranges pass through in either mode: under ALLOW_ALL they keep a non-mesh address off a mesh
    /// port's chain. A range declared without ports is repeated on every port another chain claims, since a
    /// connection on such a port never reaches a chain without one.
    /// </summary>
    private static IEnumerable<OutboundChain> RangeChains(EgressSettings egress, IReadOnlySet<int> claimedPorts)
    {
        var byPort = new SortedDictionary<int, SortedSet<IPNetwork>>();
        var anyPort = new SortedSet<IPNetwork>(NetworkOrder.Instance);
        foreach (var external in egress.ExternalServices)
        {
            var ranges = external.Cidrs.Select(c => IPNetwork.TryParse(c, out var n) ? n : (IPNetwork?)null).OfType<IPNetwork>().ToList();
            if (ranges.Count == 0) continue;
            if (external.Ports.IsEmpty) anyPort.UnionWith(ranges);
            foreach (var port in external.Ports) Ranges(port).UnionWith(ranges);
        }
        if (anyPort.Count > 0)
        {
            foreach (var port in claimedPorts) Ranges(port).UnionWith(anyPort);
            yield return new OutboundChain(null, [.. anyPort], [], null, ChainAction.Tcp, ResourceNames.Passthrough);
        }
        foreach (var (port, ranges) in byPort) yield return new OutboundChain(port, [.. ranges], [], null, ChainAction.Tcp, ResourceNames.Passthrough);

        SortedSet<IPNetwork> Ranges(int port) => byPort.TryGetValue(port, out var set) ? set : byPort[port] = new SortedSet<IPNetwork>(NetworkOrder.Instance);
    }

    /// <summary>The ports on which the TLS inspector must read the first bytes: those whose chains tell TLS by its SNI or from plaintext.</summary>
    public static IReadOnlyList<int> InspectedPorts(IEnumerable<OutboundChain> chains) =>
        [.. chains.Where(c => c.TransportProtocol is not null && c.Port is not null).Select(c => c.Port!.Value).Distinct().Order()];

    private sealed class NetworkOrder : IComparer<IPNetwork>
    {
        public static readonly NetworkOrder Instance = new();

        public int Compare(IPNetwork x, IPNetwork y) => string.CompareOrdinal(x.ToString(), y.ToString());
    }
}
