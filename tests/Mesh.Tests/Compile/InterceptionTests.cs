using System.Text.Json;
using System.Text.Json.Nodes;
using Envoy.Schema;
using Mesh.Core.Compile;
using Mesh.Core.Editing;
using Mesh.Core.Model;
using Mesh.Core.Snapshots;
using Mesh.Tests.Support;

namespace Mesh.Tests.Compile;

/// <summary>
/// The sidecar under App Mesh's interception: every outbound connection reaches the outbound listener and every
/// connection to an app port the inbound one. Connections are routed through the compiled listeners the way Envoy's
/// filter chain manager would (<see cref="ListenerModel"/>), so these tests check where traffic goes, not only shapes.
/// </summary>
public class InterceptionTests
{
    private static ServiceDefinition Service(string name, int port, ServiceProtocol protocol = ServiceProtocol.Http, params string[] backends) =>
        new() { Mesh = "shop", Name = name, Port = port, Protocol = protocol, Backends = [.. backends] };

    private static readonly ServiceDefinition Api = Service("api", 8080);
    private static readonly ServiceDefinition OrdersDb = Service("orders-db", 5432, ServiceProtocol.Tcp);
    private static readonly ServiceDefinition Reports = Service("reports", 9000) with
    {
        AdditionalPorts = [new ServicePort { Port = 9001, Protocol = ServiceProtocol.Tcp }, new ServicePort { Port = 9100, Protocol = ServiceProtocol.Grpc }],
    };
    private static readonly ServiceDefinition Front = Service("front", 3000, ServiceProtocol.Http, "api", "orders-db", "reports");

    private static readonly MeshSettings DropAll = new()
    {
        Egress = new EgressSettings
        {
            Mode = EgressMode.DropAll,
            ExternalServices =
            [
                new ExternalService { Name = "stripe", Hosts = ["api.stripe.com"], Ports = [443] },
                new ExternalService { Name = "partner", Hosts = ["*.partner.example"], Ports = [443, 8080] },
                new ExternalService { Name = "corp-db", Cidrs = ["10.20.0.0/16"], Ports = [5432] },
                new ExternalService { Name = "vpn", Cidrs = ["172.16.0.0/12"] },
            ],
        },
    };

    private static readonly MeshSettings AllowAllWithRange = new()
    {
        Egress = new EgressSettings { ExternalServices = [new ExternalService { Name = "corp-db", Cidrs = ["10.20.0.0/16"], Ports = [5432] }] },
    };

    private static FleetSnapshot Compile(ServiceDefinition service, MeshSettings settings, params ServiceDefinition[] backends)
    {
        Assert.Empty(MeshValidator.Validate(new MeshState("shop", backends.Append(service), settings: settings)));
        var result = FleetCompiler.Compile(new FleetInputs(service, [.. backends.Select(b => new BackendInputs(b.Name, b, []))]) { Settings = settings }, new XdsSettings());
        var snapshot = Assert.IsType<Compiled>(result, exactMatch: false).Snapshot;
        foreach (var resource in snapshot.Sets.SelectMany(s => s.Resources))
            Assert.Empty(EnvoySchema.CheckResource(System.Text.Encoding.UTF8.GetString(resource.Json.Span)));
        return snapshot;
    }

    private static IReadOnlyList<JsonNode> Resources(FleetSnapshot snapshot, XdsType type) =>
        [.. snapshot.Sets.Single(s => s.Type == type).Resources.Select(r => JsonNode.Parse(r.Json.Span)!)];

    private static ListenerModel Listener(FleetSnapshot snapshot, string name) =>
        new(Resources(snapshot, XdsType.Listeners).Single(l => (string?)l["name"] == name), Resources(snapshot, XdsType.Routes).Single());

    private static ListenerModel Outbound(MeshSettings settings) => Listener(Compile(Front, settings, Api, OrdersDb, Reports), "outbound");

