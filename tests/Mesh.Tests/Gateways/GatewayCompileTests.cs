using System.Text.Json.Nodes;
using Envoy.Schema;
using Mesh.Core.Compile;
using Mesh.Core.Editing;
using Mesh.Core.Model;
using Mesh.Core.Snapshots;
using Mesh.Tests.Support;

namespace Mesh.Tests.Gateways;

/// <summary>
/// A gateway fleet compiled from a gateway with every listener and route feature: each resource passes Envoy's schema,
/// and requests are routed through the compiled route tables the way Envoy's router would (<see cref="GatewayRequestModel"/>),
/// so these tests check where a request goes and how it is rewritten, not only shapes.
/// </summary>
public class GatewayCompileTests
{
    private static readonly ServiceDefinition Storefront = new()
    {
        Mesh = "shop", Name = "storefront", Port = 3000, Subsets = [new("v1", "1"), new("v2", "2")],
        AdditionalPorts = [new ServicePort { Port = 3001, Protocol = ServiceProtocol.Http }],
        Policy = new ServicePolicy { Mtls = MtlsMode.Strict, AllowedCallers = ["web"] },
    };

    private static readonly ServiceDefinition Checkout = new() { Mesh = "shop", Name = "checkout", Port = 9090, Protocol = ServiceProtocol.Grpc };

    internal static readonly GatewayDefinition Web = new()
    {
        Mesh = "shop", Name = "web",
        Listeners =
        [
            new GatewayListener { Port = 8080, Limits = new ListenerLimits { MaxConnections = 10_000 } },
            new GatewayListener
            {
                Port = 8443, Protocol = GatewayProtocol.Http2,
                Tls = new GatewayTls { CertificateChain = "/etc/gateway/tls/cert.pem", PrivateKey = "/etc/gateway/tls/key.pem",
                    ClientValidation = new ClientValidation { TrustedCa = "/etc/gateway/clients/ca.pem", SubjectAltNames = ["partner.example.com", "spiffe://partners/acme"] } },
            },
            new GatewayListener { Port = 9443, Protocol = GatewayProtocol.Grpc, Limits = new ListenerLimits { MaxConcurrentStreams = 500 } },
        ],
        Routes =
        [
            new GatewayRoute { Name = "store", Match = new GatewayRouteMatch { Hostname = new HostnameMatch { Exact = "shop.example.com" }, Prefix = "/store" },
                Target = new GatewayTarget { Service = "storefront" } },
            new GatewayRoute { Name = "api-canary", Match = new GatewayRouteMatch { Hostname = new HostnameMatch { Suffix = ".example.com" }, Prefix = "/api/", Port = 8443 },
                Target = new GatewayTarget { Service = "storefront", Subsets = [new WeightedTarget { Subset = "v1", Weight = 90 }, new WeightedTarget { Subset = "v2", Weight = 10 }] },
                Rewrite = new GatewayRewrite { Prefix = "/v2/" }, Retry = new RetryPolicy { On = ["5xx"], Attempts = 3 }, TimeoutMs = 5000 },
            new GatewayRoute { Name = "status", Match = new GatewayRouteMatch { Path = "/status", Method = "GET", Port = 8443 },
                Target = new GatewayTarget { Service = "storefront", Port = 3001 }, Rewrite = new GatewayRewrite { Path = "/healthz", DefaultTargetHostname = false } },
            new GatewayRoute { Name = "items", Match = new GatewayRouteMatch { Regex = "/items/[0-9]+", Headers = [new HeaderMatch { Name = "x-beta", Exact = "1" }], Port = 8080 },
                Target = new GatewayTarget { Service = "storefront", Subsets = [new WeightedTarget { Subset = "v2", Weight = 100 }] }, Rewrite = new GatewayRewrite { Path = "/item" } },
            new GatewayRoute { Name = "checkout-rpc", Match = new GatewayRouteMatch { GrpcService = "shop.v1.Checkout", Port = 9443 }, Target = new GatewayTarget { Service = "checkout" } },
            new GatewayRoute { Name = "everything", Match = new GatewayRouteMatch { Prefix = "/", Port = 8080 }, Target = new GatewayTarget { Service = "storefront" },
                Rewrite = new GatewayRewrite { DefaultPrefix = false } },
        ],
    };

    internal static FleetSnapshot Compile(GatewayDefinition gateway, MeshSettings? settings = null, ServiceDefinition? storefront = null)
    {
        settings ??= MeshSettings.Default;
        storefront ??= Storefront;
        Assert.Empty(MeshValidator.Validate(new MeshState("shop", [storefront, Checkout], settings: settings, gateways: [gateway])));
        var result = GatewayCompiler.Compile(new GatewayInputs(gateway, [new BackendInputs("storefront", storefront, []), new BackendInputs("checkout", Checkout, [])]) { Settings = settings },
            new XdsSettings());
        var snapshot = Assert.IsType<Compiled>(result, exactMatch: false).Snapshot;
        foreach (var resource in snapshot.Sets.SelectMany(s => s.Resources))
            Assert.Empty(EnvoySchema.CheckResource(System.Text.Encoding.UTF8.GetString(resource.Json.Span)));
        return snapshot;
    }

