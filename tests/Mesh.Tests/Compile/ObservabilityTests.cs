using System.Text.Json.Nodes;
using Envoy.Schema;
using Mesh.Core.Compile;
using Mesh.Core.Editing;
using Mesh.Core.Model;
using Mesh.Core.Snapshots;

using Mesh.Tests.Support;

namespace Mesh.Tests.Compile;

/// <summary>Access logs, tracing and stats: each option compiles to resources Envoy accepts, present where configured and absent where not.</summary>
public class ObservabilityTests
{
    private static readonly ServiceDefinition Api = new() { Mesh = "shop", Name = "api", Port = 8080 };
    private static readonly ServiceDefinition Db = new() { Mesh = "shop", Name = "db", Port = 5432, Protocol = ServiceProtocol.Tcp };
    private static readonly ServiceDefinition Front = new()
    {
        Mesh = "shop", Name = "front", Port = 3000, Backends = ["api", "db"], Policy = new ServicePolicy { Mtls = MtlsMode.Permissive },
    };

    private static IReadOnlyList<JsonNode> Compile(ObservabilitySettings observability, ServiceDefinition? service = null)
    {
        service ??= Front;
        var settings = new MeshSettings { Observability = observability };
        Assert.Empty(MeshValidator.Validate(new MeshState("shop", [service, Api, Db], settings: settings)));
        var result = FleetCompiler.Compile(new FleetInputs(service, [new BackendInputs("api", Api, []), new BackendInputs("db", Db, [])]) { Settings = settings }, new XdsSettings());
        var snapshot = Assert.IsType<Compiled>(result).Snapshot;
        var resources = snapshot.Sets.SelectMany(s => s.Resources).Select(r => System.Text.Encoding.UTF8.GetString(r.Json.Span)).ToList();
        foreach (var resource in resources) Assert.Empty(EnvoySchema.CheckResource(resource));
        return [.. resources.Select(r => JsonNode.Parse(r)!)];
    }

    /// <summary>Every HTTP connection manager and TCP proxy config in the fleet's listeners.</summary>
    private static (List<JsonObject> Http, List<JsonObject> Tcp) Filters(IReadOnlyList<JsonNode> resources)
    {
        var configs = resources.Where(r => ((string?)r["@type"])!.EndsWith(".Listener", StringComparison.Ordinal))
            .SelectMany(JsonTree.Descendants).OfType<JsonObject>().Where(o => o.ContainsKey("@type")).ToList();
        return ([.. configs.Where(c => ((string)c["@type"]!).EndsWith("HttpConnectionManager", StringComparison.Ordinal))],
            [.. configs.Where(c => ((string)c["@type"]!).EndsWith("TcpProxy", StringComparison.Ordinal))]);
    }

