using System.Collections.Immutable;
using System.Text.Json;
using System.Text.RegularExpressions;
using Mesh.Core.Model;

namespace Mesh.Cli.AppMesh;

/// <summary>What an import made: the mesh document and the migration report's lines, by section.</summary>
public sealed record ImportResult(MeshSpec Spec, IReadOnlyList<string> Became, IReadOnlyList<string> Explicit, IReadOnlyList<string> Unsupported, IReadOnlyList<string> Sidecars);

/// <summary>
/// Reads what `aws appmesh describe-*` returns for one mesh (each file one resource: {"mesh": ...},
/// {"virtualNode": ...}, {"virtualService": ...}, {"virtualRouter": ...}, {"route": ...}, {"virtualGateway": ...},
/// {"gatewayRoute": ...}; or one file holding a list of them) and translates it: a virtual node becomes a service
/// (its listeners its ports, its backends' virtual services its backends); a virtual service becomes its provider's
/// hostname; a router whose routes all go to one node gives that node its routes, and one that splits traffic over
/// several nodes becomes a service with a subset per node; a virtual gateway with its gateway routes becomes a gateway.
/// What App Mesh left implicit is made explicit and said so.
/// </summary>
public static partial class AppMeshImporter
{
    /// <summary>App Mesh's default per-request timeout for HTTP routes and listeners.</summary>
    public const int AppMeshDefaultTimeoutMs = 15_000;

    public static IReadOnlyList<JsonElement> ReadResources(string path)
    {
        IEnumerable<string> files = Directory.Exists(path) ? Directory.EnumerateFiles(path, "*.json").Order(StringComparer.Ordinal) : [path];
        var resources = new List<JsonElement>();
        foreach (var file in files)
        {
            var root = JsonDocument.Parse(File.ReadAllText(file)).RootElement.Clone();
            resources.AddRange(root.ValueKind == JsonValueKind.Array ? root.EnumerateArray() : [root]);
        }
        return resources;
    }

    public static ImportResult Import(IReadOnlyList<JsonElement> resources)
    {
        var became = new List<string>();
        var made = new List<string>();
        var unsupported = new List<string>();
        var sidecars = new List<string>();
        JsonElement? Single(string kind) => resources.Where(r => r.TryGetProperty(kind, out _)).Select(r => r.GetProperty(kind)).Cast<JsonElement?>().FirstOrDefault();
        IEnumerable<JsonElement> All(string kind) => resources.Where(r => r.TryGetProperty(kind, out _)).Select(r => r.GetProperty(kind));

        var meshResource = Single("mesh") ?? throw new InvalidDataException("no mesh among the resources: export it with aws appmesh describe-mesh");
        var meshName = Label(meshResource.GetProperty("meshName").GetString()!);
        var egress = meshResource.TryGetProperty("spec", out var meshSpec) && meshSpec.TryGetProperty("egressFilter", out var filter)
            && filter.GetProperty("type").GetString() == "ALLOW_ALL" ? EgressMode.AllowAll : EgressMode.DropAll;
        became.Add($"mesh {meshResource.GetProperty("meshName").GetString()} → mesh {meshName}, egress {(egress == EgressMode.AllowAll ? "ALLOW_ALL" : "DROP_ALL")}");
        if (egress == EgressMode.DropAll) made.Add("egress DROP_ALL (App Mesh's default when egressFilter is unset) still lets TLS to *.amazonaws.com on 443 through, as App Mesh did");

        var nodes = All("virtualNode").ToDictionary(n => n.GetProperty("virtualNodeName").GetString()!, StringComparer.Ordinal);
        var routers = All("virtualRouter").ToDictionary(r => r.GetProperty("virtualRouterName").GetString()!, StringComparer.Ordinal);
        var routesByRouter = All("route").GroupBy(r => r.GetProperty("virtualRouterName").GetString()!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(Priority).ThenBy(r => r.GetProperty("routeName").GetString(), StringComparer.Ordinal).ToList(), StringComparer.Ordinal);
        var services = new SortedDictionary<string, StoredService>(StringComparer.Ordinal);
        foreach (var (name, node) in nodes) services[Label(name)] = Node(name, node, meshName, became, made, unsupported);

        // A virtual service names its provider: a node, or a router over nodes.
        var providers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var virtualService in All("virtualService"))
        {
            var vsName = virtualService.GetProperty("virtualServiceName").GetString()!;
            var provider = virtualService.GetProperty("spec").TryGetProperty("provider", out var p) ? p : default;
            if (provider.ValueKind == JsonValueKind.Object && provider.TryGetProperty("virtualNode", out var viaNode))
            {
                var target = Label(viaNode.GetProperty("virtualNodeName").GetString()!);
                providers[vsName] = target;
                services[target] = WithHostname(services[target], vsName);
                became.Add($"virtual service {vsName} → hostname of service {target}");
            }
            else if (provider.ValueKind == JsonValueKind.Object && provider.TryGetProperty("virtualRouter", out var viaRouter))
            {
                var routerName = viaRouter.GetProperty("virtualRouterName").GetString()!;
                var target = Router(routerName, routers.GetValueOrDefault(routerName), routesByRouter.GetValueOrDefault(routerName) ?? [], meshName, services, became, made, unsupported);
                if (target is null) continue;
                providers[vsName] = target;
                services[target] = WithHostname(services[target], vsName);
                became.Add($"virtual service {vsName} → hostname of service {target}");
            }
            else
            {
                unsupported.Add($"virtual service {vsName}: no provider; callers of it have no backend");
            }
        }

