using System.Text.Json;
using Mesh.Core.Model;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Compile;

internal static class RouteResources
{
    /// <summary>
    /// One virtual host per HTTP backend, matched on the names clients use: the backend's own routes in order,
    /// then a default route to the whole backend unless its last route already matches everything. Envoy
    /// rejects a route table in which two virtual hosts claim one domain, so that refuses the compile.
    /// </summary>
    public static XdsResource Outbound(EnvoyJson json, IReadOnlyList<ServiceDefinition> httpBackends, XdsSettings settings, ICollection<string> problems)
    {
        var owners = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var hosts = httpBackends.Select(b => (Backend: b, Domains: Domains(b))).ToList();
        foreach (var (backend, domains) in hosts)
        {
            foreach (var domain in domains)
            {
                if (!owners.TryAdd(domain, backend.Name))
                    problems.Add($"domain '{domain}' is claimed by both {owners[domain]} and {backend.Name}");
            }
        }
        var targets = httpBackends.SelectMany(b => b.Routes.SelectMany(r => r.Targets.Select(t => Cluster(b, t.Subset))).Append(ResourceNames.OutboundCluster(b.Name)))
            .Distinct(StringComparer.Ordinal)
            .Select(name => new ResourceReference(XdsType.Clusters, name));
        return json.Resource(ResourceNames.OutboundRoutes, XdsTypes.RouteUrl, w =>
        {
            w.WriteString("name", ResourceNames.OutboundRoutes);
            w.WriteStartArray("virtual_hosts");
            foreach (var (backend, domains) in hosts)
            {
                w.WriteStartObject();
                w.WriteString("name", backend.Name);
                w.WriteStartArray("domains");
                foreach (var domain in domains) w.WriteStringValue(domain);
                w.WriteEndArray();
                w.WriteStartArray("routes");
                foreach (var route in backend.Routes) Route(w, backend, route);
                if (backend.Routes.IsEmpty || !MatchesEverything(backend.Routes[^1].Match)) DefaultRoute(w, backend);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }, [.. targets]);
    }

    private static IReadOnlyList<string> Domains(ServiceDefinition backend) =>
        [.. new[] { backend.Name }.Concat(backend.Hostnames)
            .SelectMany(host => new[] { host, $"{host}:{backend.Port}" })
            .Distinct(StringComparer.OrdinalIgnoreCase)];

    private static bool MatchesEverything(RouteMatch match) =>
        match is { Path: null, Regex: null, Method: null, Headers.IsEmpty: true, QueryParameters.IsEmpty: true } && (match.Prefix ?? "/") == "/";

    private static string Cluster(ServiceDefinition backend, string? subset) =>
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
        Timeouts(w, backend, route.TimeoutMs, route.MaxStreamDurationMs);
        if (route.IdleTimeoutMs is { } idle) w.WriteString("idle_timeout", EnvoyJson.Milliseconds(idle));
        if (route.Retry is { } retry)
            RetryPolicy(w, string.Join(',', retry.On), retry.AttemptsOrDefault, retry.PerTryTimeoutMs, retry.BackoffBaseMsOrDefault, retry.BackoffMaxMsOrDefault);
        else
            SafeRetryPolicy(w, backend);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Match(Utf8JsonWriter w, RouteMatch match)
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
        if (!match.QueryParameters.IsEmpty)
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

    /// <summary>Everything to the backend, retrying only what cannot have reached it (safe for any method).</summary>
    private static void DefaultRoute(Utf8JsonWriter w, ServiceDefinition backend)
    {
        w.WriteStartObject();
        w.WriteString("name", "default");
        w.WriteStartObject("match");
        w.WriteString("prefix", "/");
        w.WriteEndObject();
        w.WriteStartObject("route");
        w.WriteString("cluster", ResourceNames.OutboundCluster(backend.Name));
        Timeouts(w, backend, null, null);
        SafeRetryPolicy(w, backend);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>
    /// A route's timeout (the route's, else the service's default: 15 s for HTTP, none for gRPC, whose streams must be
    /// able to live), and for gRPC the caller's grpc-timeout header as the stream's deadline, capped by a maximum
    /// stream duration when the route or the service sets one.
    /// </summary>
    public static void Timeouts(Utf8JsonWriter w, ServiceDefinition service, int? routeTimeoutMs, int? routeMaxStreamMs)
    {
        w.WriteString("timeout", EnvoyJson.Milliseconds(routeTimeoutMs ?? service.Policy.DefaultTimeoutMs(service.Protocol)));
        var maxStream = routeMaxStreamMs ?? service.Policy.MaxStreamDurationMs;
        if (maxStream is null && service.Protocol != ServiceProtocol.Grpc) return;
        w.WriteStartObject("max_stream_duration");
        if (maxStream is { } max) w.WriteString("max_stream_duration", EnvoyJson.Milliseconds(max));
        if (service.Protocol == ServiceProtocol.Grpc) w.WriteString("grpc_timeout_header_max", EnvoyJson.Milliseconds(maxStream ?? 0));
        w.WriteEndObject();
    }

    private static void SafeRetryPolicy(Utf8JsonWriter w, ServiceDefinition backend) =>
        RetryPolicy(w, backend.Protocol == ServiceProtocol.Grpc ? "connect-failure,refused-stream,unavailable" : "connect-failure,refused-stream", 2, null, 25, 250);

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
