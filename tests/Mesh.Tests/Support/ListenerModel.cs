using System.Net;
using System.Text.Json.Nodes;

namespace Mesh.Tests.Support;

/// <summary>A connection as a listener sees it: where the app sent it, and what its first bytes say (TLS and SNI, or an HTTP Host).</summary>
public sealed record Connection(string Address, int Port, bool Tls = false, string? Sni = null, string? Host = null);

/// <summary>
/// Where Envoy sends a connection, worked out the way Envoy's filter chain manager does it (the stages of
/// listener_components.proto in order: destination port, destination address by longest prefix, server name
/// exact then longest wildcard, transport protocol), narrowing stage by stage and never backtracking: a stage that
/// finds a more specific bucket never falls back to a less specific one. No chain: the default chain. What the chain
/// does is followed through: tcp_proxy to its cluster, or the HTTP connection manager to the virtual host the Host
/// header picks and its first route.
/// </summary>
public sealed class ListenerModel(JsonNode listener, JsonNode? routes)
{
    /// <summary>"cluster:NAME", "direct_response:STATUS", or "none" when no chain takes the connection.</summary>
    public string Route(Connection connection)
    {
        var filters = listener["listener_filters"]?.AsArray().Select(f => f!) ?? [];
        var restores = filters.Any(f => (string?)f["name"] == "envoy.filters.listener.original_dst");
        var listenerPort = (int)listener["address"]!["socket_address"]!["port_value"]!;
        // Without original_dst Envoy sees the address the interception rewrote: the listener's own.
        var (address, port) = restores ? (IPAddress.Parse(connection.Address), connection.Port) : (IPAddress.Loopback, listenerPort);
        var inspector = filters.FirstOrDefault(f => (string?)f["name"] == "envoy.filters.listener.tls_inspector");
        var inspected = inspector is not null && !Disabled(inspector["filter_disabled"], port);
        var transport = inspected && connection.Tls ? "tls" : "raw_buffer";
        var sni = inspected && connection.Tls ? connection.Sni : null;

        var chains = listener["filter_chains"]?.AsArray().Select(c => c!).ToList() ?? [];
        chains = Narrow(chains, c => c["filter_chain_match"]?["destination_port"] is { } p ? ((int)p == port ? 1 : null) : 0);
        chains = Narrow(chains, c => c["filter_chain_match"]?["prefix_ranges"]?.AsArray() is { Count: > 0 } ranges
            ? ranges.Select(r => Contains(r!, address)).Max()
            : 0);
        chains = Narrow(chains, c => c["filter_chain_match"]?["server_names"]?.AsArray() is { Count: > 0 } names
            ? names.Select(n => ServerNameScore((string)n!, sni)).Max()
            : 0);
        chains = Narrow(chains, c => c["filter_chain_match"]?["transport_protocol"] is { } t ? ((string?)t == transport ? 1 : null) : 0);
        if (chains.Count > 1) throw new InvalidOperationException($"{chains.Count} chains match {connection}: Envoy refuses such a listener");
        var chain = chains.SingleOrDefault() ?? listener["default_filter_chain"];
        if (chain is null) return "none";
        var filter = chain["filters"]!.AsArray().Last()!;
        var config = filter["typed_config"]!;
        if ((string?)filter["name"] == "envoy.filters.network.tcp_proxy") return $"cluster:{config["cluster"]}";
        return HttpRoute(config["route_config"] ?? routes!, connection.Host ?? connection.Address);
    }

    /// <summary>Whether the TLS inspector reads the first bytes of connections to <paramref name="port"/>.</summary>
    public bool Inspects(int port) =>
        listener["listener_filters"]?.AsArray().FirstOrDefault(f => (string?)f!["name"] == "envoy.filters.listener.tls_inspector") is { } inspector
        && !Disabled(inspector["filter_disabled"], port);

    private static string HttpRoute(JsonNode routeConfig, string host)
    {
        var hosts = routeConfig["virtual_hosts"]!.AsArray().Select(v => v!).ToList();
        var vhost = hosts.FirstOrDefault(v => v["domains"]!.AsArray().Any(d => string.Equals((string?)d, host, StringComparison.OrdinalIgnoreCase)))
            ?? hosts.Where(v => v["domains"]!.AsArray().Any(d => ((string)d!).StartsWith("*.", StringComparison.Ordinal) && host.EndsWith(((string)d!)[1..], StringComparison.OrdinalIgnoreCase)))
                .MaxBy(v => v["domains"]!.AsArray().Max(d => ((string)d!).Length))
            ?? hosts.FirstOrDefault(v => v["domains"]!.AsArray().Any(d => (string?)d == "*"));
        if (vhost is null) return "direct_response:404";
        var route = vhost["routes"]!.AsArray().Last()!;
        return route["direct_response"] is { } direct ? $"direct_response:{direct["status"]}" : $"cluster:{route["route"]!["cluster"]}";
    }

    private static List<JsonNode> Narrow(List<JsonNode> chains, Func<JsonNode, int?> score)
    {
        var scored = chains.Select(c => (Chain: c, Score: score(c))).Where(x => x.Score is not null).ToList();
        if (scored.Count == 0) return [];
        var best = scored.Max(x => x.Score);
        return [.. scored.Where(x => x.Score == best).Select(x => x.Chain)];
    }

    private static int? Contains(JsonNode range, IPAddress address)
    {
        var network = new IPNetwork(IPAddress.Parse((string)range["address_prefix"]!), (int)range["prefix_len"]!);
        return network.Contains(address) ? network.PrefixLength + 1 : null;
    }

    private static int? ServerNameScore(string name, string? sni)
    {
        if (sni is null) return null;
        if (string.Equals(name, sni, StringComparison.OrdinalIgnoreCase)) return 10_000;
        return name.StartsWith("*.", StringComparison.Ordinal) && sni.EndsWith(name[1..], StringComparison.OrdinalIgnoreCase) ? name.Length : null;
    }

    /// <summary>Evaluates a ListenerFilterChainMatchPredicate on the destination port.</summary>
    private static bool Disabled(JsonNode? predicate, int port) => predicate switch
    {
        null => false,
        _ when predicate["not_match"] is { } inner => !Disabled(inner, port),
        _ when predicate["or_match"] is { } or => or["rules"]!.AsArray().Any(r => Disabled(r, port)),
        _ when predicate["and_match"] is { } and => and["rules"]!.AsArray().All(r => Disabled(r, port)),
        _ when predicate["destination_port_range"] is { } range => port >= (int)range["start"]! && port < (int)range["end"]!,
        _ when predicate["any_match"] is not null => true,
        _ => throw new NotSupportedException(predicate.ToJsonString()),
    };
}