        // Backends by virtual service name become backends by service.
        foreach (var (name, node) in nodes)
        {
            var service = services[Label(name)];
            var backends = new List<string>();
            foreach (var backend in node.GetProperty("spec").TryGetProperty("backends", out var list) ? list.EnumerateArray() : [])
            {
                var vsName = backend.GetProperty("virtualService").GetProperty("virtualServiceName").GetString()!;
                if (providers.TryGetValue(vsName, out var provider)) backends.Add(provider);
                else unsupported.Add($"virtual node {name} backends: {vsName} is not a virtual service of this mesh (an external service?); declare it under settings.egress.externalServices");
            }
            services[Label(name)] = service with { Service = service.Service with { Backends = [.. backends.Distinct(StringComparer.Ordinal)] } };
            sidecars.Add($"APPMESH_RESOURCE_ARN {node.GetProperty("metadata").GetProperty("arn").GetString()} → node.cluster {meshName}/{Label(name)} (GET /v1/meshes/{meshName}/fleets/{Label(name)}/sidecar gives the task-definition or pod pieces)");
        }
        var gatewayRoutes = All("gatewayRoute").GroupBy(r => r.GetProperty("virtualGatewayName").GetString()!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(Priority).ThenBy(r => r.GetProperty("gatewayRouteName").GetString(), StringComparer.Ordinal).ToList(), StringComparer.Ordinal);
        var gateways = new List<GatewayDefinition>();
        foreach (var virtualGateway in All("virtualGateway"))
        {
            var name = virtualGateway.GetProperty("virtualGatewayName").GetString()!;
            var label = services.ContainsKey(Label(name)) ? $"{Label(name)[..Math.Min(58, Label(name).Length)]}-gw" : Label(name);
            if (label != Label(name)) made.Add($"virtual gateway {name}: a virtual node has its name, and gateways and services share one namespace of fleets; it became gateway {label}");
            var gateway = Gateway(name, label, virtualGateway, gatewayRoutes.GetValueOrDefault(name) ?? [], providers, services, became, made, unsupported);
            gateways.Add(gateway with { Mesh = meshName });
            sidecars.Add($"APPMESH_RESOURCE_ARN {virtualGateway.GetProperty("metadata").GetProperty("arn").GetString()} → node.cluster {meshName}/{label} (GET /v1/meshes/{meshName}/fleets/{label}/sidecar?platform=ecs gives its Envoy container; gateway.yaml runs it behind an NLB)");
        }
        foreach (var orphan in gatewayRoutes.Keys.Where(g => !All("virtualGateway").Any(v => v.GetProperty("virtualGatewayName").GetString() == g)))
            unsupported.Add($"gateway routes of {orphan}: no virtual gateway {orphan} among the resources; export it with aws appmesh describe-virtual-gateway");