    public static TheoryData<string, int, bool, string?, string?, string> AllowAll() => new()
    {
        // Mesh HTTP by Host, on any mesh HTTP port, to whichever address DNS gave the app.
        { "10.0.1.5", 8080, false, null, "api", "cluster:outbound|api" },
        { "10.0.1.5", 8080, false, null, "api:8080", "cluster:outbound|api" },
        { "10.0.4.1", 9100, false, null, "reports:9100", "cluster:outbound|reports:9100" },
        // Mesh TCP by port, whatever the address; a further TCP port of a backend reaches that port's cluster.
        { "10.0.3.7", 5432, false, null, null, "cluster:outbound|orders-db" },
        { "10.0.4.1", 9001, false, null, null, "cluster:outbound|reports:9001" },
        // TLS to AWS, HTTP to a host outside the mesh, any other TCP: where the app sent it.
        { "52.216.1.1", 443, true, "bucket.s3.eu-west-1.amazonaws.com", null, "cluster:passthrough" },
        { "93.184.216.34", 8080, false, null, "example.com", "cluster:passthrough" },
        { "93.184.216.34", 8080, true, "example.com", null, "cluster:passthrough" },
        { "93.184.216.34", 80, false, null, "example.com", "cluster:passthrough" },
        { "10.9.9.9", 3306, false, null, null, "cluster:passthrough" },
        // An app dialling the listener itself (no interception) is routed by Host, never passed back to Envoy.
        { "127.0.0.1", 15001, false, null, "api", "cluster:outbound|api" },
    };

    [Theory]
    [MemberData(nameof(AllowAll))]
    public void Under_allow_all_mesh_traffic_is_routed_and_everything_else_passes_through(string address, int port, bool tls, string? sni, string? host, string expected) =>
        Assert.Equal(expected, Outbound(MeshSettings.Default).Route(new Connection(address, port, tls, sni, host)));

    public static TheoryData<string, int, bool, string?, string?, string> DropAllCases() => new()
    {
        { "10.0.1.5", 8080, false, null, "api", "cluster:outbound|api" },
        { "10.0.3.7", 5432, false, null, null, "cluster:outbound|orders-db" },
        // AWS APIs and declared hosts by SNI; anything else refused.
        { "52.216.1.1", 443, true, "bucket.s3.eu-west-1.amazonaws.com", null, "cluster:passthrough" },
        { "54.1.1.1", 443, true, "api.stripe.com", null, "cluster:passthrough" },
        { "54.1.1.2", 443, true, "www.partner.example", null, "cluster:passthrough" },
        { "66.1.1.1", 443, true, "evil.example.com", null, "cluster:blackhole" },
        { "66.1.1.1", 443, false, null, "66.1.1.1", "direct_response:502" },
        // Plain HTTP on a mesh port: declared hosts pass, others get a 502 from the sidecar.
        { "54.1.1.2", 8080, false, null, "www.partner.example", "cluster:passthrough" },
        { "54.1.1.2", 8080, false, null, "www.partner.example:8080", "cluster:passthrough" },
        { "93.184.216.34", 8080, false, null, "example.com", "direct_response:502" },
        // Declared ranges: on their ports, even a mesh TCP port; a range without ports on every port.
        { "10.20.1.1", 5432, false, null, null, "cluster:passthrough" },
        { "10.21.1.1", 5432, false, null, null, "cluster:outbound|orders-db" },
        { "172.16.5.5", 8080, false, null, "anything", "cluster:passthrough" },
        { "172.16.5.5", 443, true, "evil.example.com", null, "cluster:passthrough" },
        { "172.16.5.5", 25, false, null, null, "cluster:passthrough" },
        { "8.8.8.8", 25, false, null, null, "cluster:blackhole" },
    };

    [Theory]
    [MemberData(nameof(DropAllCases))]
    public void Under_drop_all_only_the_mesh_aws_apis_and_declared_external_services_are_reachable(string address, int port, bool tls, string? sni, string? host, string expected) =>
        Assert.Equal(expected, Outbound(DropAll).Route(new Connection(address, port, tls, sni, host)));

