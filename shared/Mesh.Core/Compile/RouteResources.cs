using System.Text.Json;
using Mesh.Core.Model;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Compile;

internal static class RouteResources
{
    /// <summary>
    /// One virtual host per HTTP backend port, matched on the names clients use: on a backend's main port its own
    /// routes in order, then a default route to the whole backend unless its last route already matches everything;
    /// on a further port everything to that port. Then the mesh's egress: declared external hosts pass through
    /// (DROP_ALL), and every other host passes through (ALLOW_ALL) or gets a 502 (DROP_ALL). Envoy rejects a route
    /// table in which two virtual hosts claim one domain, so that refuses the compile.
    /// </summary>
    public static XdsResource Outbound(EnvoyJson json, IReadOnlyList<BackendPort> httpPorts, EgressSettings egress, ICollection<string> problems)
    {
        var owners = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var hosts = httpPorts.Select(p => (Port: p, Name: p.Main ? p.Backend.Name : $"{p.Backend.Name}:{p.Port.Port}", Domains: Domains(p))).ToList();
        var external = egress.Mode == EgressMode.DropAll
            ? egress.ExternalServices.Where(e => !e.Hosts.IsEmpty).Select(e => (Name: $"external|{e.Name}", Domains: ExternalDomains(e))).ToList()
            : [];
        foreach (var (name, domains) in hosts.Select(h => (h.Name, h.Domains)).Concat(external))
        {
            foreach (var domain in domains)
            {
                if (!owners.TryAdd(domain, name))
                    problems.Add($"domain '{domain}' is claimed by both {owners[domain]} and {name}");
            }
        }
        var targets = httpPorts.SelectMany(p => p.Main
                ? p.Backend.Routes.SelectMany(r => r.Targets.Select(t => Cluster(p.Backend, t.Subset))).Append(p.Cluster)
                : [p.Cluster])
            .Append(ResourceNames.Passthrough)
            .Distinct(StringComparer.Ordinal)
            .Select(name => new ResourceReference(XdsType.Clusters, name));
        return json.Resource(ResourceNames.OutboundRoutes, XdsTypes.RouteUrl, w =>
        {
            w.WriteString("name", ResourceNames.OutboundRoutes);
            w.WriteStartArray("virtual_hosts");
            foreach (var (port, name, domains) in hosts)
            {
                VirtualHost(w, name, domains, () =>
                {
                    var backend = port.Backend;
                    if (!port.Main)
                    {
                        DefaultRoute(w, port);
                        return;
                    }
                    foreach (var route in backend.Routes) Route(w, backend, route);
                    if (backend.Routes.IsEmpty || !MatchesEverything(backend.Routes[^1].Match)) DefaultRoute(w, port);
                });
            }
            foreach (var (name, domains) in external) VirtualHost(w, name, domains, () => PassthroughRoute(w));
            VirtualHost(w, "egress", ["*"], () =>
            {
                if (egress.Mode == EgressMode.AllowAll) PassthroughRoute(w);
                else RefusedRoute(w);
            });
            w.WriteEndArray();
        }, [.. targets]);
    }

    /// <summary>
    /// A gateway listener's route table: a virtual host per hostname its routes name (see <see cref="GatewayRouting"/>),
    /// each route to its target service's port or weighted subsets, with App Mesh's rewrites. Hosts are matched
    /// without their port, so "shop.example.com:443" is "shop.example.com". A request no route matches gets a 404.
    /// </summary>
    public static XdsResource Gateway(EnvoyJson json, GatewayListener listener, IReadOnlyList<GatewayRoute> routes, IReadOnlyDictionary<string, ServiceDefinition> services)
    {
        var name = ResourceNames.Ingress(listener.Port);
        var targets = routes.SelectMany(r => GatewayClusters(r.Target, services[r.Target.Service])
                .Concat(services[r.Target.Service].Routes.SelectMany(sr => sr.Targets.Select(t => Cluster(services[r.Target.Service], t.Subset)))))
            .Distinct(StringComparer.Ordinal)
            .Select(cluster => new ResourceReference(XdsType.Clusters, cluster));
        return json.Resource(name, XdsTypes.RouteUrl, w =>
        {
            w.WriteString("name", name);
            w.WriteBoolean("ignore_port_in_host_matching", true);
            w.WriteStartArray("virtual_hosts");
            foreach (var host in GatewayRouting.VirtualHosts(routes))
            {
                VirtualHost(w, host.Name, host.Domains, () =>
                {
                    foreach (var route in host.Routes) GatewayRoute(w, listener, route, services[route.Target.Service]);
                });
            }
            w.WriteEndArray();
        }, [.. targets]);
    }