    private static JsonNode Resource(FleetSnapshot snapshot, XdsType type, string name) =>
        JsonNode.Parse(snapshot.Sets.Single(s => s.Type == type).Resources.Single(r => r.Name == name).Json.Span)!;

    [Fact]
    public void Each_gateway_listener_is_a_listener_on_its_port_with_its_own_route_table_by_rds()
    {
        var snapshot = Compile(Web);
        var listeners = snapshot.Sets.Single(s => s.Type == XdsType.Listeners).Resources;
        Assert.Equal(["ingress|8080", "ingress|8443", "ingress|9443"], listeners.Select(l => l.Name));
        Assert.Equal(["ingress|8080", "ingress|8443", "ingress|9443"], snapshot.Sets.Single(s => s.Type == XdsType.Routes).Resources.Select(r => r.Name));
        foreach (var port in new[] { 8080, 8443, 9443 })
        {
            var listener = Resource(snapshot, XdsType.Listeners, $"ingress|{port}");
            Assert.Equal(port, (int)listener["address"]!["socket_address"]!["port_value"]!);
            var hcm = listener["filter_chains"]![0]!["filters"]!.AsArray().Last()!["typed_config"]!;
            Assert.Equal($"ingress|{port}", (string?)hcm["rds"]!["route_config_name"]);
            Assert.True((bool)hcm["use_remote_address"]!);
            Assert.True((bool)hcm["normalize_path"]!);
        }
        var limited = Resource(snapshot, XdsType.Listeners, "ingress|8080")["filter_chains"]![0]!["filters"]![0]!;
        Assert.Equal("envoy.filters.network.connection_limit", (string?)limited["name"]);
        Assert.Equal(10_000, (int)limited["typed_config"]!["max_connections"]!);
        Assert.Equal(500, (int)Resource(snapshot, XdsType.Listeners, "ingress|9443")["filter_chains"]![0]!["filters"]![0]!["typed_config"]!["http2_protocol_options"]!["max_concurrent_streams"]!);
        // The bootstrap's local cluster has its (empty) load assignment; every target service has its clusters and endpoints.
        Assert.Contains(snapshot.Sets.Single(s => s.Type == XdsType.Endpoints).Resources, r => r.Name == "local|web");
        Assert.Equal(["outbound|checkout", "outbound|storefront", "outbound|storefront:3001", "outbound|storefront|v1", "outbound|storefront|v2"],
            snapshot.Sets.Single(s => s.Type == XdsType.Clusters).Resources.Select(r => r.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_tls_listener_takes_its_certificate_and_its_clients_ca_from_watched_sds_files()
    {
        var context = Resource(Compile(Web), XdsType.Listeners, "ingress|8443")["filter_chains"]![0]!["transport_socket"]!["typed_config"]!;
        Assert.True((bool)context["require_client_certificate"]!);
        var common = context["common_tls_context"]!;
        Assert.Equal(["h2", "http/1.1"], common["alpn_protocols"]!.AsArray().Select(a => (string)a!));
        var certificate = common["tls_certificate_sds_secret_configs"]![0]!;
        Assert.Equal("ingress|8443", (string?)certificate["name"]);
        Assert.Equal("/tmp/envoy-sds/ingress-8443.json", (string?)certificate["sds_config"]!["path_config_source"]!["path"]);
        Assert.Equal("/etc/gateway/tls", (string?)certificate["sds_config"]!["path_config_source"]!["watched_directory"]!["path"]);
        var validation = common["combined_validation_context"]!;
        Assert.Equal("/tmp/envoy-sds/ingress-8443-ca.json", (string?)validation["validation_context_sds_secret_config"]!["sds_config"]!["path_config_source"]!["path"]);
        Assert.Equal(["DNS:partner.example.com", "URI:spiffe://partners/acme"],
            validation["default_validation_context"]!["match_typed_subject_alt_names"]!.AsArray().Select(m => $"{m!["san_type"]}:{m["matcher"]!["exact"]}"));

        // The files those names point at hold secrets naming the listener's PEM files, as the sidecar's do.
        var files = SdsSecrets.Ingress(Web, new XdsSettings());
        Assert.Equal(["/tmp/envoy-sds/ingress-8443.json", "/tmp/envoy-sds/ingress-8443-ca.json"], files.Select(f => f.Path));
        var secret = JsonNode.Parse(files[0].Content)!["resources"]![0]!;
        Assert.Equal("ingress|8443", (string?)secret["name"]);
        Assert.Equal("/etc/gateway/tls/key.pem", (string?)secret["tls_certificate"]!["private_key"]!["filename"]);
    }

    [Fact]
    public void Services_with_mtls_are_reached_with_the_gateways_certificate_and_their_identity_checked()
    {
        var cluster = Resource(Compile(Web), XdsType.Clusters, "outbound|storefront");
        var tls = cluster["transport_socket"]!["typed_config"]!["common_tls_context"]!;
        Assert.Equal("svid", (string?)tls["tls_certificate_sds_secret_configs"]![0]!["name"]);
        Assert.Equal("spiffe://mesh.local/mesh/shop/service/storefront",
            (string?)tls["combined_validation_context"]!["default_validation_context"]!["match_typed_subject_alt_names"]![0]!["matcher"]!["exact"]);
        Assert.Null(Resource(Compile(Web), XdsType.Clusters, "outbound|checkout")["transport_socket"]);
    }

    public static TheoryData<int, string, string, string?, string?, string?, string?> Requests() => new()
    {
        // App Mesh's defaults: the matched prefix becomes "/" (without doubling a slash), the host the target's name.
        { 8080, "shop.example.com", "/store/cart", null, "outbound|storefront", "/cart", "storefront" },
        { 8080, "shop.example.com:8080", "/store", null, "outbound|storefront", "/", "storefront" },
        // A route for a suffix applies to a name under it, after the routes for the exact name; on its own port only.
        { 8443, "shop.example.com", "/api/orders", null, "outbound|storefront|v1=90,outbound|storefront|v2=10", "/v2/orders", "storefront" },
        { 8443, "api.example.com", "/api/orders", null, "outbound|storefront|v1=90,outbound|storefront|v2=10", "/v2/orders", "storefront" },
        { 8080, "shop.example.com", "/api/orders", null, "outbound|storefront", "/api/orders", "storefront" },
        // The path rewrite replaces the whole path; the client's host is kept when asked.
        { 8443, "api.example.com", "/status", null, "outbound|storefront:3001", "/healthz", "api.example.com" },
        { 8080, "other.org", "/status", null, "outbound|storefront", "/status", "storefront" },
        { 8080, "other.org", "/items/42", "1", "outbound|storefront|v2", "/item", "storefront" },
        // Without the header the regex route does not apply: the catch-all of port 8080 keeps the path (defaultPrefix false).
        { 8080, "other.org", "/items/42", null, "outbound|storefront", "/items/42", "storefront" },
        // The catch-all is on 8080 only: 8443 answers 404 for what no route matches; "example.com" is not under ".example.com".
        { 8443, "other.org", "/anything", null, null, null, null },
        { 8443, "example.com", "/api/orders", null, null, null, null },
        // gRPC by service name, and never a path rewrite on a grpc listener (a call's path names its method).
        { 9443, "gw.example.com", "/shop.v1.Checkout/Pay", null, "outbound|checkout", "/shop.v1.Checkout/Pay", "checkout" },
        { 9443, "shop.example.com", "/store/x", null, "outbound|storefront", "/store/x", "storefront" },
        { 9443, "gw.example.com", "/shop.v1.Other/Pay", null, null, null, null },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public void Requests_reach_the_first_matching_route_of_the_gateway_rewritten_as_app_mesh_did(int port, string host, string path, string? beta,
        string? clusters, string? forwardedPath, string? forwardedHost)
    {
        var routes = Resource(Compile(Web), XdsType.Routes, $"ingress|{port}");
        var forwarded = GatewayRequestModel.Route(routes, new Request(host, path, Headers: beta is null ? null : new Dictionary<string, string> { ["x-beta"] = beta }));
        Assert.Equal(clusters is null ? null : new Forwarded(clusters, forwardedPath!, forwardedHost!), forwarded);
    }

    /// <summary>
    /// App Mesh's gateway route to a virtual service whose router routes by path and header: the gateway follows the
    /// service's routes, matched against the path as the gateway rewrites it.
    /// </summary>
    [Fact]
    public void A_prefix_route_to_a_service_follows_the_services_own_routes_through_its_rewrite()
    {
        var canary = Storefront with
        {
            Routes =
            [
                new RouteRule { Name = "canary", Match = new RouteMatch { Prefix = "/cart", Headers = [new HeaderMatch { Name = "x-canary", Exact = "1" }] },
                    Targets = [new WeightedTarget { Subset = "v2", Weight = 100 }], TimeoutMs = 2000 },
                new RouteRule { Name = "status", Match = new RouteMatch { Path = "/health" }, Targets = [new WeightedTarget { Subset = "v1", Weight = 100 }] },
                new RouteRule { Name = "split", Match = new RouteMatch { Prefix = "/" },
                    Targets = [new WeightedTarget { Subset = "v1", Weight = 80 }, new WeightedTarget { Subset = "v2", Weight = 20 }] },
            ],
        };
        var snapshot = Compile(Web, storefront: canary);
        Forwarded? Send(int port, string host, string path, string? header) =>
            GatewayRequestModel.Route(Resource(snapshot, XdsType.Routes, $"ingress|{port}"),
                new Request(host, path, Headers: header is null ? null : new Dictionary<string, string> { ["x-canary"] = header }));

        // "everything" (prefix "/", path kept): the service's routes as they are.
        Assert.Equal(new Forwarded("outbound|storefront|v2", "/cart", "storefront"), Send(8080, "other.org", "/cart", "1"));
        Assert.Equal(new Forwarded("outbound|storefront|v1=80,outbound|storefront|v2=20", "/cart", "storefront"), Send(8080, "other.org", "/cart", null));
        Assert.Equal(new Forwarded("outbound|storefront|v1", "/health", "storefront"), Send(8080, "other.org", "/health", null));
        // "store" rewrites /store to /: the service's routes see /cart, /health, / (both of its Envoy routes follow).
        Assert.Equal(new Forwarded("outbound|storefront|v2", "/cart", "storefront"), Send(8080, "shop.example.com", "/store/cart", "1"));
        Assert.Equal(new Forwarded("outbound|storefront|v1", "/health", "storefront"), Send(8080, "shop.example.com", "/store/health", null));
        Assert.Equal(new Forwarded("outbound|storefront|v1=80,outbound|storefront|v2=20", "/", "storefront"), Send(8080, "shop.example.com", "/store", "1"));
        // "api-canary" names its subsets: its own split, not the service's.
        Assert.Equal(new Forwarded("outbound|storefront|v1=90,outbound|storefront|v2=10", "/v2/cart", "storefront"), Send(8443, "api.example.com", "/api/cart", "1"));
        var followed = Resource(snapshot, XdsType.Routes, "ingress|8080")["virtual_hosts"]!.AsArray().Single(v => (string?)v!["name"] == "*")!["routes"]!.AsArray()
            .Select(r => (string?)r!["name"]).ToList();
        // The service's last route matches everything, so the gateway route's own catch-all would never be reached.
        Assert.Equal(["items", "everything/canary", "everything/status", "everything/split"], followed);

        // A service with a regex route cannot be seen through a rewrite: the gateway sends to all of it.
        var regex = canary with { Routes = [.. canary.Routes.Prepend(new RouteRule { Name = "ids", Match = new RouteMatch { Regex = "/id/[0-9]+" }, Targets = [new WeightedTarget { Subset = "v1", Weight = 100 }] })] };
        Assert.Equal(new Forwarded("outbound|storefront", "/cart", "storefront"),
            GatewayRequestModel.Route(Resource(Compile(Web, storefront: regex), XdsType.Routes, "ingress|8080"), new Request("shop.example.com", "/store/cart", Headers: new Dictionary<string, string> { ["x-canary"] = "1" })));
    }

    [Fact]
    public async Task The_gateway_fleet_matches_its_reviewed_golden_file() =>
        await Golden.AssertMatchesAsync(Path.Combine(Repo.Root, "tests/Mesh.Tests/Golden/gateway-web.json"), Golden.Of(Compile(Web)));

    [Fact]
    public void Access_logs_and_tracing_of_the_mesh_apply_to_the_gateway_with_its_own_override()
    {
        var settings = new MeshSettings
        {
            Observability = new ObservabilitySettings { AccessLog = AccessLogFormat.Json, Tracing = new TracingSettings { Provider = TracingProvider.XRay, SamplingPercent = 5 } },
        };
        var gateway = Web with { Observability = new ObservabilityOverride { TracingSamplingPercent = 100 } };
        var hcm = Resource(Compile(gateway, settings), XdsType.Listeners, "ingress|8080")["filter_chains"]![0]!["filters"]!.AsArray().Last()!["typed_config"]!;
        Assert.NotNull(hcm["access_log"]);
        Assert.Equal(100, (double)hcm["tracing"]!["random_sampling"]!["value"]!);
    }

    [Fact]
    public void A_gateway_whose_target_is_gone_is_refused_not_compiled()
    {
        var result = GatewayCompiler.Compile(new GatewayInputs(Web, [new BackendInputs("storefront", null, []), new BackendInputs("checkout", Checkout, [])]), new XdsSettings());
        var refused = Assert.IsType<Refused>(result);
        Assert.Contains(refused.Reasons, r => r.Contains("storefront", StringComparison.Ordinal));
    }
}
