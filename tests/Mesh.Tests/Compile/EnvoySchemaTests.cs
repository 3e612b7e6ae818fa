using Envoy.Schema;
using Mesh.Core.Compile;
using Mesh.Core.Model;
using Mesh.Core.Snapshots;
using Mesh.Tests.Support;

namespace Mesh.Tests.Compile;

/// <summary>Our output against Envoy's own API schema and validation rules, and the checker against known-bad input.</summary>
public class EnvoySchemaTests
{
    [Fact]
    public async Task Every_resource_of_every_sample_fleet_is_accepted_by_envoys_schema()
    {
        var samples = Repo.Samples;
        using var store = new TempStore();
        await Story.SeedAsync(store, samples);
        await Story.FeedAsync(store, samples, SampleEvents.Bodies(samples).Select(b => b.Body));
        var checkedResources = 0;
        foreach (var (fleet, bytes) in await Story.SnapshotsAsync(store, samples))
        {
            foreach (var resource in SnapshotCodec.Decode(bytes).Sets.SelectMany(s => s.Resources))
            {
                Assert.Empty(EnvoySchema.CheckResource(System.Text.Encoding.UTF8.GetString(resource.Json.Span)));
                checkedResources++;
            }
        }
        Assert.True(checkedResources > 20, $"only {checkedResources} resources were checked");
    }

    [Fact]
    public void Every_protocol_compiles_to_resources_envoy_accepts()
    {
        static ServiceDefinition Service(string name, int port, ServiceProtocol protocol, params string[] backends) =>
            new() { Mesh = "m", Name = name, Port = port, Protocol = protocol, Backends = [.. backends], Subsets = [new Subset("v2", "2")], Hostnames = [$"{name}.example.internal"] };
        var backends = new[] { Service("rest", 8080, ServiceProtocol.Http), Service("h2", 8081, ServiceProtocol.Http2), Service("rpc", 9090, ServiceProtocol.Grpc), Service("db", 5432, ServiceProtocol.Tcp) };
        var endpoint = new Endpoint { Id = "e1", Address = "10.1.2.3", Region = "eu-west-1", Zone = "eu-west-1a", Version = "2", Health = EndpointHealth.Healthy };
        foreach (var self in backends)
        {
            var inputs = new FleetInputs(self with { Backends = [.. backends.Select(b => b.Name).Where(b => b != self.Name)] },
                [.. backends.Where(b => b.Name != self.Name).Select(b => new BackendInputs(b.Name, b, [endpoint]))]);
            var compiled = Assert.IsType<Compiled>(FleetCompiler.Compile(inputs, new XdsSettings()));
            foreach (var resource in compiled.Snapshot.Sets.SelectMany(s => s.Resources))
                Assert.Empty(EnvoySchema.CheckResource(System.Text.Encoding.UTF8.GetString(resource.Json.Span)));
        }
    }

    [Fact]
    public void A_bootstrap_for_a_tls_control_plane_is_accepted()
    {
        var json = BootstrapWriter.Write(new FleetId("shop", "web"), "web-1", "eu-west-1a",
            new ControlPlaneAddress("abc123.execute-api.eu-west-1.amazonaws.com", 443, Tls: true),
            new XdsSettings { ControlPlaneCluster = "abc123.execute-api.eu-west-1.amazonaws.com" });
        Assert.Empty(EnvoySchema.CheckMessage(System.Text.Encoding.UTF8.GetString(json), "envoy.config.bootstrap.v3.Bootstrap"));
    }

    private const string GoodCluster = """
        {"@type":"type.googleapis.com/envoy.config.cluster.v3.Cluster","name":"orders","type":"EDS","connect_timeout":"1s",
         "eds_cluster_config":{"eds_config":{"resource_api_version":"V3","api_config_source":{"api_type":"REST","transport_api_version":"V3","cluster_names":["xds"],"refresh_delay":"5s","request_timeout":"5s"}}}}
        """;

    [Fact]
    public void The_checker_accepts_a_known_good_cluster() => Assert.Empty(EnvoySchema.CheckResource(GoodCluster));

    [Theory]
    [InlineData("\"name\":\"orders\"", "\"name\":\"orders\",\"no_such_field\":1", "does not parse")]
    [InlineData("\"type\":\"EDS\"", "\"type\":\"NOT_A_TYPE\"", "does not parse")]
    [InlineData("envoy.config.cluster.v3.Cluster\"", "envoy.config.cluster.v3.Nope\"", "does not parse")]
    [InlineData("\"connect_timeout\":\"1s\"", "\"connect_timeout\":\"0s\"", "connect_timeout")]
    [InlineData("\"name\":\"orders\"", "\"name\":\"\"", "Cluster.name")]
    [InlineData("\"type\":\"EDS\"", "\"type\":\"EDS\",\"outlier_detection\":{\"max_ejection_percent\":101}", "max_ejection_percent")]
    [InlineData("\"request_timeout\":\"5s\"", "\"request_timeout\":\"0s\"", "request_timeout")]
    public void The_checker_rejects_what_envoy_would_reject(string from, string to, string expected)
    {
        var problems = EnvoySchema.CheckResource(GoodCluster.Replace(from, to, StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"@type":"type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment","cluster_name":"a","endpoints":[{"lb_endpoints":[{"endpoint":{"address":{"socket_address":{"address":"10.0.0.1","port_value":80}}},"load_balancing_weight":0}]}]}""", "load_balancing_weight")]
    [InlineData("""{"@type":"type.googleapis.com/envoy.config.route.v3.RouteConfiguration","name":"r","virtual_hosts":[{"name":"v","domains":[],"routes":[]}]}""", "domains")]
    [InlineData("""{"@type":"type.googleapis.com/envoy.config.route.v3.RouteConfiguration","name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routes":[{"match":{"prefix":"/","headers":[{"name":"bad\nheader","string_match":{"exact":"x"}}]},"route":{"cluster":"c"}}]}]}""", "valid HTTP header name")]
    [InlineData("""{"@type":"type.googleapis.com/envoy.config.route.v3.RouteConfiguration","name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routes":[{"match":{"prefix":"/"}}]}]}""", "is required")]
    [InlineData("""{"@type":"type.googleapis.com/envoy.config.route.v3.RouteConfiguration","name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"c","retry_policy":{"retry_back_off":{"base_interval":"0s"}}}}]}]}""", "base_interval")]
    [InlineData("""{"@type":"type.googleapis.com/envoy.config.listener.v3.Listener","name":"l","filter_chains":[{"filters":[{"name":"hcm","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager","stat_prefix":"x","http_filters":[]}}]}]}""", "one of rds/route_config/scoped_routes")]
    [InlineData("""{"@type":"type.googleapis.com/envoy.config.route.v3.RouteConfiguration","name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routes":[{"match":{"prefix":"/","headers":[{"name":"x","exact_match":"y"}]},"route":{"cluster":"c"}}]}]}""", "deprecated")]
    public void The_checker_applies_envoys_validation_rules(string json, string expected) =>
        Assert.Contains(EnvoySchema.CheckResource(json), p => p.Contains(expected, StringComparison.Ordinal));
}
