using System.Text.Json;
using Mesh.Core.Model;

namespace Mesh.Core.Compile;

/// <summary>
/// The fleet of a proxyless gRPC service: its workloads are gRPC applications whose own xDS client (gRPC A27) asks,
/// for a target xds:///checkout-api:8080, for the listener "checkout-api:8080". So each backend port gets a listener
/// of that name holding an api_listener (an HTTP connection manager with the router, its routes over ADS), a route
/// table of the same name (the backend's routes, weighted subsets included), and EDS clusters over ADS whose
/// endpoints sit in weighted localities. Only what gRPC's client reads is written: no query-parameter matches (it
/// ignores them), gRPC status codes as retry conditions, the stream duration as the timeout, round robin.
/// </summary>
public static class ProxylessCompiler
{
    /// <summary>The retry conditions gRPC's client implements (A44); others are left out.</summary>
    private static readonly string[] GrpcRetryOn = ["cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"];

    public static CompileResult Compile(FleetInputs inputs, XdsSettings settings)
    {
        var service = inputs.Service;
        var problems = new List<string>();
        var warnings = new List<string>();
        using var json = new EnvoyJson();
        var clusters = new List<XdsResource>();
        var loadAssignments = new List<XdsResource>();
        var listeners = new List<XdsResource>();
        var routes = new List<XdsResource>();
        foreach (var backend in inputs.Backends.DistinctBy(b => b.Name, StringComparer.Ordinal).OrderBy(b => b.Name, StringComparer.Ordinal))
        {
            if (backend.Definition is not { } definition)
            {
                problems.Add($"backend '{backend.Name}' is not a service of mesh '{service.Mesh}'");
                continue;
            }
            foreach (var port in BackendPort.Of(definition))
            {
                if (port.IsTcp)
                {
                    warnings.Add($"backend '{definition.Name}' port {port.Port.Port} is TCP, which a gRPC client does not call; left out");
                    continue;
                }
                var served = EndpointResources.Select(definition, port.Port, port.Main, backend.Endpoints, warnings);
                Add(port.Cluster, served);
                if (port.Main)
                {
                    foreach (var subset in definition.Subsets.OrderBy(s => s.Name, StringComparer.Ordinal))
                        Add(ResourceNames.OutboundCluster(definition.Name, subset.Name), served.Where(e => e.Version == subset.Version));
                }
                var target = $"{definition.Name}:{port.Port.Port}";
                listeners.Add(ApiListener(json, target, settings));
                routes.Add(RouteTable(json, target, port));
            }
        }
        var snapshot = new FleetSnapshot(service.Fleet,
        [
            new ResourceSet(XdsType.Clusters, clusters),
            new ResourceSet(XdsType.Endpoints, loadAssignments),
            new ResourceSet(XdsType.Listeners, listeners),
            new ResourceSet(XdsType.Routes, routes),
        ]);
        problems.AddRange(FleetCompiler.ConsistencyProblems(snapshot));
        return problems.Count == 0 ? new Compiled(snapshot, warnings) : new Refused(service.Fleet, problems);

        void Add(string name, IEnumerable<ServedEndpoint> endpoints)
        {
            clusters.Add(Cluster(json, name, settings));
            loadAssignments.Add(EndpointResources.LoadAssignment(json, name, endpoints, forGrpc: true));
        }
    }

    private static XdsResource Cluster(EnvoyJson json, string name, XdsSettings settings) =>
        json.Resource(name, XdsTypes.ClusterUrl, w =>
        {
            w.WriteString("name", name);
            w.WriteString("type", "EDS");
            w.WriteStartObject("eds_cluster_config");
            w.WriteString("service_name", name);
            EnvoyJson.AdsConfigSource(w, "eds_config", settings);
            w.WriteEndObject();
            w.WriteString("lb_policy", "ROUND_ROBIN");
        }, [new ResourceReference(XdsType.Endpoints, name)]);

