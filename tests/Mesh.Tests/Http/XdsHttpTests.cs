using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Envoy.Schema;
using Mesh.Tests.Support;

namespace Mesh.Tests.Http;

public class XdsHttpTests
{
    [Fact]
    public async Task A_first_poll_gets_200_a_repeat_gets_304_and_a_new_event_changes_the_version()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var first = await host.PollAsync("shop/storefront", "endpoints", "", "outbound|checkout-api");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var version = (await LocalHostFixture.JsonAsync(first)).GetProperty("version_info").GetString()!;

        using var repeat = await host.PollAsync("shop/storefront", "endpoints", version, "outbound|checkout-api");
        Assert.Equal(HttpStatusCode.NotModified, repeat.StatusCode);

        var running = SampleEvents.Bodies(host.Samples).Single(b => b.Sample == "01-checkout-v57-task-a-running").Body;
        (await host.PostEventsAsync(SampleEvents.SqsBatch(running))).EnsureSuccessStatusCode();

        using var changed = await host.PollAsync("shop/storefront", "endpoints", version, "outbound|checkout-api");
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        var body = await LocalHostFixture.JsonAsync(changed);
        Assert.NotEqual(version, body.GetProperty("version_info").GetString());
        Assert.Contains("10.42.17.83", body.GetRawText());
    }

    [Fact]
    public async Task An_endpoint_change_leaves_cds_and_lds_versions_alone()
    {
        await using var host = await LocalHostFixture.StartAsync();
        var cds = (await LocalHostFixture.JsonAsync(await host.PollAsync("shop/storefront", "clusters", ""))).GetProperty("version_info").GetString()!;
        var lds = (await LocalHostFixture.JsonAsync(await host.PollAsync("shop/storefront", "listeners", ""))).GetProperty("version_info").GetString()!;
        var running = SampleEvents.Bodies(host.Samples).Single(b => b.Sample == "01-checkout-v57-task-a-running").Body;
        (await host.PostEventsAsync(SampleEvents.SqsBatch(running))).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.NotModified, (await host.PollAsync("shop/storefront", "clusters", cds)).StatusCode);
        Assert.Equal(HttpStatusCode.NotModified, (await host.PollAsync("shop/storefront", "listeners", lds)).StatusCode);
    }

    [Fact]
    public async Task An_empty_version_is_never_answered_with_304()
    {
        await using var host = await LocalHostFixture.StartAsync();
        Assert.Equal(HttpStatusCode.OK, (await host.PollAsync("shop/payments", "clusters", "")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.PollAsync("shop/payments", "clusters", "")).StatusCode);
    }

    [Fact]
    public async Task Every_response_the_api_serves_after_the_story_is_accepted_by_envoys_schema()
    {
        await using var host = await LocalHostFixture.StartAsync();
        await host.ReplayStoryAsync();
        var responses = 0;
        foreach (var fleet in SampleEvents.Fleets(host.Samples).Select(f => f.ToString()))
        {
            var cds = await LocalHostFixture.JsonAsync(await host.PollAsync(fleet, "clusters", ""));
            var lds = await LocalHostFixture.JsonAsync(await host.PollAsync(fleet, "listeners", ""));
            var served = new List<string> { cds.GetRawText(), lds.GetRawText(), await (await host.PollAsync(fleet, "routes", "", "outbound")).Content.ReadAsStringAsync() };
            foreach (var cluster in cds.GetProperty("resources").EnumerateArray().Where(c => c.GetProperty("type").GetString() == "EDS"))
                served.Add(await (await host.PollAsync(fleet, "endpoints", "", cluster.GetProperty("name").GetString()!)).Content.ReadAsStringAsync());
            foreach (var response in served)
            {
                Assert.Empty(EnvoySchema.CheckMessage(response, "envoy.service.discovery.v3.DiscoveryResponse"));
                responses++;
            }
        }
        Assert.True(responses >= 14, $"only {responses} responses checked");
    }

    [Fact]
    public async Task Cds_and_lds_hold_every_resource_and_eds_exactly_the_named_one()
    {
        await using var host = await LocalHostFixture.StartAsync();
        var cds = await LocalHostFixture.JsonAsync(await host.PollAsync("shop/storefront", "clusters", ""));
        Assert.Equal(["inbound|3000", "outbound|checkout-api", "outbound|checkout-api|v57", "outbound|checkout-api|v58", "outbound|inventory-api", "passthrough"],
            cds.GetProperty("resources").EnumerateArray().Select(r => r.GetProperty("name").GetString()!).ToArray());
        Assert.Equal("type.googleapis.com/envoy.config.cluster.v3.Cluster", cds.GetProperty("type_url").GetString());
        var eds = await LocalHostFixture.JsonAsync(await host.PollAsync("shop/storefront", "endpoints", "", "outbound|inventory-api"));
        Assert.Equal("outbound|inventory-api", Assert.Single(eds.GetProperty("resources").EnumerateArray()).GetProperty("cluster_name").GetString());
    }

    [Fact]
    public async Task The_lower_camel_case_json_spelling_of_a_request_is_accepted()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var response = await host.Http.PostAsJsonAsync("/v3/discovery:routes", new Dictionary<string, object>
        {
            ["node"] = new Dictionary<string, string> { ["id"] = "p", ["cluster"] = "shop/storefront" },
            ["versionInfo"] = "",
            ["resourceNames"] = new[] { "outbound" },
            ["typeUrl"] = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
        });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("clusters", "shop/nobody", null, HttpStatusCode.NotFound, "Unknown fleet")]
    [InlineData("clusters", "no-slash", null, HttpStatusCode.BadRequest, "No fleet")]
    [InlineData("secrets", "shop/storefront", null, HttpStatusCode.NotFound, "Unknown discovery type")]
    public async Task Bad_polls_get_a_clear_problem(string type, string fleet, string? name, HttpStatusCode status, string title)
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var response = await host.PollAsync(fleet, type, "", name is null ? [] : [name]);
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(title, (await LocalHostFixture.JsonAsync(response)).GetProperty("title").GetString());
    }

    /// <summary>
    /// Envoy counts an error for a named EDS or RDS resource as a failed fetch and waits out initial_fetch_timeout;
    /// during a removal or a rollback a proxy may ask for a name the fleet no longer holds.
    /// </summary>
    [Theory]
    [InlineData("endpoints", "outbound|nothing", "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment", "cluster_name")]
    [InlineData("routes", "no-such-route", "type.googleapis.com/envoy.config.route.v3.RouteConfiguration", "name")]
    public async Task An_unknown_eds_or_rds_name_gets_200_with_an_empty_resource_of_that_name(string type, string name, string typeUrl, string nameField)
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var response = await host.PollAsync("shop/storefront", type, "", name);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Empty(EnvoySchema.CheckMessage(body, "envoy.service.discovery.v3.DiscoveryResponse"));
        var resource = Assert.Single(JsonDocument.Parse(body).RootElement.GetProperty("resources").EnumerateArray());
        Assert.Equal(typeUrl, resource.GetProperty("@type").GetString());
        Assert.Equal(name, resource.GetProperty(nameField).GetString());
        Assert.False(resource.TryGetProperty("virtual_hosts", out _));
        if (resource.TryGetProperty("endpoints", out var endpoints)) Assert.Equal(0, endpoints.GetArrayLength());

        // Asked again with the version it got: 304, and a known name beside it is still served in full.
        var version = JsonDocument.Parse(body).RootElement.GetProperty("version_info").GetString()!;
        using var again = await host.PollAsync("shop/storefront", type, version, name);
        Assert.Equal(HttpStatusCode.NotModified, again.StatusCode);
    }

    [Fact]
    public async Task A_type_url_that_does_not_match_the_path_is_refused()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var response = await host.Http.PostAsJsonAsync("/v3/discovery:clusters", new Dictionary<string, object>
        {
            ["node"] = new Dictionary<string, string> { ["cluster"] = "shop/storefront" },
            ["type_url"] = "type.googleapis.com/envoy.config.listener.v3.Listener",
        });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Views_show_meshes_services_fleets_and_snapshots()
    {
        await using var host = await LocalHostFixture.StartAsync();
        Assert.Equal("[\"shop\"]", await host.Http.GetStringAsync("/v1/meshes"));
        var services = await LocalHostFixture.JsonAsync(await host.Http.GetAsync("/v1/meshes/shop/services"));
        Assert.Equal(4, services.GetArrayLength());
        var fleets = await LocalHostFixture.JsonAsync(await host.Http.GetAsync("/v1/meshes/shop/fleets"));
        Assert.Equal(4, fleets.GetArrayLength());
        var snapshot = await LocalHostFixture.JsonAsync(await host.Http.GetAsync("/v1/meshes/shop/fleets/storefront/snapshot"));
        Assert.Equal(fleets.EnumerateArray().Single(f => f.GetProperty("fleet").GetString() == "shop/storefront").GetProperty("version").GetString(),
            snapshot.GetProperty("version").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await host.Http.GetAsync("/v1/meshes/nope/services")).StatusCode);
        Assert.Equal("ok", await host.Http.GetStringAsync("/healthz"));
    }

    [Fact]
    public async Task A_fleet_bootstrap_is_a_valid_envoy_bootstrap_whose_static_cluster_is_the_one_config_sources_name()
    {
        await using var host = await LocalHostFixture.StartAsync();
        var json = await host.Http.GetStringAsync("/v1/meshes/shop/fleets/storefront/bootstrap?node=storefront-1&zone=eu-west-1a");
        Assert.Empty(EnvoySchema.CheckMessage(json, "envoy.config.bootstrap.v3.Bootstrap"));
        using var bootstrap = System.Text.Json.JsonDocument.Parse(json);
        var root = bootstrap.RootElement;
        Assert.Equal("shop/storefront", root.GetProperty("node").GetProperty("cluster").GetString());
        Assert.Equal("eu-west-1a", root.GetProperty("node").GetProperty("locality").GetProperty("zone").GetString());
        var cds = root.GetProperty("dynamic_resources").GetProperty("cds_config").GetProperty("api_config_source");
        var staticCluster = Assert.Single(cds.GetProperty("cluster_names").EnumerateArray()).GetString();
        var staticClusters = root.GetProperty("static_resources").GetProperty("clusters").EnumerateArray().ToList();
        Assert.Contains(staticClusters, c => c.GetProperty("name").GetString() == staticCluster);
        Assert.True(TimeSpan.Parse("00:00:0" + cds.GetProperty("request_timeout").GetString()!.TrimEnd('s'), System.Globalization.CultureInfo.InvariantCulture) >= TimeSpan.FromSeconds(3));
        var outbound = await LocalHostFixture.JsonAsync(await host.PollAsync("shop/storefront", "listeners", ""));
        Assert.Contains($"\"cluster_names\":[\"{staticCluster}\"]", outbound.GetRawText());
    }

    /// <summary>
    /// Envoy refuses a local_cluster_name that is not a static cluster of the bootstrap; fed by EDS, its endpoints are
    /// the fleet's own, in the same locality form (region and zone) as node.locality, so Envoy finds its own zone.
    /// </summary>
    [Fact]
    public async Task The_bootstrap_names_a_static_eds_cluster_of_the_fleets_own_endpoints_as_its_local_cluster_for_zone_aware_routing()
    {
        await using var host = await LocalHostFixture.StartAsync();
        await host.ReplayStoryAsync();
        var root = System.Text.Json.JsonDocument.Parse(await host.Http.GetStringAsync("/v1/meshes/shop/fleets/checkout-api/bootstrap?node=c-1&zone=eu-west-1b")).RootElement;
        var local = root.GetProperty("cluster_manager").GetProperty("local_cluster_name").GetString()!;
        var cluster = root.GetProperty("static_resources").GetProperty("clusters").EnumerateArray().Single(c => c.GetProperty("name").GetString() == local);
        Assert.Equal("EDS", cluster.GetProperty("type").GetString());
        Assert.Equal(local, cluster.GetProperty("eds_cluster_config").GetProperty("service_name").GetString());
        Assert.Equal("eu-west-1", root.GetProperty("node").GetProperty("locality").GetProperty("region").GetString());

        var eds = await LocalHostFixture.JsonAsync(await host.PollAsync("shop/checkout-api", "endpoints", "", local));
        var assignment = Assert.Single(eds.GetProperty("resources").EnumerateArray());
        var localities = assignment.GetProperty("endpoints").EnumerateArray().Select(l => l.GetProperty("locality")).ToList();
        Assert.Contains(localities, l => l.GetProperty("region").GetString() == "eu-west-1" && l.GetProperty("zone").GetString() == "eu-west-1b");

        // Callers balance zone-aware over it.
        var cds = await LocalHostFixture.JsonAsync(await host.PollAsync("shop/storefront", "clusters", ""));
        var checkout = cds.GetProperty("resources").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "outbound|checkout-api");
        var zoneAware = checkout.GetProperty("common_lb_config").GetProperty("zone_aware_lb_config");
        Assert.Equal(100, zoneAware.GetProperty("routing_enabled").GetProperty("value").GetInt32());
        Assert.Equal(6, zoneAware.GetProperty("min_cluster_size").GetInt32());
    }
}