    [Fact]
    public void A_declared_range_keeps_a_non_mesh_address_off_a_mesh_tcp_port_under_allow_all()
    {
        var outbound = Outbound(AllowAllWithRange);
        Assert.Equal("cluster:passthrough", outbound.Route(new Connection("10.20.1.1", 5432)));
        Assert.Equal("cluster:outbound|orders-db", outbound.Route(new Connection("10.0.3.7", 5432)));
    }

    [Fact]
    public void The_tls_inspector_reads_only_ports_whose_chains_need_it_so_server_first_protocols_are_not_held()
    {
        var outbound = Outbound(DropAll);
        Assert.True(outbound.Inspects(8080));
        Assert.True(outbound.Inspects(443));
        Assert.False(outbound.Inspects(5432));
        Assert.False(outbound.Inspects(3306));
        Assert.False(Outbound(MeshSettings.Default).Inspects(443));
    }

    [Fact]
    public void Passthrough_connects_to_the_original_destination_and_blackhole_has_no_endpoints()
    {
        var clusters = Resources(Compile(Front, DropAll, Api, OrdersDb, Reports), XdsType.Clusters);
        var passthrough = clusters.Single(c => (string?)c["name"] == "passthrough");
        Assert.Equal(("ORIGINAL_DST", "CLUSTER_PROVIDED"), ((string?)passthrough["type"], (string?)passthrough["lb_policy"]));
        Assert.Null(passthrough["load_assignment"]);
        var blackhole = clusters.Single(c => (string?)c["name"] == "blackhole");
        Assert.Equal("STATIC", (string?)blackhole["type"]);
        Assert.Null(blackhole["load_assignment"]);
        Assert.DoesNotContain(Resources(Compile(Front, MeshSettings.Default, Api, OrdersDb, Reports), XdsType.Clusters), c => (string?)c["name"] == "blackhole");
    }

    [Fact]
    public void The_passthrough_route_has_no_timeout_and_comes_last()
    {
        var routes = Resources(Compile(Front, MeshSettings.Default, Api, OrdersDb, Reports), XdsType.Routes).Single();
        var last = routes["virtual_hosts"]!.AsArray().Last()!;
        Assert.Equal(["*"], last["domains"]!.AsArray().Select(d => (string)d!));
        Assert.Equal("0s", (string?)last["routes"]![0]!["route"]!["timeout"]);
    }

    public static TheoryData<string, int, bool, string> InboundCases() => new()
    {
        { "10.0.0.9", 9000, false, "cluster:inbound|9000" },
        { "10.0.0.9", 9000, true, "cluster:inbound|9000" },
        { "10.0.0.9", 9100, false, "cluster:inbound|9100" },
        { "10.0.0.9", 9001, true, "cluster:inbound|9001" },
        // Not an app port: nothing takes it (the interception only redirects app ports).
        { "10.0.0.9", 7777, false, "none" },
    };

    [Theory]
    [MemberData(nameof(InboundCases))]
    public void Inbound_to_each_app_port_reaches_the_app_on_that_port(string address, int port, bool tls, string expected)
    {
        var permissive = Reports with { Policy = new ServicePolicy { Mtls = MtlsMode.Permissive } };
        Assert.Equal(expected, Listener(Compile(permissive, MeshSettings.Default), "inbound").Route(new Connection(address, port, tls)));
    }

    [Fact]
    public void Each_app_port_has_a_loopback_cluster_speaking_its_protocol()
    {
        var clusters = Resources(Compile(Reports, MeshSettings.Default), XdsType.Clusters).Where(c => ((string)c["name"]!).StartsWith("inbound|", StringComparison.Ordinal)).ToList();
        Assert.Equal(["inbound|9000", "inbound|9001", "inbound|9100"], clusters.Select(c => (string)c["name"]!));
        foreach (var cluster in clusters)
        {
            var port = int.Parse(((string)cluster["name"]!)["inbound|".Length..], System.Globalization.CultureInfo.InvariantCulture);
            var endpoint = cluster["load_assignment"]!["endpoints"]![0]!["lb_endpoints"]![0]!["endpoint"]!["address"]!["socket_address"]!;
            Assert.Equal(("127.0.0.1", port), ((string?)endpoint["address"], (int)endpoint["port_value"]!));
            Assert.Equal(port == 9100, cluster["typed_extension_protocol_options"] is not null);
        }
    }