        var spec = new MeshSpec
        {
            Mesh = meshName, Settings = new MeshSettings { Egress = new EgressSettings { Mode = egress } }, Services = [.. services.Values], Gateways = [.. gateways],
        };
        return new ImportResult(spec, became, made, unsupported, sidecars);
    }

    private static readonly string[] GatewayRouteKinds = ["httpRoute", "http2Route", "grpcRoute"];

    /// <summary>A virtual gateway: its listeners (TLS from files, client validation, connection limits) and its gateway routes in priority order.</summary>
    private static GatewayDefinition Gateway(string name, string label, JsonElement gateway, List<JsonElement> routes, Dictionary<string, string> providers,
        SortedDictionary<string, StoredService> services, List<string> became, List<string> made, List<string> unsupported)
    {
        var spec = gateway.GetProperty("spec");
        var listeners = new List<GatewayListener>();
        foreach (var listener in spec.TryGetProperty("listeners", out var l) ? l.EnumerateArray() : [])
        {
            var mapping = listener.GetProperty("portMapping");
            var port = mapping.GetProperty("port").GetInt32();
            var protocol = mapping.GetProperty("protocol").GetString() switch { "http2" => GatewayProtocol.Http2, "grpc" => GatewayProtocol.Grpc, _ => GatewayProtocol.Http };
            if (port is < 1024) made.Add($"virtual gateway {name} listener {port}: Envoy runs as user 1337 here; a port below 1024 needs NET_BIND_SERVICE, or listen above 1024 behind the load balancer's {port}");
            var gatewayListener = new GatewayListener { Port = port, Protocol = protocol, Tls = ListenerTls(name, port, listener, made, unsupported) };
            if (listener.TryGetProperty("connectionPool", out var pool) && pool.EnumerateObject().FirstOrDefault().Value is { ValueKind: JsonValueKind.Object } limits)
            {
                gatewayListener = gatewayListener with { Limits = new ListenerLimits { MaxConnections = Int(limits, "maxConnections"), MaxConcurrentStreams = protocol == GatewayProtocol.Http ? null : Int(limits, "maxRequests") } };
                made.Add($"virtual gateway {name} listener {port}: its connection pool became listener limits (maxConnections: open client connections; maxRequests: concurrent streams per HTTP/2 connection)");
            }
            listeners.Add(gatewayListener);
        }
        var logged = spec.TryGetProperty("logging", out var logging) && logging.TryGetProperty("accessLog", out _);
        if (logged) made.Add($"virtual gateway {name}: its access log became the gateway's TEXT access log on stdout, where the ECS and EKS log drivers collect it");

        var imported = new List<GatewayRoute>();
        foreach (var route in routes)
        {
            var routeName = route.GetProperty("gatewayRouteName").GetString()!;
            if (GatewayRouteOf(routeName, route, listeners, providers, services, made, unsupported) is not { } rule) continue;
            if (imported.FirstOrDefault(earlier => Mesh.Core.Editing.RouteShadowing.Covers(earlier, rule)) is { } shadowing)
            {
                unsupported.Add($"gateway route {routeName}: gateway route {shadowing.Name} comes first (by priority) and matches every request it would; it never matched in App Mesh either, and is left out");
                continue;
            }
            imported.Add(rule);
        }
        if (routes.Count > 1) made.Add($"virtual gateway {name}: gateway routes ordered by priority (lowest first), then by name, as App Mesh matched them");
        became.Add($"virtual gateway {name} ({listeners.Count} listener(s), {imported.Count} gateway route(s)) → gateway {label}");
        return new GatewayDefinition
        {
            Name = label,
            Listeners = [.. listeners],
            Routes = [.. imported],
            Observability = logged ? new ObservabilityOverride { AccessLog = AccessLogFormat.Text } : null,
        };
    }

    private static GatewayTls? ListenerTls(string gateway, int port, JsonElement listener, List<string> made, List<string> unsupported)
    {
        if (!listener.TryGetProperty("tls", out var tls) || tls.GetProperty("mode").GetString() == "DISABLED") return null;
        var where = $"virtual gateway {gateway} listener {port}";
        var certificate = tls.GetProperty("certificate");
        GatewayTls imported;
        if (certificate.TryGetProperty("file", out var file))
        {
            imported = new GatewayTls { CertificateChain = file.GetProperty("certificateChain").GetString()!, PrivateKey = file.GetProperty("privateKey").GetString()! };
        }
        else
        {
            // ACM and SDS certificates cannot be handed over as files: the listener keeps TLS, with files to put in place.
            imported = new GatewayTls { CertificateChain = $"/etc/gateway/tls/{port}/cert.pem", PrivateKey = $"/etc/gateway/tls/{port}/key.pem" };
            unsupported.Add($"{where} tls.certificate.{certificate.EnumerateObject().First().Name}: Envoy reads the certificate from files; put it (e.g. exported from ACM, or issued by ACM Private CA) at {imported.CertificateChain} and {imported.PrivateKey}");
        }
        if (tls.GetProperty("mode").GetString() == "PERMISSIVE")
            made.Add($"{where}: TLS PERMISSIVE (TLS and plaintext on one port) became TLS only; add a plaintext listener on another port for clients that need it");
        if (tls.TryGetProperty("validation", out var validation))
        {
            var trust = validation.GetProperty("trust");
            var names = validation.TryGetProperty("subjectAlternativeNames", out var sans) ? sans.GetProperty("match").GetProperty("exact").EnumerateArray().Select(n => n.GetString()!).ToList() : [];
            var ca = trust.TryGetProperty("file", out var caFile) ? caFile.GetProperty("certificateChain").GetString()! : $"/etc/gateway/tls/{port}/clients-ca.pem";
            if (!trust.TryGetProperty("file", out _))
                unsupported.Add($"{where} tls.validation.trust.{trust.EnumerateObject().First().Name}: the clients' CA is read from a file; put it at {ca}");
            imported = imported with { ClientValidation = new ClientValidation { TrustedCa = ca, SubjectAltNames = [.. names] } };
            made.Add($"{where}: clients must present a certificate from {ca}{(names.Count > 0 ? $" naming one of {string.Join(", ", names)}" : "")}");
        }
        return imported;
    }

    private static GatewayRoute? GatewayRouteOf(string name, JsonElement route, List<GatewayListener> listeners, Dictionary<string, string> providers,
        SortedDictionary<string, StoredService> services, List<string> made, List<string> unsupported)
    {
        var spec = route.GetProperty("spec");
        var (kind, body) = GatewayRouteKinds.Where(k => spec.TryGetProperty(k, out _)).Select(k => (k, spec.GetProperty(k))).FirstOrDefault();
        if (kind is null)
        {
            unsupported.Add($"gateway route {name}: no httpRoute, http2Route or grpcRoute");
            return null;
        }
        var action = body.GetProperty("action");
        var virtualService = action.GetProperty("target").GetProperty("virtualService").GetProperty("virtualServiceName").GetString()!;
        if (!providers.TryGetValue(virtualService, out var service))
        {
            unsupported.Add($"gateway route {name}: its target {virtualService} is not a virtual service with a provider in this mesh");
            return null;
        }
        var match = new GatewayRouteMatch();
        if (body.TryGetProperty("match", out var m))
        {
            if (m.TryGetProperty("hostname", out var host))
                match = match with { Hostname = new HostnameMatch { Exact = host.TryGetProperty("exact", out var exact) ? exact.GetString() : null, Suffix = host.TryGetProperty("suffix", out var suffix) ? suffix.GetString() : null } };
            if (m.TryGetProperty("port", out var port)) match = match with { Port = port.GetInt32() };
            if (kind == "grpcRoute")
            {
                if (m.TryGetProperty("serviceName", out var grpc)) match = match with { GrpcService = grpc.GetString() };
                if (m.TryGetProperty("metadata", out var metadata)) match = match with { Headers = [.. metadata.EnumerateArray().Select(Header)] };
            }
            else
            {
                var http = HttpMatch(m);
                match = match with { Prefix = http.Prefix, Path = http.Path, Regex = http.Regex, Method = http.Method, Headers = http.Headers, QueryParameters = http.QueryParameters };
            }
        }
        // App Mesh applies a route of one kind to the listeners of that protocol: with several listeners, say which.
        var protocol = kind switch { "http2Route" => GatewayProtocol.Http2, "grpcRoute" => GatewayProtocol.Grpc, _ => GatewayProtocol.Http };
        if (match.Port is null && listeners.Count > 1 && listeners.Count(l => l.Protocol == protocol) == 1)
            match = match with { Port = listeners.Single(l => l.Protocol == protocol).Port };

        GatewayRewrite? rewrite = null;
        if (action.TryGetProperty("rewrite", out var r))
        {
            rewrite = new GatewayRewrite();
            if (r.TryGetProperty("prefix", out var prefixRewrite))
            {
                if (prefixRewrite.TryGetProperty("value", out var value)) rewrite = rewrite with { Prefix = value.GetString() };
                else if (prefixRewrite.TryGetProperty("defaultPrefix", out var defaultPrefix)) rewrite = rewrite with { DefaultPrefix = defaultPrefix.GetString() == "ENABLED" };
            }
            if (r.TryGetProperty("path", out var pathRewrite)) rewrite = rewrite with { Path = pathRewrite.GetProperty("exact").GetString() };
            if (r.TryGetProperty("hostname", out var hostRewrite)) rewrite = rewrite with { DefaultTargetHostname = hostRewrite.GetProperty("defaultTargetHostname").GetString() == "ENABLED" };
        }
        if (kind != "grpcRoute" && rewrite?.Prefix is null && rewrite?.DefaultPrefix is null && (match.Prefix ?? "/") != "/" && match.Path is null && match.Regex is null)
            made.Add($"gateway route {name}: App Mesh's default rewrite of the matched prefix {match.Prefix} to / applies (/{match.Prefix!.Trim('/')}/1 reaches {service} as /1); set rewrite.defaultPrefix false to keep it");
        var target = new GatewayTarget { Service = service, Port = action.GetProperty("target").TryGetProperty("port", out var targetPort) ? targetPort.GetInt32() : null };
        if (!services[service].Routes.IsEmpty)
            made.Add(services[service].Routes.Any(r => r.Match.Regex is not null)
                ? $"gateway route {name}: {service} has a regex route, which cannot be matched through the gateway's rewrite: the gateway sends to all of {service}; name subsets on the gateway route for a split"
                : $"gateway route {name}: {service}'s routes (its virtual router's) apply to what the gateway sends, matched against the rewritten path, as App Mesh routed them");
        return new GatewayRoute { Name = Label(name), Match = match, Target = target, Rewrite = rewrite };
    }

    private static StoredService Node(string name, JsonElement node, string mesh, List<string> became, List<string> made, List<string> unsupported)
    {
        var spec = node.GetProperty("spec");
        var listeners = spec.TryGetProperty("listeners", out var l) ? l.EnumerateArray().ToList() : [];
        if (listeners.Count == 0) made.Add($"virtual node {name} has no listener: it only calls others; its service gets port 8080, which nothing calls");
        var ports = listeners.Select(x => (Port: x.GetProperty("portMapping").GetProperty("port").GetInt32(), Protocol: Protocol(x.GetProperty("portMapping").GetProperty("protocol").GetString()!))).ToList();
        // Envoy's admin and the interception's ports belong to the sidecar; App Mesh let a listener declare them.
        foreach (var reserved in ports.Skip(1).Where(p => p.Port is 9901 or 15000 or 15001).ToList())
        {
            ports.Remove(reserved);
            unsupported.Add($"virtual node {name} listener on port {reserved.Port}: a port the sidecar holds (admin 9901, 15000, 15001); not imported");
        }
        var main = listeners.FirstOrDefault();
        var policy = new ServicePolicy();
        HealthCheck? check = null;
        if (main.ValueKind == JsonValueKind.Object)
        {
            policy = Listener(name, main, ports[0].Protocol, made, unsupported);
            if (main.TryGetProperty("healthCheck", out var hc)) check = Health(hc, ports[0].Protocol);
        }
        var definition = new ServiceDefinition
        {
            Mesh = mesh,
            Name = Label(name),
            Port = ports.Count > 0 ? ports[0].Port : 8080,
            Protocol = ports.Count > 0 ? ports[0].Protocol : ServiceProtocol.Http,
            AdditionalPorts = [.. ports.Skip(1).Select(p => new ServicePort { Port = p.Port, Protocol = p.Protocol })],
            HealthCheck = check,
        };
        if (spec.TryGetProperty("serviceDiscovery", out var discovery))
        {
            var how = discovery.TryGetProperty("awsCloudMap", out var cloudMap)
                ? $"Cloud Map {cloudMap.GetProperty("namespaceName").GetString()}/{cloudMap.GetProperty("serviceName").GetString()}"
                : discovery.TryGetProperty("dns", out var dns) ? $"DNS {dns.GetProperty("hostname").GetString()}" : "unknown";
            made.Add($"virtual node {name} found its endpoints by {how}: set the service's workload (ECS cluster and service, or EKS namespace and Service) so this control plane records them");
        }
        became.Add($"virtual node {name} → service {definition.Name} (port {definition.Port} {definition.Protocol.ToString().ToLowerInvariant()}{(ports.Count > 1 ? $", {ports.Count - 1} further port(s)" : "")})");
        return StoredService.From(definition with { Policy = policy });
    }

    /// <summary>A listener's policy: its timeouts, connection pool, outlier detection and TLS mode.</summary>
    private static ServicePolicy Listener(string node, JsonElement listener, ServiceProtocol protocol, List<string> made, List<string> unsupported)
    {
        var policy = new ServicePolicy();
        var key = protocol switch { ServiceProtocol.Http2 => "http2", ServiceProtocol.Grpc => "grpc", ServiceProtocol.Tcp => "tcp", _ => "http" };
        if (listener.TryGetProperty("timeout", out var timeout) && timeout.TryGetProperty(key, out var own) && own.TryGetProperty("perRequest", out var perRequest))
            policy = policy with { RequestTimeoutMs = Millis(perRequest) };
        else if (protocol is ServiceProtocol.Http or ServiceProtocol.Http2)
        {
            policy = policy with { RequestTimeoutMs = AppMeshDefaultTimeoutMs };
            made.Add($"virtual node {node}: App Mesh's implicit 15 s per-request timeout is now explicit (requestTimeoutMs 15000)");
        }
        if (listener.TryGetProperty("connectionPool", out var pool) && pool.EnumerateObject().FirstOrDefault().Value is { ValueKind: JsonValueKind.Object } limits)
        {
            policy = policy with
            {
                ConnectionPool = new ConnectionPool
                {
                    MaxConnections = Int(limits, "maxConnections"), MaxPendingRequests = Int(limits, "maxPendingRequests"), MaxRequests = Int(limits, "maxRequests"),
                },
            };
        }
        if (listener.TryGetProperty("outlierDetection", out var outlier))
        {
            policy = policy with
            {
                OutlierDetection = new OutlierDetection
                {
                    Consecutive5xx = Int(outlier, "maxServerErrors"), IntervalMs = Millis(outlier.GetProperty("interval")),
                    BaseEjectionMs = Millis(outlier.GetProperty("baseEjectionDuration")), MaxEjectionPercent = Int(outlier, "maxEjectionPercent"),
                },
            };
        }
        if (listener.TryGetProperty("tls", out var tls))
        {
            var mode = tls.GetProperty("mode").GetString();
            policy = policy with { Mtls = mode == "STRICT" ? MtlsMode.Strict : mode == "PERMISSIVE" ? MtlsMode.Permissive : MtlsMode.Disabled };
            if (tls.TryGetProperty("certificate", out var certificate) && certificate.TryGetProperty("acm", out _))
                unsupported.Add($"virtual node {node} listener tls.certificate.acm: ACM certificates are not handed to proxies; issue them from ACM Private CA to files (settings.certificates)");
            made.Add($"virtual node {node}: TLS {mode} became mtls {mode}; certificates come from files the sidecar watches (settings.certificates), identities are SPIFFE IDs");
        }
        return policy;
    }

    private static HealthCheck Health(JsonElement check, ServiceProtocol protocol) => new()
    {
        Path = protocol == ServiceProtocol.Tcp ? null : check.TryGetProperty("path", out var path) ? path.GetString() : "/",
        IntervalMs = Int(check, "intervalMillis"),
        TimeoutMs = Int(check, "timeoutMillis"),
        HealthyThreshold = Int(check, "healthyThreshold"),
        UnhealthyThreshold = Int(check, "unhealthyThreshold"),
    };

    /// <summary>
    /// A router's routes: all to one node, they become that node's routes; over several nodes, a service named after
    /// the router with a subset per node. Returns the service callers reach, or null when there is none.
    /// </summary>
    private static string? Router(string name, JsonElement? router, List<JsonElement> routes, string mesh, SortedDictionary<string, StoredService> services,
        List<string> became, List<string> made, List<string> unsupported)
    {
        var targets = routes.SelectMany(Targets).Select(t => Label(t.Node)).Distinct(StringComparer.Ordinal).ToList();
        if (targets.Count == 0)
        {
            unsupported.Add($"virtual router {name}: no routes with targets");
            return null;
        }
        if (routes.Count > 1) made.Add($"virtual router {name}: routes ordered by priority (lowest first), then by name, as App Mesh matched them");
        if (targets.Count == 1)
        {
            var target = targets[0];
            var service = services[target];
            var rules = routes.Select(r => Rule(r, null, made, unsupported)).OfType<RouteRule>().ToImmutableArray();
            services[target] = service with { Routes = [.. service.Routes, .. rules] };
            became.Add($"virtual router {name} ({routes.Count} route(s)) → routes of service {target}");
            return target;
        }
        var serviceName = Label(name);
        var listener = router?.GetProperty("spec").GetProperty("listeners")[0].GetProperty("portMapping");
        var protocol = listener is { } mapping ? Protocol(mapping.GetProperty("protocol").GetString()!) : services[targets[0]].Service.Protocol;
        var definition = new ServiceDefinition
        {
            Mesh = mesh, Name = serviceName,
            Port = listener?.GetProperty("port").GetInt32() ?? services[targets[0]].Service.Port,
            Protocol = protocol,
            Subsets = [.. targets.Select(t => new Subset(t, t))],
        };
        var routed = routes.Select(r => Rule(r, t => Label(t), made, unsupported)).OfType<RouteRule>().ToImmutableArray();
        services[serviceName] = new StoredService { Service = definition, Routes = protocol == ServiceProtocol.Tcp ? [] : routed };
        became.Add($"virtual router {name} over nodes {string.Join(", ", targets)} → service {serviceName} with a subset per node");
        made.Add($"service {serviceName}: its subsets select endpoints by version label: record the nodes {string.Join(", ", targets)} as one workload (set workload) whose tasks or pods carry version = the node's name");
        if (protocol == ServiceProtocol.Tcp)
            unsupported.Add($"virtual router {name}: weighted TCP routes are not imported (a TCP service has no routes); traffic is spread over all of {serviceName}'s endpoints");
        return serviceName;
    }

    private static IEnumerable<(string Node, int Weight)> Targets(JsonElement route)
    {
        var action = RouteBody(route).Body.GetProperty("action");
        return action.GetProperty("weightedTargets").EnumerateArray()
            .Select(t => (t.GetProperty("virtualNode").GetString()!, t.GetProperty("weight").GetInt32()));
    }

    private static (string Kind, JsonElement Body) RouteBody(JsonElement route)
    {
        var spec = route.GetProperty("spec");
        foreach (var kind in new[] { "httpRoute", "http2Route", "grpcRoute", "tcpRoute" })
        {
            if (spec.TryGetProperty(kind, out var body)) return (kind, body);
        }
        throw new InvalidDataException($"route {route.GetProperty("routeName").GetString()} has no httpRoute, http2Route, grpcRoute or tcpRoute");
    }

    /// <param name="subsetOf">Null: the route's targets are the whole service; else the subset a node became.</param>
    private static RouteRule? Rule(JsonElement route, Func<string, string>? subsetOf, List<string> made, List<string> unsupported)
    {
        var name = route.GetProperty("routeName").GetString()!;
        var (kind, body) = RouteBody(route);
        if (kind == "tcpRoute") return null;
        var match = new RouteMatch();
        if (body.TryGetProperty("match", out var m))
        {
            if (kind == "grpcRoute")
            {
                var prefix = m.TryGetProperty("serviceName", out var svc) ? $"/{svc.GetString()}/{(m.TryGetProperty("methodName", out var method) ? method.GetString() : "")}" : "/";
                match = match with { Prefix = prefix };
                if (m.TryGetProperty("metadata", out var metadata)) match = match with { Headers = [.. metadata.EnumerateArray().Select(Header)] };
            }
            else
            {
                match = HttpMatch(m);
            }
        }
        var targets = Targets(route).ToList();
        var percents = Percents([.. targets.Select(t => t.Weight)]);
        if (!targets.Select(t => t.Weight).SequenceEqual(percents))
            made.Add($"route {name}: App Mesh's relative weights {string.Join("/", targets.Select(t => t.Weight))} became percentages {string.Join("/", percents)}");
        RetryPolicy? retry = null;
        if (body.TryGetProperty("retryPolicy", out var policy))
        {
            var on = new List<string>();
            foreach (var e in policy.TryGetProperty("httpRetryEvents", out var h) ? h.EnumerateArray() : [])
            {
                on.AddRange(e.GetString() switch
                {
                    "server-error" => ["5xx"],
                    "gateway-error" => ["gateway-error"],
                    "client-error" => ["retriable-4xx"],
                    "stream-error" => ["refused-stream", "reset"],
                    var other => [other!],
                });
            }
            foreach (var e in policy.TryGetProperty("grpcRetryEvents", out var g) ? g.EnumerateArray() : []) on.Add(e.GetString()!);
            if (policy.TryGetProperty("tcpRetryEvents", out var t) && t.GetArrayLength() > 0) on.Add("connect-failure");
            retry = new RetryPolicy { On = [.. on.Distinct(StringComparer.Ordinal)], Attempts = Int(policy, "maxRetries"), PerTryTimeoutMs = Millis(policy.GetProperty("perRetryTimeout")) };
            made.Add($"route {name}: retry events {string.Join(", ", policy.TryGetProperty("httpRetryEvents", out var events) ? events.EnumerateArray().Select(e => e.GetString()) : [])} became Envoy's retry_on {string.Join(",", on)} (server-error: any 5xx; gateway-error: 502, 503, 504; client-error: 409; stream-error: refused or reset streams)");
        }
        int? timeoutMs = body.TryGetProperty("timeout", out var timeout) && timeout.TryGetProperty("perRequest", out var perRequest) ? Millis(perRequest) : null;
        int? idleMs = body.TryGetProperty("timeout", out var idleTimeout) && idleTimeout.TryGetProperty("idle", out var idle) ? Millis(idle) : null;
        if (timeoutMs is null && kind is "httpRoute" or "http2Route")
        {
            timeoutMs = AppMeshDefaultTimeoutMs;
            made.Add($"route {name}: App Mesh's implicit 15 s per-request timeout is now explicit (timeoutMs 15000)");
        }
        return new RouteRule
        {
            Name = Label(name),
            Match = match,
            Targets = [.. targets.Select((t, i) => new WeightedTarget { Subset = subsetOf?.Invoke(t.Node), Weight = percents[i] })],
            Retry = retry,
            TimeoutMs = timeoutMs,
            IdleTimeoutMs = idleMs,
        };
    }

    /// <summary>An HTTP or HTTP/2 route's match (of a route or a gateway route): prefix, path or regex, method, headers, query parameters.</summary>
    private static RouteMatch HttpMatch(JsonElement m)
    {
        var match = new RouteMatch();
        if (m.TryGetProperty("prefix", out var prefix)) match = match with { Prefix = prefix.GetString() };
        if (m.TryGetProperty("path", out var path))
            match = path.TryGetProperty("exact", out var exact) ? match with { Path = exact.GetString() } : match with { Regex = path.GetProperty("regex").GetString() };
        if (m.TryGetProperty("method", out var method)) match = match with { Method = method.GetString() };
        if (m.TryGetProperty("headers", out var headers)) match = match with { Headers = [.. headers.EnumerateArray().Select(Header)] };
        if (m.TryGetProperty("queryParameters", out var query))
        {
            match = match with
            {
                QueryParameters = [.. query.EnumerateArray().Select(q => new QueryMatch
                {
                    Name = q.GetProperty("name").GetString()!, Exact = q.TryGetProperty("match", out var qm) ? qm.GetProperty("exact").GetString() : null,
                    Present = q.TryGetProperty("match", out _) ? null : true,
                })],
            };
        }
        return match;
    }

    /// <summary>Relative weights as percentages adding up to 100 (largest remainders get the rounding).</summary>
    public static int[] Percents(IReadOnlyList<int> weights)
    {
        var total = weights.Sum();
        if (total <= 0) return [.. weights];
        var exact = weights.Select(w => 100.0 * w / total).ToArray();
        var percents = exact.Select(e => (int)Math.Floor(e)).ToArray();
        foreach (var i in Enumerable.Range(0, weights.Count).OrderByDescending(i => exact[i] - percents[i]).ThenBy(i => i).Take(100 - percents.Sum())) percents[i]++;
        return percents;
    }

    private static HeaderMatch Header(JsonElement header)
    {
        var name = header.GetProperty("name").GetString()!.ToLowerInvariant();
        var invert = header.TryGetProperty("invert", out var i) && i.GetBoolean();
        if (!header.TryGetProperty("match", out var m)) return new HeaderMatch { Name = name, Present = true, Invert = invert };
        return new HeaderMatch
        {
            Name = name, Invert = invert,
            Exact = m.TryGetProperty("exact", out var exact) ? exact.GetString() : null,
            Prefix = m.TryGetProperty("prefix", out var prefix) ? prefix.GetString() : null,
            Regex = m.TryGetProperty("regex", out var regex) ? regex.GetString() : null,
        };
    }

    private static StoredService WithHostname(StoredService service, string hostname) =>
        service with { Service = service.Service with { Hostnames = [.. service.Service.Hostnames.Append(hostname).Distinct(StringComparer.OrdinalIgnoreCase)] } };

    /// <summary>App Mesh matches routes by priority (0 first); a route without one comes after those with one.</summary>
    private static int Priority(JsonElement route) => route.GetProperty("spec").TryGetProperty("priority", out var p) ? p.GetInt32() : int.MaxValue;

    private static ServiceProtocol Protocol(string protocol) => protocol switch
    {
        "http2" => ServiceProtocol.Http2,
        "grpc" => ServiceProtocol.Grpc,
        "tcp" => ServiceProtocol.Tcp,
        _ => ServiceProtocol.Http,
    };

    private static int? Int(JsonElement element, string name) => element.TryGetProperty(name, out var value) ? value.GetInt32() : null;

    /// <summary>An App Mesh duration: {"unit": "ms"|"s", "value": n}.</summary>
    private static int? Millis(JsonElement duration) =>
        duration.ValueKind == JsonValueKind.Object ? duration.GetProperty("value").GetInt32() * (duration.GetProperty("unit").GetString() == "s" ? 1000 : 1) : null;

    /// <summary>App Mesh names allow capitals and underscores; services are DNS labels.</summary>
    public static string Label(string name) => LabelCleanup().Replace(name.ToLowerInvariant().Replace('_', '-'), "").Trim('-') is { Length: > 0 } label ? label[..Math.Min(63, label.Length)] : "unnamed";

    [GeneratedRegex("[^a-z0-9-]")]
    private static partial Regex LabelCleanup();
}