    [Theory]
    [InlineData(AccessLogFormat.Off)]
    [InlineData(AccessLogFormat.Text)]
    [InlineData(AccessLogFormat.Json)]
    public void Access_logs_go_to_stdout_from_every_connection_manager_and_tcp_proxy_when_on(AccessLogFormat format)
    {
        var (http, tcp) = Filters(Compile(new ObservabilitySettings { AccessLog = format }));
        Assert.True(http.Count >= 4 && tcp.Count >= 3, $"{http.Count} HTTP, {tcp.Count} TCP");
        foreach (var filter in http.Concat(tcp))
        {
            if (format == AccessLogFormat.Off)
            {
                Assert.Null(filter["access_log"]);
                continue;
            }
            var log = Assert.Single(filter["access_log"]!.AsArray())!;
            Assert.Equal("type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog", (string?)log["typed_config"]!["@type"]);
            var logFormat = log["typed_config"]!["log_format"]!;
            if (format == AccessLogFormat.Json)
                Assert.Equal(ObservabilityResources.Fields.Select(f => f.Field), logFormat["json_format"]!.AsObject().Select(p => p.Key));
            else
                Assert.All(ObservabilityResources.Fields, f => Assert.Contains($"{f.Field}={f.Operator}", (string)logFormat["text_format_source"]!["inline_string"]!, StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData(TracingProvider.None, null)]
    [InlineData(TracingProvider.XRay, "type.googleapis.com/envoy.config.trace.v3.XRayConfig")]
    [InlineData(TracingProvider.OpenTelemetry, "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig")]
    public void Every_connection_manager_traces_with_the_meshs_provider_named_after_the_fleet(TracingProvider provider, string? type)
    {
        var resources = Compile(new ObservabilitySettings { Tracing = new TracingSettings { Provider = provider, SamplingPercent = 10 } });
        var (http, tcp) = Filters(resources);
        Assert.All(tcp, t => Assert.Null(t["tracing"]));
        var collector = resources.FirstOrDefault(r => (string?)r["name"] == ObservabilityResources.CollectorCluster);
        Assert.Equal(provider == TracingProvider.OpenTelemetry, collector is not null);
        foreach (var filter in http)
        {
            if (type is null)
            {
                Assert.Null(filter["tracing"]);
                continue;
            }
            var tracing = filter["tracing"]!;
            Assert.Equal(10.0, (double)tracing["random_sampling"]!["value"]!);
            var config = tracing["provider"]!["typed_config"]!;
            Assert.Equal(type, (string?)config["@type"]);
            Assert.Equal("shop/front", (string?)(config["segment_name"] ?? config["service_name"]));
            if (provider == TracingProvider.XRay)
                Assert.Equal(("UDP", "127.0.0.1", 2000), ((string?)config["daemon_endpoint"]!["protocol"], (string?)config["daemon_endpoint"]!["address"], (int)config["daemon_endpoint"]!["port_value"]!));
            else
                Assert.Equal(ObservabilityResources.CollectorCluster, (string?)config["grpc_service"]!["envoy_grpc"]!["cluster_name"]);
        }
        if (collector is not null)
        {
            var address = collector["load_assignment"]!["endpoints"]![0]!["lb_endpoints"]![0]!["endpoint"]!["address"]!["socket_address"]!;
            Assert.Equal(("127.0.0.1", 4317), ((string?)address["address"], (int)address["port_value"]!));
            Assert.NotNull(collector["typed_extension_protocol_options"]);
        }
    }

    [Fact]
    public void A_service_overrides_its_meshs_access_log_and_sampling()
    {
        var mesh = new ObservabilitySettings { AccessLog = AccessLogFormat.Json, Tracing = new TracingSettings { Provider = TracingProvider.XRay, SamplingPercent = 1 } };
        var quiet = Front with { Policy = Front.Policy with { Observability = new ObservabilityOverride { AccessLog = AccessLogFormat.Off, TracingSamplingPercent = 100 } } };
        var (http, tcp) = Filters(Compile(mesh, quiet));
        Assert.All(http.Concat(tcp), f => Assert.Null(f["access_log"]));
        Assert.All(http, h => Assert.Equal(100.0, (double)h["tracing"]!["random_sampling"]!["value"]!));
    }

    [Theory]
    [InlineData(true, null, false)]
    [InlineData(false, null, false)]
    [InlineData(true, "127.0.0.1:8125", true)]
    [InlineData(false, "10.0.0.5:9125", false)]
    public void The_bootstrap_tags_stats_with_the_mesh_and_service_and_sends_them_to_statsd_when_asked(bool tags, string? statsd, bool dog)
    {
        var settings = new XdsSettings().ForMesh(new MeshSettings { Observability = new ObservabilitySettings { Stats = new StatsSettings { Tags = tags, StatsdAddress = statsd, DogStatsd = dog } } });
        var json = System.Text.Encoding.UTF8.GetString(BootstrapWriter.Write(new FleetId("shop", "front"), "front-1", "eu-west-1a", new ControlPlaneAddress("localhost", 8080, false), settings));
        Assert.Empty(EnvoySchema.CheckMessage(json, "envoy.config.bootstrap.v3.Bootstrap"));
        var bootstrap = JsonNode.Parse(json)!;
        if (tags)
        {
            Assert.Equal(["appmesh.mesh=shop", "appmesh.virtual_node=front"],
                bootstrap["stats_config"]!["stats_tags"]!.AsArray().Select(t => $"{t!["tag_name"]}={t["fixed_value"]}"));
        }
        else
        {
            Assert.Null(bootstrap["stats_config"]);
        }
        if (statsd is null)
        {
            Assert.Null(bootstrap["stats_sinks"]);
            return;
        }
        var sink = Assert.Single(bootstrap["stats_sinks"]!.AsArray())!;
        Assert.Equal(dog ? "envoy.stat_sinks.dog_statsd" : "envoy.stat_sinks.statsd", (string?)sink["name"]);
        var address = sink["typed_config"]!["address"]!["socket_address"]!;
        Assert.Equal(statsd, $"{address["address"]}:{address["port_value"]}");
        Assert.Equal("UDP", (string?)address["protocol"]);
    }

    [Theory]
    [InlineData("""{"tracing": {"samplingPercent": 101}}""", "$.observability.tracing.samplingPercent")]
    [InlineData("""{"tracing": {"address": "localhost:2000"}}""", "$.observability.tracing.address")]
    [InlineData("""{"stats": {"statsdAddress": "127.0.0.1"}}""", "$.observability.stats.statsdAddress")]
    public void Bad_observability_settings_are_refused_naming_the_field(string observability, string path)
    {
        var settings = System.Text.Json.JsonSerializer.Deserialize($$"""{"observability": {{observability}}}""", Mesh.Contracts.State.StateJson.Default.MeshSettings)!;
        var error = Assert.Single(MeshValidator.Validate(new MeshState("shop", [Api], settings: settings)));
        Assert.Equal(("settings", path), (error.Resource, error.Path));
    }

}
