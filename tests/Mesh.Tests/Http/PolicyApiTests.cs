using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Envoy.Schema;
using Mesh.Tests.Support;

namespace Mesh.Tests.Http;

public class PolicyApiTests
{
    private const string Canary10 = """
        {"routes": [{"name": "canary", "match": {"prefix": "/"},
                     "targets": [{"subset": "v57", "weight": 90}, {"subset": "v58", "weight": 10}],
                     "retry": {"on": ["5xx", "reset"], "attempts": 3, "perTryTimeoutMs": 2000}, "timeoutMs": 10000}]}
        """;

    public static TheoryData<string, string, string, HttpStatusCode, string> BadEdits => new()
    {
        { "malformed JSON", "services/checkout-api/routes", """{"routes": [{"name": "a",""", HttpStatusCode.BadRequest, "$.routes[0]" },
        { "wrong type", "services/checkout-api", """{"port": "eighty"}""", HttpStatusCode.BadRequest, "$.port" },
        { "unknown field", "services/checkout-api/policy", """{"mtls": "STRICT", "maxConnections": 5}""", HttpStatusCode.BadRequest, "$.maxConnections" },
        { "bad enum", "services/checkout-api/policy", """{"mtls": "SOMETIMES"}""", HttpStatusCode.BadRequest, "$.mtls" },
        { "port out of range", "services/checkout-api", """{"port": 70000}""", HttpStatusCode.UnprocessableEntity, "$.port" },
        { "outlier percent out of range", "services/checkout-api/policy", """{"outlierDetection": {"maxEjectionPercent": 150}}""", HttpStatusCode.UnprocessableEntity, "$.outlierDetection.maxEjectionPercent" },
        { "unknown backend", "services/checkout-api", """{"port": 8080, "backends": ["payments", "fraud-check"]}""", HttpStatusCode.UnprocessableEntity, "$.backends[1]" },
        { "unknown subset", "services/checkout-api/routes", """{"routes": [{"name": "r", "targets": [{"subset": "v99", "weight": 100}]}]}""", HttpStatusCode.UnprocessableEntity, "$.routes[0].targets[0].subset" },
        { "weights not 100", "services/checkout-api/routes", """{"routes": [{"name": "r", "targets": [{"subset": "v57", "weight": 90}, {"subset": "v58", "weight": 20}]}]}""", HttpStatusCode.UnprocessableEntity, "$.routes[0].targets" },
        { "regex that does not compile", "services/checkout-api/routes", """{"routes": [{"name": "r", "match": {"regex": "^/(a"}, "targets": [{"weight": 100}]}]}""", HttpStatusCode.UnprocessableEntity, "$.routes[0].match.regex" },
        { "shadowed route", "services/checkout-api/routes", """{"routes": [{"name": "all", "match": {"prefix": "/api"}, "targets": [{"weight": 100}]}, {"name": "orders", "match": {"prefix": "/api/orders"}, "targets": [{"subset": "v58", "weight": 100}]}]}""", HttpStatusCode.UnprocessableEntity, "$.routes[1].match" },
        { "bad name", "services/checkout-api/routes", """{"routes": [{"name": "Not_A_Label", "targets": [{"weight": 100}]}]}""", HttpStatusCode.UnprocessableEntity, "$.routes[0].name" },
        { "egress mode unknown", "settings", """{"egress": {"mode": "SOME"}}""", HttpStatusCode.BadRequest, "$.egress.mode" },
        { "settings field unknown", "settings", """{"egress": {"mode": "DROP_ALL", "allow": ["x"]}}""", HttpStatusCode.BadRequest, "$.egress.allow" },
        { "external service with nothing", "settings", """{"egress": {"externalServices": [{"name": "x"}]}}""", HttpStatusCode.UnprocessableEntity, "$.egress.externalServices[0]" },
        { "external range malformed", "settings", """{"egress": {"externalServices": [{"name": "db", "cidrs": ["10.0.0.1/16"]}]}}""", HttpStatusCode.UnprocessableEntity, "$.egress.externalServices[0].cidrs[0]" },
        { "external host without ports", "settings", """{"egress": {"externalServices": [{"name": "s3", "hosts": ["s3.amazonaws.com"]}]}}""", HttpStatusCode.UnprocessableEntity, "$.egress.externalServices[0].ports" },
        { "external host of the mesh", "settings", """{"egress": {"externalServices": [{"name": "x", "hosts": ["checkout-api"], "ports": [80]}]}}""", HttpStatusCode.UnprocessableEntity, "$.egress.externalServices[0].hosts[0]" },
        { "external host twice", "settings", """{"egress": {"externalServices": [{"name": "a", "hosts": ["x.example"], "ports": [443]}, {"name": "b", "hosts": ["X.example"], "ports": [443]}]}}""", HttpStatusCode.UnprocessableEntity, "$.egress.externalServices[1].hosts[0]" },
        { "external port of the sidecar", "settings", """{"egress": {"externalServices": [{"name": "a", "hosts": ["x.example"], "ports": [15001]}]}}""", HttpStatusCode.UnprocessableEntity, "$.egress.externalServices[0].ports[0]" },
        { "certificate path that breaks out of its quotes", "settings", """{"certificates": {"certificateChain": "/certs/a'; rm -rf /.pem", "privateKey": "/certs/k.pem", "trustedCa": "/certs/ca.pem"}}""", HttpStatusCode.UnprocessableEntity, "$.certificates.certificateChain" },
        { "ca outside the watched directory", "settings", """{"certificates": {"certificateChain": "/certs/a.pem", "privateKey": "/certs/k.pem", "trustedCa": "/etc/ca.pem"}}""", HttpStatusCode.UnprocessableEntity, "$.certificates.trustedCa" },
        { "further port on the main one", "services/checkout-api", """{"port": 8080, "additionalPorts": [{"port": 8080}]}""", HttpStatusCode.UnprocessableEntity, "$.additionalPorts[0].port" },
        { "allowed callers without STRICT", "services/checkout-api/policy", """{"mtls": "PERMISSIVE", "allowedCallers": ["storefront"]}""", HttpStatusCode.UnprocessableEntity, "$.allowedCallers" },
    };