    private static XdsResource ApiListener(EnvoyJson json, string target, XdsSettings settings) =>
        json.Resource(target, XdsTypes.ListenerUrl, w =>
        {
            w.WriteString("name", target);
            // Listener.api_listener is an ApiListener, whose own api_listener field is the Any.
            w.WriteStartObject("api_listener");
            w.WriteStartObject("api_listener");
            w.WriteString("@type", "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager");
            w.WriteString("stat_prefix", target);
            w.WriteStartObject("rds");
            w.WriteString("route_config_name", target);
            EnvoyJson.AdsConfigSource(w, "config_source", settings);
            w.WriteEndObject();
            EnvoyJson.RouterOnly(w);
            w.WriteEndObject();
            w.WriteEndObject();
        }, [new ResourceReference(XdsType.Routes, target)]);

    private static XdsResource RouteTable(EnvoyJson json, string target, BackendPort port)
    {
        var backend = port.Backend;
        var rules = port.Main ? backend.Routes : [];
        var clusters = rules.SelectMany(r => r.Targets.Select(t => RouteResources.Cluster(backend, t.Subset))).Append(port.Cluster).Distinct(StringComparer.Ordinal);
        return json.Resource(target, XdsTypes.RouteUrl, w =>
        {
            w.WriteString("name", target);
            w.WriteStartArray("virtual_hosts");
            w.WriteStartObject();
            w.WriteString("name", target);
            w.WriteStartArray("domains");
            w.WriteStringValue(target);
            if (port.Main) w.WriteStringValue(backend.Name);
            w.WriteEndArray();
            w.WriteStartArray("routes");
            foreach (var rule in rules) Route(w, backend, rule);
            if (rules.IsEmpty || !IsCatchAll(rules[^1].Match)) DefaultRoute(w, port);
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndArray();
        }, [.. clusters.Select(c => new ResourceReference(XdsType.Clusters, c))]);
    }

    private static bool IsCatchAll(RouteMatch match) =>
        match.Path is null && match.Regex is null && (match.Prefix ?? "/") == "/" && match.Method is null && match.Headers.IsEmpty;

    private static void Route(Utf8JsonWriter w, ServiceDefinition backend, RouteRule rule)
    {
        w.WriteStartObject();
        w.WriteString("name", rule.Name);
        RouteResources.Match(w, rule.Match, queryParameters: false);
        w.WriteStartObject("route");
        var targets = rule.Targets.Where(t => t.Weight > 0).ToList();
        if (targets.Count == 1)
        {
            w.WriteString("cluster", RouteResources.Cluster(backend, targets[0].Subset));
        }
        else
        {
            w.WriteStartObject("weighted_clusters");
            w.WriteStartArray("clusters");
            foreach (var target in targets)
            {
                w.WriteStartObject();
                w.WriteString("name", RouteResources.Cluster(backend, target.Subset));
                w.WriteNumber("weight", target.Weight);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        StreamDuration(w, rule.TimeoutMs ?? backend.Policy.RequestTimeoutMs);
        if (rule.Retry is { } retry && retry.On.Intersect(GrpcRetryOn, StringComparer.Ordinal).ToList() is { Count: > 0 } codes)
        {
            w.WriteStartObject("retry_policy");
            w.WriteString("retry_on", string.Join(',', codes));
            // gRPC caps attempts at five, the first included.
            w.WriteNumber("num_retries", Math.Min(retry.AttemptsOrDefault, 4));
            w.WriteStartObject("retry_back_off");
            w.WriteString("base_interval", EnvoyJson.Milliseconds(retry.BackoffBaseMsOrDefault));
            w.WriteString("max_interval", EnvoyJson.Milliseconds(retry.BackoffMaxMsOrDefault));
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void DefaultRoute(Utf8JsonWriter w, BackendPort port)
    {
        w.WriteStartObject();
        w.WriteString("name", "default");
        w.WriteStartObject("match");
        w.WriteString("prefix", "/");
        w.WriteEndObject();
        w.WriteStartObject("route");
        w.WriteString("cluster", port.Cluster);
        StreamDuration(w, port.Backend.Policy.RequestTimeoutMs);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>gRPC's client takes a call's deadline from max_stream_duration (A31), not from the route's timeout.</summary>
    private static void StreamDuration(Utf8JsonWriter w, int? timeoutMs)
    {
        if (timeoutMs is not ({ } ms and > 0)) return;
        w.WriteStartObject("max_stream_duration");
        w.WriteString("max_stream_duration", EnvoyJson.Milliseconds(ms));
        w.WriteEndObject();
    }
}
