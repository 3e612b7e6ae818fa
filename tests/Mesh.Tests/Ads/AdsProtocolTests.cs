using Envoy.Config.Cluster.V3;
using Envoy.Service.Discovery.V3;
using Grpc.Core;
using Mesh.Core.Model;
using Mesh.Core.Serving;
using Mesh.Tests.Http;
using Mesh.Tests.Support;

namespace Mesh.Tests.Ads;

/// <summary>ADS over a real gRPC channel on loopback, state of the world: what Envoy sends, and what it must get back.</summary>
public sealed class AdsProtocolTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(700);
    private const string Fleet = "shop/storefront";

    internal static string Token(string fleet) => new FleetTokens(Convert.FromBase64String(AdsHost.FleetTokenKey)).Issue(FleetId.TryParse(fleet, out var id) ? id : throw new ArgumentException(fleet));

    [Fact]
    public async Task A_head_moving_while_the_stream_waits_is_pushed_at_once_and_an_ack_is_not_answered()
    {
        await using var host = await LocalHostFixture.StartAsync(AdsHost.Settings());
        await using var ads = new AdsClient(AdsHost.AdsAddress(host));
        using var stream = ads.Service.StreamAggregatedResources();
        var responses = new AdsClient.Reader<DiscoveryResponse>(stream.ResponseStream);
        await stream.RequestStream.WriteAsync(AdsClient.Request(XdsType.Clusters, AdsClient.Node("sf-1", Fleet, Token(Fleet))));
        var clusters = await responses.NextAsync(Wait);
        Assert.NotNull(clusters);
        Assert.Equal(XdsTypes.ClusterUrl, clusters.TypeUrl);
        var rest = await (await host.PollAsync(Fleet, "clusters", "")).Content.ReadAsStringAsync();
        Assert.Contains(clusters.VersionInfo, rest, StringComparison.Ordinal);

        // Over ADS a cluster's endpoints come on the same stream.
        var outbound = clusters.Resources.Select(r => r.Unpack<Cluster>()).Single(c => c.Name == "outbound|checkout-api");
        Assert.Equal(Envoy.Config.Core.V3.ConfigSource.ConfigSourceSpecifierOneofCase.Ads, outbound.EdsClusterConfig.EdsConfig.ConfigSourceSpecifierCase);

        await stream.RequestStream.WriteAsync(AdsClient.Request(XdsType.Clusters, version: clusters.VersionInfo, nonce: clusters.Nonce));
        Assert.Null(await responses.NextAsync(Quiet));

        // A policy edit changes the callers' clusters: the waiting stream gets the new version without asking.
        using var alice = host.As("alice");
        var policy = "/v1/meshes/shop/services/checkout-api/policy";
        using (var edited = await PolicyApiTests.PutAsync(alice, policy, """{"loadBalancing": "LEAST_REQUEST"}""", await PolicyApiTests.ETagAsync(alice, policy)))
            edited.EnsureSuccessStatusCode();
        var pushed = await responses.NextAsync(Wait);
        Assert.NotNull(pushed);
        Assert.NotEqual(clusters.VersionInfo, pushed.VersionInfo);
        Assert.NotEqual(clusters.Nonce, pushed.Nonce);
        Assert.Equal(Cluster.Types.LbPolicy.LeastRequest, pushed.Resources.Select(r => r.Unpack<Cluster>()).Single(c => c.Name == "outbound|checkout-api").LbPolicy);
    }

    [Fact]
    public async Task A_nack_is_recorded_with_its_reason_and_the_rejected_version_is_not_sent_again()
    {
        await using var host = await LocalHostFixture.StartAsync(AdsHost.Settings());
        await using var ads = new AdsClient(AdsHost.AdsAddress(host));
        using var stream = ads.Service.StreamAggregatedResources();
        var responses = new AdsClient.Reader<DiscoveryResponse>(stream.ResponseStream);
        await stream.RequestStream.WriteAsync(AdsClient.Request(XdsType.Listeners, AdsClient.Node("sf-1", Fleet, Token(Fleet))));
        var listeners = await responses.NextAsync(Wait);
        Assert.NotNull(listeners);
        await stream.RequestStream.WriteAsync(AdsClient.Request(XdsType.Listeners, version: "", nonce: listeners.Nonce,
            error: "Error adding/updating listener(s) inbound: malformed IP address: 300.1.1.1"));
        Assert.Null(await responses.NextAsync(Quiet));

        using var alice = host.As("alice");
        var convergence = await LocalHostFixture.JsonAsync(await alice.GetAsync("/v1/meshes/shop/fleets/storefront/convergence"));
        var rejected = Assert.Single(convergence.GetProperty("counts").GetProperty("rejected").EnumerateArray());
        Assert.Equal("sf-1", rejected.GetProperty("nodeId").GetString());
        Assert.Equal(listeners.VersionInfo, rejected.GetProperty("rejectedVersion").GetString());
        Assert.Contains("malformed IP address", rejected.GetProperty("reason").GetString(), StringComparison.Ordinal);

        // Envoy's next request of the type answers the same nonce without error_detail: still no ACK, still rejecting.
        await stream.RequestStream.WriteAsync(AdsClient.Request(XdsType.Listeners, version: "", nonce: listeners.Nonce));
        Assert.Null(await responses.NextAsync(Quiet));
        Assert.Single((await LocalHostFixture.JsonAsync(await alice.GetAsync("/v1/meshes/shop/fleets/storefront/convergence")))
            .GetProperty("counts").GetProperty("rejected").EnumerateArray());

        // A new version is sent: the listener changes when the mesh's observability does.
        var settings = "/v1/meshes/shop/settings";
        using (var edited = await PolicyApiTests.PutAsync(alice, settings, """{"observability": {"accessLog": "JSON"}}""", await PolicyApiTests.ETagAsync(alice, settings)))
            edited.EnsureSuccessStatusCode();
        var next = await responses.NextAsync(Wait);
        Assert.NotNull(next);
        Assert.NotEqual(listeners.VersionInfo, next.VersionInfo);
        await stream.RequestStream.WriteAsync(AdsClient.Request(XdsType.Listeners, version: next.VersionInfo, nonce: next.Nonce));
        await Eventually(async () => (await LocalHostFixture.JsonAsync(await alice.GetAsync("/v1/meshes/shop/fleets/storefront/convergence")))
            .GetProperty("counts").GetProperty("rejected").GetArrayLength() == 0);
    }

    [Fact]
    public async Task Endpoint_and_route_names_are_subscribed_and_unsubscribed_by_the_names_a_request_carries()
    {
        await using var host = await LocalHostFixture.StartAsync(AdsHost.Settings());
        await using var ads = new AdsClient(AdsHost.AdsAddress(host));
        using var stream = ads.Service.StreamAggregatedResources();
        var responses = new AdsClient.Reader<DiscoveryResponse>(stream.ResponseStream);
        var node = AdsClient.Node("sf-1", Fleet, Token(Fleet));
        await stream.RequestStream.WriteAsync(AdsClient.Request(XdsType.Endpoints, node, names: "outbound|checkout-api"));
        var one = await responses.NextAsync(Wait);
        Assert.Equal(["outbound|checkout-api"], Names(one!));

        await stream.RequestStream.WriteAsync(AdsClient.Request(XdsType.Endpoints, version: one!.VersionInfo, nonce: one.Nonce, names: ["outbound|checkout-api", "outbound|inventory-api"]));
        var two = await responses.NextAsync(Wait);
        Assert.Equal(["outbound|checkout-api", "outbound|inventory-api"], Names(two!));

        await stream.RequestStream.WriteAsync(AdsClient.Request(XdsType.Endpoints, version: two!.VersionInfo, nonce: two.Nonce, names: "outbound|inventory-api"));
        var back = await responses.NextAsync(Wait);
        Assert.Equal(["outbound|inventory-api"], Names(back!));

        // A request that answers an older response (a stale nonce) is ignored.
        await stream.RequestStream.WriteAsync(AdsClient.Request(XdsType.Endpoints, version: one.VersionInfo, nonce: one.Nonce, names: "outbound|checkout-api"));
        Assert.Null(await responses.NextAsync(Quiet));

        await stream.RequestStream.WriteAsync(AdsClient.Request(XdsType.Routes, names: "outbound"));
        var routes = await responses.NextAsync(Wait);
        Assert.Equal(XdsTypes.RouteUrl, routes!.TypeUrl);
        Assert.Equal(["outbound"], Names(routes));
    }

    [Fact]
    public async Task Two_proxies_of_one_fleet_each_get_the_push_and_a_proxy_of_another_fleet_is_refused()
    {
        await using var host = await LocalHostFixture.StartAsync(AdsHost.Settings());
        await using var ads = new AdsClient(AdsHost.AdsAddress(host));
        var streams = new[] { ads.Service.StreamAggregatedResources(), ads.Service.StreamAggregatedResources() };
        var readers = streams.Select(s => new AdsClient.Reader<DiscoveryResponse>(s.ResponseStream)).ToArray();
        var first = new DiscoveryResponse[2];
        for (var i = 0; i < 2; i++)
        {
            await streams[i].RequestStream.WriteAsync(AdsClient.Request(XdsType.Endpoints, AdsClient.Node($"sf-{i}", Fleet, Token(Fleet)), names: "outbound|checkout-api"));
            first[i] = (await readers[i].NextAsync(Wait))!;
            await streams[i].RequestStream.WriteAsync(AdsClient.Request(XdsType.Endpoints, version: first[i].VersionInfo, nonce: first[i].Nonce, names: "outbound|checkout-api"));
        }
        await host.ReplayStoryAsync();
        for (var i = 0; i < 2; i++)
        {
            var pushed = await readers[i].NextAsync(Wait);
            Assert.NotNull(pushed);
            Assert.NotEqual(first[i].VersionInfo, pushed.VersionInfo);
        }
        foreach (var stream in streams) stream.Dispose();

        // storefront's token does not open payments' configuration; no token at all is not authenticated.
        using var other = ads.Service.StreamAggregatedResources();
        await other.RequestStream.WriteAsync(AdsClient.Request(XdsType.Clusters, AdsClient.Node("sf-1", "shop/payments", Token(Fleet))));
        Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(() => other.ResponseStream.MoveNext(CancellationToken.None))).StatusCode);
        using var anonymous = ads.Service.StreamAggregatedResources();
        await anonymous.RequestStream.WriteAsync(AdsClient.Request(XdsType.Clusters, AdsClient.Node("sf-1", Fleet)));
        Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(() => anonymous.ResponseStream.MoveNext(CancellationToken.None))).StatusCode);
        // A stream that proved one fleet cannot switch to another midway.
        using var switching = ads.Service.StreamAggregatedResources();
        await switching.RequestStream.WriteAsync(AdsClient.Request(XdsType.Clusters, AdsClient.Node("sf-1", Fleet, Token(Fleet))));
        Assert.True(await switching.ResponseStream.MoveNext(CancellationToken.None));
        await switching.RequestStream.WriteAsync(AdsClient.Request(XdsType.Listeners, AdsClient.Node("sf-1", "shop/payments", Token(Fleet))));
        Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(() => switching.ResponseStream.MoveNext(CancellationToken.None))).StatusCode);

        // The refused streams were not recorded: only the two proxies are.
        using var alice = host.As("alice");
        Assert.Equal(0, (await LocalHostFixture.JsonAsync(await alice.GetAsync("/v1/meshes/shop/fleets/payments/convergence"))).GetProperty("counts").GetProperty("proxies").GetInt32());
    }

    [Fact]
    public async Task A_head_move_that_touches_every_type_is_pushed_clusters_then_endpoints_then_listeners_then_routes()
    {
        await using var host = await LocalHostFixture.StartAsync(AdsHost.Settings());
        await using var ads = new AdsClient(AdsHost.AdsAddress(host));
        using var stream = ads.Service.StreamAggregatedResources();
        var responses = new AdsClient.Reader<DiscoveryResponse>(stream.ResponseStream);
        var node = AdsClient.Node("sf-1", Fleet, Token(Fleet));
        foreach (var (type, names) in new[] { (XdsType.Clusters, Array.Empty<string>()), (XdsType.Endpoints, ["outbound|checkout-api"]), (XdsType.Listeners, []), (XdsType.Routes, ["outbound"]) })
        {
            await stream.RequestStream.WriteAsync(AdsClient.Request(type, node, names: names));
            var response = (await responses.NextAsync(Wait))!;
            await stream.RequestStream.WriteAsync(AdsClient.Request(type, version: response.VersionInfo, nonce: response.Nonce, names: names));
            node = null;
        }
        Assert.Null(await responses.NextAsync(Quiet));
        // Egress DROP_ALL adds a cluster (the blackhole), changes the outbound listener and the egress route.
        using var alice = host.As("alice");
        var settings = "/v1/meshes/shop/settings";
        using (var edited = await PolicyApiTests.PutAsync(alice, settings, """{"egress": {"mode": "DROP_ALL"}}""", await PolicyApiTests.ETagAsync(alice, settings)))
            edited.EnsureSuccessStatusCode();
        var order = new List<string>();
        while (await responses.NextAsync(Quiet) is { } pushed) order.Add(pushed.TypeUrl);
        Assert.NotEmpty(order);
        var ranks = order.Select(url => XdsTypes.All.ToList().FindIndex(t => t.TypeUrl() == url)).ToList();
        Assert.Equal(ranks.Order(), ranks);
    }

    [Theory]
    [InlineData(null, "shop/storefront")]
    [InlineData("sf-1", "storefront")]
    [InlineData("sf-1", "shop/storefront/extra")]
    [InlineData("", "shop/storefront")]
    public async Task A_first_request_without_a_node_or_with_a_cluster_that_is_no_fleet_is_invalid(string? nodeId, string cluster)
    {
        await using var host = await LocalHostFixture.StartAsync(AdsHost.Settings());
        await using var ads = new AdsClient(AdsHost.AdsAddress(host));
        using var stream = ads.Service.StreamAggregatedResources();
        await stream.RequestStream.WriteAsync(AdsClient.Request(XdsType.Clusters, nodeId is null ? null : AdsClient.Node(nodeId, cluster, Token(Fleet))));
        var refused = await Assert.ThrowsAsync<RpcException>(() => stream.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
    }

    private static List<string> Names(DiscoveryResponse response) =>
        [.. response.Resources.Select(r => r.TypeUrl == XdsTypes.EndpointUrl
            ? r.Unpack<Envoy.Config.Endpoint.V3.ClusterLoadAssignment>().ClusterName
            : r.Unpack<Envoy.Config.Route.V3.RouteConfiguration>().Name)];

    internal static async Task Eventually(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the condition never held");
            await Task.Delay(50);
        }
    }
}
