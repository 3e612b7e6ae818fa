using System.Net;
using Mesh.Core.Compile;
using Mesh.Core.Model;
using Mesh.Core.Serving;
using Mesh.Tests.Support;

namespace Mesh.Tests.Reliability;

/// <summary>Polls are not authenticated: what they may write to the store is bounded, and made-up nodes cannot pose as rejecting proxies.</summary>
public class TrackingTests
{
    private static readonly FleetId Fleet = new("shop", "storefront");

    [Fact]
    public async Task A_node_that_first_reports_a_version_it_was_never_served_is_not_tracked()
    {
        using var store = new TempStore();
        var tracker = new ProxyTracker(store.Store.Proxies, store.Settings, TimeProvider.System);
        Assert.False(await tracker.RecordAsync(Fleet, "made-up", XdsType.Clusters, [], "0123456789abcdef", "fedcba9876543210", CancellationToken.None));
        Assert.False(await tracker.RecordAsync(Fleet, "made-up", XdsType.Clusters, [], "0123456789abcdef", "fedcba9876543210", CancellationToken.None));
        Assert.Empty(await store.Store.Proxies.ListPollsAsync(Fleet, DateTimeOffset.MinValue, CancellationToken.None));

        // A real proxy starts empty, is served v1, then keeps reporting v0: that is a rejection.
        Assert.True(await tracker.RecordAsync(Fleet, "envoy-1", XdsType.Clusters, [], "", "v0", CancellationToken.None));
        Assert.True(await tracker.RecordAsync(Fleet, "envoy-1", XdsType.Clusters, [], "v0", "v1", CancellationToken.None));
        Assert.True(await tracker.RecordAsync(Fleet, "envoy-1", XdsType.Clusters, [], "v0", "v1", CancellationToken.None));
        var poll = Assert.Single(await store.Store.Proxies.ListPollsAsync(Fleet, DateTimeOffset.MinValue, CancellationToken.None));
        Assert.Equal("v1", poll.Rejected);
    }

    [Fact]
    public async Task A_fleet_tracks_at_most_its_limit_of_proxies_and_node_ids_with_control_characters_not_at_all()
    {
        using var store = new TempStore(new XdsSettings { MaxTrackedProxiesPerFleet = 5 });
        var tracker = new ProxyTracker(store.Store.Proxies, store.Settings, TimeProvider.System);
        var recorded = 0;
        for (var i = 0; i < 50; i++)
        {
            if (await tracker.RecordAsync(Fleet, $"node-{i}", XdsType.Clusters, [], "", "v1", CancellationToken.None)) recorded++;
        }
        Assert.Equal(5, recorded);
        Assert.Equal(5, await tracker.CountProxiesAsync(Fleet, CancellationToken.None));
        Assert.False(await tracker.RecordAsync(new FleetId("shop", "payments"), "evil\nnode", XdsType.Clusters, [], "", "v1", CancellationToken.None));
        Assert.False(await tracker.RecordAsync(new FleetId("shop", "payments"), new string('n', 300), XdsType.Clusters, [], "", "v1", CancellationToken.None));
    }

    [Fact]
    public async Task Thousands_of_polls_with_random_node_ids_and_old_versions_add_nothing_and_show_no_rejection()
    {
        await using var host = await LocalHostFixture.StartAsync();
        var random = new Random(11);
        for (var i = 0; i < 300; i++)
        {
            using var response = await host.PollAsAsync($"random-{random.Next()}", "shop/storefront", "clusters", "0000000000000000");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        var convergence = await LocalHostFixture.JsonAsync(await host.Http.GetAsync("/v1/meshes/shop/fleets/storefront/convergence"));
        Assert.Equal(0, convergence.GetProperty("counts").GetProperty("proxies").GetInt32());
        Assert.Empty(convergence.GetProperty("counts").GetProperty("rejected").EnumerateArray());
    }

    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public async Task A_proxy_that_keeps_reporting_no_version_after_its_first_config_counts_as_rejecting_after_two_refresh_intervals()
    {
        using var store = new TempStore();
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var tracker = new ProxyTracker(store.Store.Proxies, store.Settings, clock);
        Assert.True(await tracker.RecordAsync(Fleet, "envoy-1", XdsType.Clusters, [], "", "v1", CancellationToken.None));
        clock.Now += store.Settings.RefreshDelay;
        await tracker.RecordAsync(Fleet, "envoy-1", XdsType.Clusters, [], "", "v1", CancellationToken.None);
        Assert.Null(Assert.Single(await store.Store.Proxies.ListPollsAsync(Fleet, DateTimeOffset.MinValue, CancellationToken.None)).Rejected);

        clock.Now += store.Settings.RefreshDelay;
        await tracker.RecordAsync(Fleet, "envoy-1", XdsType.Clusters, [], "", "v1", CancellationToken.None);
        Assert.Equal("v1", Assert.Single(await store.Store.Proxies.ListPollsAsync(Fleet, DateTimeOffset.MinValue, CancellationToken.None)).Rejected);

        // A proxy that applies its first config in time is never counted as rejecting.
        Assert.True(await tracker.RecordAsync(Fleet, "envoy-2", XdsType.Clusters, [], "", "v1", CancellationToken.None));
        clock.Now += store.Settings.RefreshDelay;
        await tracker.RecordAsync(Fleet, "envoy-2", XdsType.Clusters, [], "v1", null, CancellationToken.None);
        clock.Now += 4 * store.Settings.RefreshDelay;
        await tracker.RecordAsync(Fleet, "envoy-2", XdsType.Clusters, [], "v1", null, CancellationToken.None);
        Assert.Null((await store.Store.Proxies.ListPollsAsync(Fleet, DateTimeOffset.MinValue, CancellationToken.None)).Single(p => p.Key.NodeId == "envoy-2").Rejected);
    }
}