    [Fact]
    public void A_further_port_of_a_backend_is_reached_on_that_port_of_each_endpoint()
    {
        var endpoints = new[]
        {
            new Endpoint { Id = "awsvpc", Address = "10.0.4.1" },
            new Endpoint { Id = "bridge", Address = "10.0.4.2", Ports = [new EndpointPort(null, 9000, 32768), new EndpointPort(null, 9100, 32769)] },
            new Endpoint { Id = "main-only", Address = "10.0.4.3", Ports = [new EndpointPort(null, 9000, 32770)] },
        };
        var result = FleetCompiler.Compile(new FleetInputs(Front, [new BackendInputs("api", Api, []), new BackendInputs("orders-db", OrdersDb, []), new BackendInputs("reports", Reports, endpoints)]), new XdsSettings());
        var snapshot = Assert.IsType<Compiled>(result).Snapshot;
        string[] Served(string cluster) => [.. Resources(snapshot, XdsType.Endpoints).Single(e => (string?)e["cluster_name"] == cluster)["endpoints"]!.AsArray()
            .SelectMany(l => l!["lb_endpoints"]!.AsArray()).Select(e => $"{e!["endpoint"]!["address"]!["socket_address"]!["address"]}:{e["endpoint"]!["address"]!["socket_address"]!["port_value"]}")];
        Assert.Equal(["10.0.4.1:9000", "10.0.4.2:32768", "10.0.4.3:32770"], Served("outbound|reports"));
        Assert.Equal(["10.0.4.1:9100", "10.0.4.2:32769"], Served("outbound|reports:9100"));
        var grpc = Resources(snapshot, XdsType.Clusters).Single(c => (string?)c["name"] == "outbound|reports:9100");
        Assert.NotNull(grpc["typed_extension_protocol_options"]);
    }

    [Fact]
    public void No_two_filter_chains_of_a_listener_share_a_match()
    {
        foreach (var settings in new[] { MeshSettings.Default, DropAll, AllowAllWithRange })
        {
            foreach (var service in new[] { Front, Reports with { Policy = new ServicePolicy { Mtls = MtlsMode.Permissive } } })
            {
                var backends = service == Front ? new[] { Api, OrdersDb, Reports } : [];
                foreach (var listener in Resources(Compile(service, settings, backends), XdsType.Listeners))
                {
                    var matches = listener["filter_chains"]!.AsArray().Select(c => c!["filter_chain_match"]?.ToJsonString() ?? "{}").ToList();
                    Assert.Equal(matches.Count, matches.Distinct().Count());
                }
            }
        }
    }

    /// <summary>The reviewed fleet of this feature: a caller under DROP_ALL with external services, of a TCP backend and a backend with further ports.</summary>
    [Fact]
    public async Task The_egress_fleet_compiles_to_its_reviewed_golden_snapshot()
    {
        var snapshot = Compile(Front, DropAll, Api, OrdersDb, Reports);
        await Golden.AssertMatchesAsync(Path.Combine(Repo.GoldenDirectory, "egress-front.json"), Golden.Of(snapshot));
    }

    [Fact]
    public void Both_listeners_restore_the_original_destination_first()
    {
        foreach (var name in new[] { "inbound", "outbound" })
        {
            var listener = Resources(Compile(Front, DropAll, Api, OrdersDb, Reports), XdsType.Listeners).Single(l => (string?)l["name"] == name);
            Assert.Equal("envoy.filters.listener.original_dst", (string?)listener["listener_filters"]![0]!["name"]);
        }
    }
}