    /// <summary>The clusters a gateway target sends to: its port's, or its subsets'.</summary>
    public static IEnumerable<string> GatewayClusters(GatewayTarget target, ServiceDefinition service)
    {
        if (!target.Subsets.IsEmpty) return target.Subsets.Where(s => s.Weight > 0).Select(s => Cluster(service, s.Subset));
        return [target.Port is { } port && port != service.Port ? ResourceNames.OutboundCluster(service.Name, port) : ResourceNames.OutboundCluster(service.Name)];
    }

    /// <summary>
    /// One gateway route; App Mesh's default prefix rewrite of a prefix without a trailing '/' is two Envoy routes, so
    /// "/chapter/1" becomes "/1" (not "//1") and "/chapter" becomes "/". A prefix route to a service's main port that
    /// names no subsets follows that service's own routes, as a sidecar caller does (App Mesh: a gateway route to a
    /// virtual service whose router routes by path or header or splits traffic): each service route is matched against
    /// the path as the gateway rewrites it, which for prefixes and exact paths is a prefix or path of the request
    /// itself, with the gateway route's conditions added; then the whole service. A service with a regex route cannot
    /// be composed that way, so the gateway sends to the whole service.
    /// </summary>
    private static void GatewayRoute(Utf8JsonWriter w, GatewayListener listener, GatewayRoute route, ServiceDefinition service)
    {
        var match = route.Match.ToRouteMatch();
        var rewrite = route.Rewrite;
        var http = listener.Protocol != GatewayProtocol.Grpc;
        var isPrefix = match.Path is null && match.Regex is null && route.Match.GrpcService is null;
        var prefix = match.Prefix ?? "/";
        var port = route.Target.Port is { } number ? service.Ports.First(p => p.Port == number) : service.Ports.First();
        var whole = GatewayClusters(route.Target, service).Zip(route.Target.Subsets.IsEmpty ? [100] : route.Target.Subsets.Where(s => s.Weight > 0).Select(s => s.Weight)).ToList();
        if (!isPrefix)
        {
            // A path or regex match: the whole path may be replaced; nothing is followed.
            var path = http ? rewrite?.Path : null;
            Write(match, whole, match.Path is not null ? path : null, match.Path is null ? path : null, null);
            return;
        }
        // The gateway route's own Envoy routes, each a matched prefix and what it becomes (null: unchanged).
        IReadOnlyList<(string Prefix, string? Becomes)> forms =
            !http ? [(prefix, null)]
            : rewrite?.Prefix is { } value ? [(prefix, value)]
            : rewrite?.DefaultPrefix == false || prefix == "/" ? [(prefix, null)]
            : prefix.EndsWith('/') ? [(prefix, "/")]
            : [(prefix + "/", "/"), (prefix, "/")];
        var follow = route.Target.Subsets.IsEmpty && port.Port == service.Port && !service.Routes.IsEmpty && service.Routes.All(r => r.Match.Regex is null);
        foreach (var (matched, becomes) in forms)
        {
            if (follow && Follow(matched, becomes ?? matched)) continue;
            Write(match with { Prefix = matched }, whole, becomes, null, null);
        }

        // Writes the service's routes as seen through this form; true when the last of them matches every request.
        bool Follow(string matched, string becomes)
        {
            foreach (var serviceRoute in service.Routes)
            {
                var own = serviceRoute.Match;
                if (match.Method is not null && own.Method is not null && match.Method != own.Method) continue;
                RouteMatch combined;
                string? rewritten;
                if (own.Path is { } exact)
                {
                    if (!exact.StartsWith(becomes, StringComparison.Ordinal)) continue;
                    combined = own with { Prefix = null, Path = matched + exact[becomes.Length..] };
                    rewritten = exact;
                }
                else if ((own.Prefix ?? "/") is var servicePrefix && servicePrefix.StartsWith(becomes, StringComparison.Ordinal))
                {
                    combined = own with { Prefix = matched + servicePrefix[becomes.Length..] };
                    rewritten = servicePrefix;
                }
                else if (becomes.StartsWith(servicePrefix, StringComparison.Ordinal))
                {
                    combined = own with { Prefix = matched };
                    rewritten = becomes;
                }
                else
                {
                    continue;
                }
                combined = combined with
                {
                    Method = match.Method ?? own.Method,
                    Headers = [.. match.Headers, .. own.Headers],
                    QueryParameters = [.. match.QueryParameters, .. own.QueryParameters],
                };
                var targets = serviceRoute.Targets.Where(t => t.Weight > 0).Select(t => (Cluster(service, t.Subset), t.Weight)).ToList();
                Write(combined, targets, rewritten == (combined.Path ?? combined.Prefix) ? null : rewritten, null, serviceRoute);
            }
            return MatchesEverything(service.Routes[^1].Match);
        }

        void Write(RouteMatch routeMatch, IReadOnlyList<(string Cluster, int Weight)> clusters, string? newPrefix, string? newPath, RouteRule? serviceRoute)
        {
            w.WriteStartObject();
            w.WriteString("name", serviceRoute is null ? route.Name : $"{route.Name}/{serviceRoute.Name}");
            Match(w, routeMatch);
            w.WriteStartObject("route");
            if (clusters.Count == 1)
            {
                w.WriteString("cluster", clusters[0].Cluster);
            }
            else
            {
                w.WriteStartObject("weighted_clusters");
                w.WriteStartArray("clusters");
                foreach (var (cluster, weight) in clusters)
                {
                    w.WriteStartObject();
                    w.WriteString("name", cluster);
                    w.WriteNumber("weight", weight);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            if (newPrefix is not null) w.WriteString("prefix_rewrite", newPrefix);
            if (newPath is not null)
            {
                w.WriteStartObject("regex_rewrite");
                w.WriteStartObject("pattern");
                w.WriteString("regex", "^.*$");
                w.WriteEndObject();
                w.WriteString("substitution", newPath);
                w.WriteEndObject();
            }
            if (rewrite?.DefaultTargetHostname != false) w.WriteString("host_rewrite_literal", service.Name);
            // The gateway route's own timeouts and retries, else those of the service route it follows.
            Timeouts(w, service.Policy, port.Protocol, route.TimeoutMs ?? serviceRoute?.TimeoutMs, serviceRoute?.MaxStreamDurationMs);
            if ((route.IdleTimeoutMs ?? serviceRoute?.IdleTimeoutMs) is { } idle) w.WriteString("idle_timeout", EnvoyJson.Milliseconds(idle));
            if ((route.Retry ?? serviceRoute?.Retry) is { } retry)
                RetryPolicy(w, string.Join(',', retry.On), retry.AttemptsOrDefault, retry.PerTryTimeoutMs, retry.BackoffBaseMsOrDefault, retry.BackoffMaxMsOrDefault);
            else
                SafeRetryPolicy(w, port.Protocol);
            w.WriteEndObject();
            w.WriteEndObject();
        }
    }

    private static void VirtualHost(Utf8JsonWriter w, string name, IEnumerable<string> domains, Action writeRoutes)
    {
        w.WriteStartObject();
        w.WriteString("name", name);
        w.WriteStartArray("domains");
        foreach (var domain in domains) w.WriteStringValue(domain);
        w.WriteEndArray();
        w.WriteStartArray("routes");
        writeRoutes();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>On to the host the app sent the request to, with no timeout (whatever it is, it may stream).</summary>
    private static void PassthroughRoute(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("name", "passthrough");
        PrefixMatch(w);
        w.WriteStartObject("route");
        w.WriteString("cluster", ResourceNames.Passthrough);
        w.WriteString("timeout", "0s");
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>Egress DROP_ALL: a host that is neither in the mesh nor declared external.</summary>
    private static void RefusedRoute(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("name", "egress-refused");
        PrefixMatch(w);
        w.WriteStartObject("direct_response");
        w.WriteNumber("status", 502);
        w.WriteStartObject("body");
        w.WriteString("inline_string", "egress to this host is not allowed: the mesh's egress is DROP_ALL and the host is neither a mesh service nor a declared external service\n");
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void PrefixMatch(Utf8JsonWriter w)
    {
        w.WriteStartObject("match");
        w.WriteString("prefix", "/");
        w.WriteEndObject();
    }

    /// <summary>The main port answers to the bare names and name:port; a further port only to name:port.</summary>
    private static IReadOnlyList<string> Domains(BackendPort port) =>
        [.. new[] { port.Backend.Name }.Concat(port.Backend.Hostnames)
            .SelectMany(host => port.Main ? new[] { host, $"{host}:{port.Port.Port}" } : [$"{host}:{port.Port.Port}"])
            .Distinct(StringComparer.OrdinalIgnoreCase)];

    private static IReadOnlyList<string> ExternalDomains(ExternalService external) =>
        [.. external.Hosts.SelectMany(host => external.Ports.Select(p => $"{host}:{p}").Prepend(host)).Distinct(StringComparer.OrdinalIgnoreCase)];

    private static bool MatchesEverything(RouteMatch match) =>
        match is { Path: null, Regex: null, Method: null, Headers.IsEmpty: true, QueryParameters.IsEmpty: true } && (match.Prefix ?? "/") == "/";

    internal static string Cluster(ServiceDefinition backend, string? subset) =>
        subset is null ? ResourceNames.OutboundCluster(backend.Name) : ResourceNames.OutboundCluster(backend.Name, subset);

    private static void Route(Utf8JsonWriter w, ServiceDefinition backend, RouteRule route)
    {
        w.WriteStartObject();
        w.WriteString("name", route.Name);
        Match(w, route.Match);
        w.WriteStartObject("route");
        var targets = route.Targets.Where(t => t.Weight > 0).ToList();
        if (targets.Count == 1)
        {
            w.WriteString("cluster", Cluster(backend, targets[0].Subset));
        }
        else
        {
            w.WriteStartObject("weighted_clusters");
            w.WriteStartArray("clusters");
            foreach (var target in targets)
            {
                w.WriteStartObject();
                w.WriteString("name", Cluster(backend, target.Subset));
                w.WriteNumber("weight", target.Weight);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        Timeouts(w, backend.Policy, backend.Protocol, route.TimeoutMs, route.MaxStreamDurationMs);
        if (route.IdleTimeoutMs is { } idle) w.WriteString("idle_timeout", EnvoyJson.Milliseconds(idle));
        if (route.Retry is { } retry)
            RetryPolicy(w, string.Join(',', retry.On), retry.AttemptsOrDefault, retry.PerTryTimeoutMs, retry.BackoffBaseMsOrDefault, retry.BackoffMaxMsOrDefault);
        else
            SafeRetryPolicy(w, backend.Protocol);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <param name="queryParameters">False for gRPC's xDS client, which ignores them (so a route would match more than it says).</param>
    internal static void Match(Utf8JsonWriter w, RouteMatch match, bool queryParameters = true)
    {
        w.WriteStartObject("match");
        if (match.Path is { } path) w.WriteString("path", path);
        else if (match.Regex is { } regex) SafeRegex(w, regex);
        else w.WriteString("prefix", match.Prefix ?? "/");
        if (match.Method is not null || !match.Headers.IsEmpty)
        {
            w.WriteStartArray("headers");
            if (match.Method is { } method)
            {
                w.WriteStartObject();
                w.WriteString("name", ":method");
                StringMatch(w, exact: method, prefix: null, regex: null);
                w.WriteEndObject();
            }
            foreach (var header in match.Headers)
            {
                w.WriteStartObject();
                w.WriteString("name", header.Name);
                if (header.Present is { } present) w.WriteBoolean("present_match", present);
                else StringMatch(w, header.Exact, header.Prefix, header.Regex);
                if (header.Invert) w.WriteBoolean("invert_match", true);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (queryParameters && !match.QueryParameters.IsEmpty)
        {
            w.WriteStartArray("query_parameters");
            foreach (var query in match.QueryParameters)
            {
                w.WriteStartObject();
                w.WriteString("name", query.Name);
                if (query.Present is { } present) w.WriteBoolean("present_match", present);
                else StringMatch(w, query.Exact, prefix: null, query.Regex);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    private static void StringMatch(Utf8JsonWriter w, string? exact, string? prefix, string? regex)
    {
        w.WriteStartObject("string_match");
        if (exact is not null) w.WriteString("exact", exact);
        else if (prefix is not null) w.WriteString("prefix", prefix);
        else if (regex is not null) SafeRegex(w, regex);
        w.WriteEndObject();
    }

    private static void SafeRegex(Utf8JsonWriter w, string regex)
    {
        w.WriteStartObject("safe_regex");
        w.WriteString("regex", regex);
        w.WriteEndObject();
    }

    /// <summary>Everything to the backend's port, retrying only what cannot have reached it (safe for any method).</summary>
    private static void DefaultRoute(Utf8JsonWriter w, BackendPort port)
    {
        w.WriteStartObject();
        w.WriteString("name", "default");
        PrefixMatch(w);
        w.WriteStartObject("route");
        w.WriteString("cluster", port.Cluster);
        Timeouts(w, port.Backend.Policy, port.Port.Protocol, null, null);
        SafeRetryPolicy(w, port.Port.Protocol);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>
    /// A route's timeout (the route's, else the service's default: 15 s for HTTP, none for gRPC, whose streams must be
    /// able to live), and for gRPC the caller's grpc-timeout header as the stream's deadline, capped by a maximum
    /// stream duration when the route or the service sets one.
    /// </summary>
    public static void Timeouts(Utf8JsonWriter w, ServicePolicy policy, ServiceProtocol protocol, int? routeTimeoutMs, int? routeMaxStreamMs)
    {
        w.WriteString("timeout", EnvoyJson.Milliseconds(routeTimeoutMs ?? policy.DefaultTimeoutMs(protocol)));
        var maxStream = routeMaxStreamMs ?? policy.MaxStreamDurationMs;
        if (maxStream is null && protocol != ServiceProtocol.Grpc) return;
        w.WriteStartObject("max_stream_duration");
        if (maxStream is { } max) w.WriteString("max_stream_duration", EnvoyJson.Milliseconds(max));
        if (protocol == ServiceProtocol.Grpc) w.WriteString("grpc_timeout_header_max", EnvoyJson.Milliseconds(maxStream ?? 0));
        w.WriteEndObject();
    }

    private static void SafeRetryPolicy(Utf8JsonWriter w, ServiceProtocol protocol) =>
        RetryPolicy(w, protocol == ServiceProtocol.Grpc ? "connect-failure,refused-stream,unavailable" : "connect-failure,refused-stream", 2, null, 25, 250);

    private static void RetryPolicy(Utf8JsonWriter w, string retryOn, int attempts, int? perTryTimeoutMs, int backoffBaseMs, int backoffMaxMs)
    {
        w.WriteStartObject("retry_policy");
        w.WriteString("retry_on", retryOn);
        w.WriteNumber("num_retries", attempts);
        if (perTryTimeoutMs is { } perTry) w.WriteString("per_try_timeout", EnvoyJson.Milliseconds(perTry));
        w.WriteStartObject("retry_back_off");
        w.WriteString("base_interval", EnvoyJson.Milliseconds(backoffBaseMs));
        w.WriteString("max_interval", EnvoyJson.Milliseconds(backoffMaxMs));
        w.WriteEndObject();
        w.WriteStartArray("retry_host_predicate");
        w.WriteStartObject();
        w.WriteString("name", "envoy.retry_host_predicates.previous_hosts");
        EnvoyJson.TypedConfig(w, EnvoyJson.PreviousHostsType);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteNumber("host_selection_retry_max_attempts", 3);
        w.WriteEndObject();
    }
}