    [Theory]
    [MemberData(nameof(BadEdits))]
    public async Task A_bad_edit_is_refused_whole_with_a_problem_naming_the_field_and_changes_nothing(string _, string resource, string body, HttpStatusCode status, string path)
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        var before = await StateAsync(host);

        using var response = await PutAsync(alice, $"/v1/meshes/shop/{resource}", body, await ETagAsync(alice, $"/v1/meshes/shop/{resource}"));
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await LocalHostFixture.JsonAsync(response);
        Assert.Contains(problem.GetProperty("errors").EnumerateArray(), e => e.GetProperty("path").GetString() == path);
        Assert.Equal(before, await StateAsync(host));
    }

    [Fact]
    public async Task Oversized_bodies_wrong_media_types_and_unauthenticated_writes_are_refused_and_change_nothing()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        var before = await StateAsync(host);
        var tag = await ETagAsync(alice, "/v1/meshes/shop/services/checkout-api/routes");
        var huge = $$"""{"routes": [], "padding": "{{new string('x', 300 * 1024)}}"}""";

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await PutAsync(alice, "/v1/meshes/shop/services/checkout-api/routes", huge, tag)).StatusCode);
        using var text = new HttpRequestMessage(HttpMethod.Put, "/v1/meshes/shop/services/checkout-api/routes") { Content = new StringContent(Canary10, Encoding.UTF8, "text/plain") };
        text.Headers.IfMatch.Add(EntityTagHeaderValue.Parse(tag!));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await alice.SendAsync(text)).StatusCode);
        using var anonymous = await PutAsync(host.Http, "/v1/meshes/shop/services/checkout-api/routes", Canary10, tag);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("application/problem+json", anonymous.Content.Headers.ContentType?.MediaType);
        using var wrongToken = new HttpClient { BaseAddress = host.Http.BaseAddress };
        wrongToken.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "guess");
        Assert.Equal(HttpStatusCode.Unauthorized, (await PutAsync(wrongToken, "/v1/meshes/shop/services/checkout-api/routes", Canary10, tag)).StatusCode);
        Assert.Equal(before, await StateAsync(host));
    }

    [Fact]
    public async Task Two_operators_editing_one_resource_with_the_same_etag_get_one_success_and_one_412()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        using var bob = host.As("bob");
        var tag = await ETagAsync(alice, "/v1/meshes/shop/services/checkout-api/routes");

        Assert.Equal(HttpStatusCode.PreconditionRequired, (await PutAsync(alice, "/v1/meshes/shop/services/checkout-api/routes", Canary10, null)).StatusCode);
        var bobsRoutes = Canary10.Replace("\"weight\": 90", "\"weight\": 50").Replace("\"weight\": 10", "\"weight\": 50");
        var responses = await Task.WhenAll(
            PutAsync(alice, "/v1/meshes/shop/services/checkout-api/routes", Canary10, tag),
            PutAsync(bob, "/v1/meshes/shop/services/checkout-api/routes", bobsRoutes, tag));
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.PreconditionFailed], responses.Select(r => r.StatusCode).Order());

        var changes = await LocalHostFixture.JsonAsync(await alice.GetAsync("/v1/meshes/shop/changes"));
        var latest = changes.GetProperty("items")[0];
        var winner = responses.Single(r => r.StatusCode == HttpStatusCode.OK) == responses[0] ? "alice" : "bob";
        Assert.Equal(winner, latest.GetProperty("actor").GetString());
    }

    [Fact]
    public async Task Edits_of_different_resources_at_once_are_both_kept()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        using var bob = host.As("bob");
        var routesTag = await ETagAsync(alice, "/v1/meshes/shop/services/checkout-api/routes");
        var policyTag = await ETagAsync(bob, "/v1/meshes/shop/services/checkout-api/policy");
        var responses = await Task.WhenAll(
            PutAsync(alice, "/v1/meshes/shop/services/checkout-api/routes", Canary10, routesTag),
            PutAsync(bob, "/v1/meshes/shop/services/checkout-api/policy", """{"loadBalancing": "LEAST_REQUEST"}""", policyTag));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Contains("canary", await alice.GetStringAsync("/v1/meshes/shop/services/checkout-api/routes"));
        Assert.Contains("LEAST_REQUEST", await alice.GetStringAsync("/v1/meshes/shop/services/checkout-api/policy"));
    }

    [Fact]
    public async Task A_dry_run_stores_nothing_and_returns_exactly_the_diff_that_applying_produces()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        await host.PollAsAsync("storefront-1", "shop/storefront", "routes", "", "outbound");
        var tag = await ETagAsync(alice, "/v1/meshes/shop/services/checkout-api/routes");
        var before = await StateAsync(host);

        using var dryRun = await PutAsync(alice, "/v1/meshes/shop/services/checkout-api/routes?dryRun=true", Canary10, tag);
        Assert.Equal(HttpStatusCode.OK, dryRun.StatusCode);
        var plan = (await LocalHostFixture.JsonAsync(dryRun)).GetProperty("plan");
        Assert.Equal(before, await StateAsync(host));
        var storefront = plan.EnumerateArray().Single(f => f.GetProperty("fleet").GetString() == "shop/storefront");
        Assert.Equal(1, storefront.GetProperty("proxies").GetInt32());
        var routes = storefront.GetProperty("changed").EnumerateArray().Single(r => r.GetProperty("type").GetString() == "routes");
        Assert.Contains(routes.GetProperty("fields").EnumerateArray(), f => f.GetProperty("path").GetString()!.EndsWith(".route.weighted_clusters", StringComparison.Ordinal)
            && f.GetProperty("after").GetString()!.Contains("\"outbound|checkout-api|v58\",\"weight\":10", StringComparison.Ordinal));

        using var applied = await PutAsync(alice, "/v1/meshes/shop/services/checkout-api/routes", Canary10, tag);
        Assert.Equal(HttpStatusCode.OK, applied.StatusCode);
        Assert.Equal(plan.GetRawText(), (await LocalHostFixture.JsonAsync(applied)).GetProperty("plan").GetRawText());
    }

    [Fact]
    public async Task Rolling_back_a_change_restores_the_snapshot_byte_for_byte_as_a_new_change()
    {
        await using var host = await LocalHostFixture.StartAsync();
        await host.ReplayStoryAsync();
        using var alice = host.As("alice");
        var original = await alice.GetByteArrayAsync("/v1/meshes/shop/fleets/storefront/snapshot");

        using var request = new HttpRequestMessage(HttpMethod.Put, "/v1/meshes/shop/services/checkout-api/routes") { Content = new StringContent(Canary10, Encoding.UTF8, "application/json") };
        request.Headers.IfMatch.Add(EntityTagHeaderValue.Parse((await ETagAsync(alice, "/v1/meshes/shop/services/checkout-api/routes"))!));
        request.Headers.Add("X-Change-Reason", "canary 58 at 10%");
        using var applied = await alice.SendAsync(request);
        var change = (await LocalHostFixture.JsonAsync(applied)).GetProperty("change");
        Assert.Equal("canary 58 at 10%", change.GetProperty("reason").GetString());
        Assert.NotEqual(original, await alice.GetByteArrayAsync("/v1/meshes/shop/fleets/storefront/snapshot"));

        using var rollback = await alice.PostAsync($"/v1/meshes/shop/changes/{change.GetProperty("id").GetString()}/rollback", null);
        Assert.Equal(HttpStatusCode.OK, rollback.StatusCode);
        var restore = (await LocalHostFixture.JsonAsync(rollback)).GetProperty("change");
        Assert.Equal(change.GetProperty("id").GetString(), restore.GetProperty("rollbackOf").GetString());
        Assert.Equal(original, await alice.GetByteArrayAsync("/v1/meshes/shop/fleets/storefront/snapshot"));
        Assert.Equal("""{"routes":[]}""", await alice.GetStringAsync("/v1/meshes/shop/services/checkout-api/routes"));
    }

    [Fact]
    public async Task Egress_settings_recompile_every_fleet_as_one_change_that_rolls_back()
    {
        await using var host = await LocalHostFixture.StartAsync();
        await host.ReplayStoryAsync();
        using var alice = host.As("alice");
        var original = await alice.GetByteArrayAsync("/v1/meshes/shop/fleets/storefront/snapshot");
        var defaults = await alice.GetStringAsync("/v1/meshes/shop/settings");
        Assert.StartsWith("""{"egress":{"mode":"ALLOW_ALL","externalServices":[]},"observability":{"accessLog":"OFF",""", defaults, StringComparison.Ordinal);
        const string dropAll = """{"egress": {"mode": "DROP_ALL", "externalServices": [{"name": "stripe", "hosts": ["api.stripe.com"], "ports": [443]}]}}""";

        Assert.Equal(HttpStatusCode.PreconditionRequired, (await PutAsync(alice, "/v1/meshes/shop/settings", dropAll, null)).StatusCode);
        using var applied = await PutAsync(alice, "/v1/meshes/shop/settings", dropAll, await ETagAsync(alice, "/v1/meshes/shop/settings"));
        Assert.Equal(HttpStatusCode.OK, applied.StatusCode);
        var result = await LocalHostFixture.JsonAsync(applied);
        var change = result.GetProperty("change");
        Assert.Equal(new[] { "checkout-api", "inventory-api", "payments", "storefront" }, result.GetProperty("plan").EnumerateArray().Select(p => p.GetProperty("fleet").GetString()!.Split('/')[1]).Order());
        var stored = await LocalHostFixture.JsonAsync(await alice.GetAsync($"/v1/meshes/shop/changes/{change.GetProperty("id").GetString()}"));
        Assert.Equal("settings", Assert.Single(stored.GetProperty("resources").EnumerateArray()).GetProperty("resource").GetString());
        var listeners = await LocalHostFixture.JsonAsync(await host.PollAsync("shop/storefront", "listeners", ""));
        var outbound = listeners.GetProperty("resources").EnumerateArray().Single(l => l.GetProperty("name").GetString() == "outbound");
        Assert.Equal("blackhole", outbound.GetProperty("default_filter_chain").GetProperty("filters")[0].GetProperty("typed_config").GetProperty("cluster").GetString());

        using var rollback = await alice.PostAsync($"/v1/meshes/shop/changes/{change.GetProperty("id").GetString()}/rollback", null);
        Assert.Equal(HttpStatusCode.OK, rollback.StatusCode);
        Assert.Equal(original, await alice.GetByteArrayAsync("/v1/meshes/shop/fleets/storefront/snapshot"));
        Assert.Equal(defaults, await alice.GetStringAsync("/v1/meshes/shop/settings"));
    }

    [Fact]
    public async Task Changes_are_listed_newest_first_in_pages_and_each_records_actor_resources_and_versions()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        await PutAsync(alice, "/v1/meshes/shop/services/checkout-api/routes", Canary10, await ETagAsync(alice, "/v1/meshes/shop/services/checkout-api/routes"));
        await PutAsync(alice, "/v1/meshes/shop/services/checkout-api/policy", """{"connectionPool": {"maxConnections": 100}}""", await ETagAsync(alice, "/v1/meshes/shop/services/checkout-api/policy"));

        var first = await LocalHostFixture.JsonAsync(await alice.GetAsync("/v1/meshes/shop/changes?limit=1"));
        var newest = first.GetProperty("items")[0];
        Assert.Equal("alice", newest.GetProperty("actor").GetString());
        var resource = newest.GetProperty("resources").EnumerateArray().Single();
        Assert.Equal("services/checkout-api/policy", resource.GetProperty("resource").GetString());
        Assert.Equal(100, resource.GetProperty("after").GetProperty("connectionPool").GetProperty("maxConnections").GetInt32());
        Assert.Contains(newest.GetProperty("published").EnumerateArray(), p => p.GetProperty("fleet").GetString() == "shop/storefront" && p.GetProperty("status").GetString() == "Published");

        var second = await LocalHostFixture.JsonAsync(await alice.GetAsync($"/v1/meshes/shop/changes?limit=1&after={first.GetProperty("next").GetString()}"));
        Assert.Equal("services/checkout-api/routes", second.GetProperty("items")[0].GetProperty("resources")[0].GetProperty("resource").GetString());
        var third = await LocalHostFixture.JsonAsync(await alice.GetAsync($"/v1/meshes/shop/changes?limit=1&after={second.GetProperty("next").GetString()}"));
        Assert.Equal("seed", third.GetProperty("items")[0].GetProperty("actor").GetString());
        Assert.False(third.TryGetProperty("next", out _));
    }

    [Fact]
    public async Task Convergence_counts_proxies_on_the_new_version_those_behind_and_those_that_rejected_it()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        var old = new Dictionary<string, string>();
        foreach (var node in new[] { "sf-1", "sf-2", "sf-3" })
            old[node] = (await LocalHostFixture.JsonAsync(await host.PollAsAsync(node, "shop/storefront", "routes", "", "outbound"))).GetProperty("version_info").GetString()!;

        using var applied = await PutAsync(alice, "/v1/meshes/shop/services/checkout-api/routes", Canary10, await ETagAsync(alice, "/v1/meshes/shop/services/checkout-api/routes"));
        var id = (await LocalHostFixture.JsonAsync(applied)).GetProperty("change").GetProperty("id").GetString();

        // sf-1 takes the new routes; sf-2 is sent them but keeps reporting the old version (Envoy rejected them); sf-3 has not polled since.
        var fresh = (await LocalHostFixture.JsonAsync(await host.PollAsAsync("sf-1", "shop/storefront", "routes", old["sf-1"], "outbound"))).GetProperty("version_info").GetString()!;
        Assert.Equal(HttpStatusCode.NotModified, (await host.PollAsAsync("sf-1", "shop/storefront", "routes", fresh, "outbound")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.PollAsAsync("sf-2", "shop/storefront", "routes", old["sf-2"], "outbound")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.PollAsAsync("sf-2", "shop/storefront", "routes", old["sf-2"], "outbound")).StatusCode);

        var convergence = await LocalHostFixture.JsonAsync(await alice.GetAsync($"/v1/meshes/shop/changes/{id}/convergence"));
        var storefront = convergence.GetProperty("fleets").EnumerateArray().Single(f => f.GetProperty("fleet").GetString() == "shop/storefront").GetProperty("counts");
        Assert.Equal(3, storefront.GetProperty("proxies").GetInt32());
        Assert.Equal(1, storefront.GetProperty("current").GetInt32());
        Assert.Equal(1, storefront.GetProperty("behind").GetInt32());
        var rejected = storefront.GetProperty("rejected").EnumerateArray().Single();
        Assert.Equal("sf-2", rejected.GetProperty("nodeId").GetString());
        Assert.Equal(fresh, rejected.GetProperty("rejectedVersion").GetString());
        Assert.Equal(old["sf-2"], rejected.GetProperty("runningVersion").GetString());

        // Once it takes the version, it counts as current.
        Assert.Equal(HttpStatusCode.NotModified, (await host.PollAsAsync("sf-2", "shop/storefront", "routes", fresh, "outbound")).StatusCode);
        var fleet = await LocalHostFixture.JsonAsync(await alice.GetAsync("/v1/meshes/shop/fleets/storefront/convergence"));
        Assert.Equal(2, fleet.GetProperty("counts").GetProperty("current").GetInt32());
        Assert.Empty(fleet.GetProperty("counts").GetProperty("rejected").EnumerateArray());
    }

    [Fact]
    public async Task Routes_and_every_policy_compile_into_resources_envoys_schema_accepts()
    {
        await using var host = await LocalHostFixture.StartAsync();
        await host.ReplayStoryAsync();
        using var alice = host.As("alice");
        var routes = """
            {"routes": [
              {"name": "beta-users", "match": {"prefix": "/cart", "headers": [{"name": "x-beta", "exact": "1"}, {"name": "x-debug", "present": true, "invert": true}],
                                                "queryParameters": [{"name": "v", "regex": "^5[78]$"}], "method": "POST"},
               "targets": [{"subset": "v58", "weight": 100}], "idleTimeoutMs": 60000},
              {"name": "orders", "match": {"regex": "^/orders/[0-9]+$"}, "targets": [{"subset": "v57", "weight": 50}, {"subset": "v58", "weight": 50}],
               "retry": {"on": ["5xx", "connect-failure"], "attempts": 2, "perTryTimeoutMs": 500, "backoffBaseMs": 10, "backoffMaxMs": 100}},
              {"name": "rest", "match": {"prefix": "/"}, "targets": [{"subset": "v57", "weight": 0}, {"subset": "v58", "weight": 100}], "timeoutMs": 0}]}
            """;
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(alice, "/v1/meshes/shop/services/checkout-api/routes", routes, await ETagAsync(alice, "/v1/meshes/shop/services/checkout-api/routes"))).StatusCode);
        var strict = """
            {"mtls": "STRICT", "allowedCallers": ["storefront"], "loadBalancing": "LEAST_REQUEST",
             "connectionPool": {"maxConnections": 200, "maxPendingRequests": 50, "maxRequests": 400, "maxRetries": 5},
             "outlierDetection": {"consecutive5xx": 3, "intervalMs": 5000, "baseEjectionMs": 15000, "maxEjectionPercent": 50}}
            """;
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(alice, "/v1/meshes/shop/services/checkout-api/policy", strict, await ETagAsync(alice, "/v1/meshes/shop/services/checkout-api/policy"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(alice, "/v1/meshes/shop/services/payments/policy", """{"mtls": "PERMISSIVE"}""", await ETagAsync(alice, "/v1/meshes/shop/services/payments/policy"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(alice, "/v1/meshes/shop/services/inventory-api/policy", """{"mtls": "STRICT", "allowedCallers": ["storefront", "checkout-api"]}""", await ETagAsync(alice, "/v1/meshes/shop/services/inventory-api/policy"))).StatusCode);
        var service = """{"port": 9000, "protocol": "grpc", "workload": {"platform": "ecs", "cluster": "payments-prod", "service": "payments"}, "healthCheck": {"path": "/grpc.health.v1.Health/Check", "intervalMs": 5000, "timeoutMs": 1000}}""";
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(alice, "/v1/meshes/shop/services/payments", service, await ETagAsync(alice, "/v1/meshes/shop/services/payments"))).StatusCode);

        var checkedResources = 0;
        foreach (var fleet in new[] { "shop/storefront", "shop/checkout-api", "shop/payments", "shop/inventory-api" })
        {
            var snapshot = await LocalHostFixture.JsonAsync(await alice.GetAsync($"/v1/meshes/{fleet.Replace("/", "/fleets/", StringComparison.Ordinal)}/snapshot"));
            foreach (var resource in snapshot.GetProperty("sets").EnumerateArray().SelectMany(s => s.GetProperty("resources").EnumerateArray()))
            {
                var json = resource.GetProperty("body").GetRawText();
                Assert.True(EnvoySchema.CheckResource(json) is { Count: 0 }, $"{fleet}: {string.Join("; ", EnvoySchema.CheckResource(json))}\n{json}");
                checkedResources++;
            }
        }
        Assert.True(checkedResources > 20);
        var storefrontClusters = await alice.GetStringAsync("/v1/meshes/shop/fleets/storefront/snapshot");
        Assert.Contains("UpstreamTlsContext", storefrontClusters);
        Assert.Contains("spiffe://mesh.local/mesh/shop/service/checkout-api", storefrontClusters);
        var checkout = await alice.GetStringAsync("/v1/meshes/shop/fleets/checkout-api/snapshot");
        Assert.Contains("envoy.filters.http.rbac", checkout);
        Assert.Contains("spiffe://mesh.local/mesh/shop/service/storefront", checkout);
    }

    [Fact]
    public async Task Meshes_are_created_listed_and_deleted_only_when_empty()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        Assert.Equal(HttpStatusCode.Created, (await alice.PutAsync("/v1/meshes/staging", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alice.PutAsync("/v1/meshes/staging", null)).StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await alice.PutAsync("/v1/meshes/Bad_Name", null)).StatusCode);
        Assert.Contains("staging", await alice.GetStringAsync("/v1/meshes"));
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(alice, "/v1/meshes/staging/services/web", """{"port": 8080}""", null)).StatusCode);

        using var nonEmpty = new HttpRequestMessage(HttpMethod.Delete, "/v1/meshes/staging");
        nonEmpty.Headers.IfMatch.Add(EntityTagHeaderValue.Parse((await ETagAsync(alice, "/v1/meshes/staging"))!));
        Assert.Equal(HttpStatusCode.Conflict, (await alice.SendAsync(nonEmpty)).StatusCode);

        using var deleteService = new HttpRequestMessage(HttpMethod.Delete, "/v1/meshes/staging/services/web");
        deleteService.Headers.IfMatch.Add(EntityTagHeaderValue.Parse((await ETagAsync(alice, "/v1/meshes/staging/services/web"))!));
        Assert.Equal(HttpStatusCode.OK, (await alice.SendAsync(deleteService)).StatusCode);
        using var delete = new HttpRequestMessage(HttpMethod.Delete, "/v1/meshes/staging");
        delete.Headers.IfMatch.Add(EntityTagHeaderValue.Parse((await ETagAsync(alice, "/v1/meshes/staging"))!));
        Assert.Equal(HttpStatusCode.OK, (await alice.SendAsync(delete)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync("/v1/meshes/staging")).StatusCode);
    }

    [Fact]
    public async Task Deleting_a_service_others_call_is_refused_naming_the_caller()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        using var delete = new HttpRequestMessage(HttpMethod.Delete, "/v1/meshes/shop/services/payments");
        delete.Headers.IfMatch.Add(EntityTagHeaderValue.Parse((await ETagAsync(alice, "/v1/meshes/shop/services/payments"))!));
        using var response = await alice.SendAsync(delete);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var error = (await LocalHostFixture.JsonAsync(response)).GetProperty("errors")[0];
        Assert.Equal("services/checkout-api", error.GetProperty("resource").GetString());
        Assert.Equal("$.backends[0]", error.GetProperty("path").GetString());
    }

    internal static async Task<HttpResponseMessage> PutAsync(HttpClient client, string path, string body, string? ifMatch)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (ifMatch is not null) request.Headers.IfMatch.Add(EntityTagHeaderValue.Parse(ifMatch));
        return await client.SendAsync(request);
    }

    internal static async Task<string?> ETagAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path.Split('?')[0]);
        return response.Headers.ETag?.ToString();
    }

    /// <summary>Everything an edit could change: the mesh's services, routes, policies and gateways, the change log and every fleet's version.</summary>
    internal static async Task<string> StateAsync(LocalHostFixture host)
    {
        var parts = new List<string>
        {
            await host.Http.GetStringAsync("/v1/meshes/shop"), await host.Http.GetStringAsync("/v1/meshes/shop/settings"), await host.Http.GetStringAsync("/v1/meshes/shop/spec"),
            await host.Http.GetStringAsync("/v1/meshes/shop/changes?limit=100"), await host.Http.GetStringAsync("/v1/meshes/shop/fleets"),
        };
        foreach (var service in new[] { "storefront", "checkout-api", "payments", "inventory-api" })
        {
            // A whole-mesh edit may delete a service: its absence is state too.
            foreach (var part in new[] { "", "/routes", "/policy" })
            {
                using var response = await host.Http.GetAsync($"/v1/meshes/shop/services/{service}{part}");
                parts.Add(response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : $"{(int)response.StatusCode}");
            }
        }
        return string.Join("\n", parts);
    }
}

