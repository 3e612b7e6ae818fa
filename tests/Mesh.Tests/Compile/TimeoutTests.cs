using System.Text.Json;
using Mesh.Core.Editing;
using Mesh.Core.Model;
using Mesh.Tests.Support;

namespace Mesh.Tests.Compile;

/// <summary>gRPC streams must be able to live: no 15 s route timeout by default; timeouts and a stream cap are policy settings.</summary>
public class TimeoutTests
{
    private static ServiceDefinition Service(string name, ServiceProtocol protocol, params string[] backends) =>
        new() { Mesh = "t", Name = name, Port = 8080, Protocol = protocol, Backends = [.. backends] };

    private static async Task<JsonElement> RouteOfAsync(ServiceDefinition[] services, string caller, string backend)
    {
        Assert.Empty(MeshValidator.Validate(new MeshState("t", services)));
        using var store = new TempStore();
        await store.Store.Desired.PutServicesAsync(services, CancellationToken.None);
        var outcome = Assert.Single(await store.Publisher.PublishAsync([new FleetId("t", caller)], CancellationToken.None));
        var routes = JsonDocument.Parse(outcome.Snapshot![XdsType.Routes].Resources.Single().Json).RootElement;
        var host = routes.GetProperty("virtual_hosts").EnumerateArray().Single(h => h.GetProperty("name").GetString() == backend);
        return host.GetProperty("routes").EnumerateArray().Last().GetProperty("route").Clone();
    }

    [Fact]
    public async Task A_grpc_backend_gets_no_route_timeout_and_the_callers_grpc_timeout_header_as_its_deadline()
    {
        var route = await RouteOfAsync([Service("web", ServiceProtocol.Http, "rpc", "rest"), Service("rpc", ServiceProtocol.Grpc), Service("rest", ServiceProtocol.Http)], "web", "rpc");
        Assert.Equal("0s", route.GetProperty("timeout").GetString());
        Assert.Equal("0s", route.GetProperty("max_stream_duration").GetProperty("grpc_timeout_header_max").GetString());
        Assert.False(route.GetProperty("max_stream_duration").TryGetProperty("max_stream_duration", out _));
    }

    [Fact]
    public async Task An_http_backend_keeps_the_15_second_timeout_and_no_stream_cap()
    {
        var route = await RouteOfAsync([Service("web", ServiceProtocol.Http, "rest"), Service("rest", ServiceProtocol.Http)], "web", "rest");
        Assert.Equal("15s", route.GetProperty("timeout").GetString());
        Assert.False(route.TryGetProperty("max_stream_duration", out _));
    }

    [Fact]
    public async Task The_policy_sets_a_services_timeout_and_stream_cap_and_a_route_overrides_them()
    {
        var rpc = Service("rpc", ServiceProtocol.Grpc) with
        {
            Policy = new ServicePolicy { RequestTimeoutMs = 30_000, MaxStreamDurationMs = 600_000 },
            Routes = [new RouteRule { Name = "watch", Match = new RouteMatch { Prefix = "/watch" }, Targets = [new WeightedTarget { Weight = 100 }], TimeoutMs = 0, MaxStreamDurationMs = 3_600_000 }],
        };
        var services = new[] { Service("web", ServiceProtocol.Http, "rpc"), rpc };
        var fallback = await RouteOfAsync(services, "web", "rpc");
        Assert.Equal("30s", fallback.GetProperty("timeout").GetString());
        Assert.Equal("600s", fallback.GetProperty("max_stream_duration").GetProperty("max_stream_duration").GetString());
        Assert.Equal("600s", fallback.GetProperty("max_stream_duration").GetProperty("grpc_timeout_header_max").GetString());

        using var store = new TempStore();
        await store.Store.Desired.PutServicesAsync(services, CancellationToken.None);
        var outcome = Assert.Single(await store.Publisher.PublishAsync([new FleetId("t", "web")], CancellationToken.None));
        var host = JsonDocument.Parse(outcome.Snapshot![XdsType.Routes].Resources.Single().Json).RootElement
            .GetProperty("virtual_hosts").EnumerateArray().Single(h => h.GetProperty("name").GetString() == "rpc");
        var watch = host.GetProperty("routes").EnumerateArray().Single(r => r.GetProperty("name").GetString() == "watch").GetProperty("route");
        Assert.Equal("0s", watch.GetProperty("timeout").GetString());
        Assert.Equal("3600s", watch.GetProperty("max_stream_duration").GetProperty("max_stream_duration").GetString());
    }

    [Theory]
    [InlineData(false, null, null)]
    [InlineData(true, 3, 3)]
    [InlineData(true, null, 6)]
    public async Task The_policy_turns_zone_aware_routing_off_or_tunes_its_minimum_cluster_size(bool enabled, int? minimum, int? expected)
    {
        var rest = Service("rest", ServiceProtocol.Http) with { Policy = new ServicePolicy { ZoneAware = new ZoneAwareRouting { Enabled = enabled, MinClusterSize = minimum } } };
        using var store = new TempStore();
        await store.Store.Desired.PutServicesAsync([Service("web", ServiceProtocol.Http, "rest"), rest], CancellationToken.None);
        var outcome = Assert.Single(await store.Publisher.PublishAsync([new FleetId("t", "web")], CancellationToken.None));
        var cluster = JsonDocument.Parse(outcome.Snapshot![XdsType.Clusters].Find("outbound|rest")!.Json).RootElement;
        if (expected is null) Assert.False(cluster.TryGetProperty("common_lb_config", out _));
        else Assert.Equal(expected, cluster.GetProperty("common_lb_config").GetProperty("zone_aware_lb_config").GetProperty("min_cluster_size").GetInt32());
    }

    [Fact]
    public async Task A_grpc_services_inbound_route_lets_streams_live()
    {
        using var store = new TempStore();
        await store.Store.Desired.PutServicesAsync([Service("rpc", ServiceProtocol.Grpc)], CancellationToken.None);
        var outcome = Assert.Single(await store.Publisher.PublishAsync([new FleetId("t", "rpc")], CancellationToken.None));
        var inbound = System.Text.Encoding.UTF8.GetString(outcome.Snapshot![XdsType.Listeners].Find("inbound")!.Json.Span);
        Assert.Contains("\"timeout\":\"0s\"", inbound, StringComparison.Ordinal);
    }
}