public class CallerIdentityTests
{
    private const string RequestContext = """{"requestId":"r1","authorizer":{"iam":{"accountId":"111122223333","userArn":"arn:aws:iam::111122223333:role/platform-admin","userId":"AROA1"}}}""";

    private static HttpRequestMessage CreateMesh(string? requestContext, string? token)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, "/v1/meshes/iam-test");
        if (requestContext is not null) request.Headers.Add("x-amzn-request-context", requestContext);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    [Fact]
    public async Task In_aws_the_actor_is_the_iam_principal_from_the_request_context_and_tokens_do_not_count()
    {
        await using var host = await LocalHostFixture.StartAsync(new KeyValuePair<string, string?>("Auth:Mode", "Iam"));
        using var withToken = CreateMesh(null, LocalHostFixture.Token("alice"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Http.SendAsync(withToken)).StatusCode);

        using var signed = CreateMesh(RequestContext, null);
        using var response = await host.Http.SendAsync(signed);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("arn:aws:iam::111122223333:role/platform-admin", (await LocalHostFixture.JsonAsync(response)).GetProperty("change").GetProperty("actor").GetString());
    }

    [Fact]
    public async Task Outside_aws_a_forged_request_context_is_not_a_caller()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var forged = CreateMesh(RequestContext, null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Http.SendAsync(forged)).StatusCode);
        Assert.DoesNotContain("iam-test", await host.Http.GetStringAsync("/v1/meshes"));
    }
}
