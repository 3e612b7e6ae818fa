using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Envoy.Schema;
using Mesh.Core.Compile;
using Mesh.Core.Model;
using Mesh.Tests.Http;
using Mesh.Tests.Support;
using static Mesh.Tests.Http.PolicyApiTests;

namespace Mesh.Tests.Gateways;

/// <summary>Gateways through the policy API: the same guarantees as services (ETags, whole-change validation, plans, change records, rollback, convergence).</summary>
public class GatewayApiTests
{
    private const string Path = "/v1/meshes/shop/gateways/web-gateway";

    /// <summary>storefront behind the gateway, with App Mesh's prefix rewrite: /shop/cart reaches storefront as /cart.</summary>
    private const string WebGateway = """
        {"listeners": [{"port": 8080, "protocol": "http"}],
         "routes": [{"name": "shop", "match": {"prefix": "/shop"}, "target": {"service": "storefront"}},
                    {"name": "checkout", "match": {"prefix": "/checkout/", "hostname": {"exact": "api.example.com"}},
                     "target": {"service": "checkout-api", "subsets": [{"subset": "v57", "weight": 90}, {"subset": "v58", "weight": 10}]}}]}
        """;

    private static async Task<string?> HeadVersionAsync(LocalHostFixture host, string fleet)
    {
        var fleets = await LocalHostFixture.JsonAsync(await host.Http.GetAsync("/v1/meshes/shop/fleets"));
        return fleets.EnumerateArray().FirstOrDefault(f => f.GetProperty("fleet").GetString() == fleet) is { ValueKind: JsonValueKind.Object } head
            ? head.GetProperty("version").GetString()
            : null;
    }

    [Fact]
    public async Task A_gateway_is_created_with_an_etag_and_its_fleet_is_published_and_served()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        using var created = await PutAsync(alice, Path, WebGateway, null);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var tag = created.Headers.ETag?.ToString();
        Assert.NotNull(tag);
        Assert.Equal(tag, await ETagAsync(alice, Path));
        var result = await LocalHostFixture.JsonAsync(created);
        Assert.Equal("shop/web-gateway", Assert.Single(result.GetProperty("plan").EnumerateArray()).GetProperty("fleet").GetString());
        Assert.Contains("web-gateway", (await LocalHostFixture.JsonAsync(await alice.GetAsync("/v1/meshes/shop"))).GetProperty("gateways").EnumerateArray().Select(g => g.GetString()));

        // A proxy of the gateway fleet polls and gets its listener, and convergence counts it.
        using var listeners = await host.PollAsync("shop/web-gateway", "listeners", "");
        Assert.Equal(HttpStatusCode.OK, listeners.StatusCode);
        var body = await listeners.Content.ReadAsStringAsync();
        Assert.Empty(EnvoySchema.CheckMessage(body, "envoy.service.discovery.v3.DiscoveryResponse"));
        Assert.Contains("ingress|8080", body, StringComparison.Ordinal);
        var convergence = await LocalHostFixture.JsonAsync(await alice.GetAsync("/v1/meshes/shop/fleets/web-gateway/convergence"));
        Assert.Equal(1, convergence.GetProperty("counts").GetProperty("proxies").GetInt32());

        using var bootstrap = await host.Http.GetAsync("/v1/meshes/shop/fleets/web-gateway/bootstrap?node=gw-1");
        Assert.Equal(HttpStatusCode.OK, bootstrap.StatusCode);
        var bootstrapJson = await bootstrap.Content.ReadAsStringAsync();
        Assert.Empty(EnvoySchema.CheckMessage(bootstrapJson, "envoy.config.bootstrap.v3.Bootstrap"));
        Assert.Contains("\"shop/web-gateway\"", bootstrapJson, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string, HttpStatusCode, string> BadGateways => new()
    {
        { "unknown field", Path, """{"listeners": [{"port": 8080, "tls": {"cert": "/x.pem"}}]}""", HttpStatusCode.BadRequest, "$.listeners[0].tls.cert" },
        { "bad protocol", Path, """{"listeners": [{"port": 8080, "protocol": "tcp"}]}""", HttpStatusCode.BadRequest, "$.listeners[0].protocol" },
        { "no listener", Path, """{"routes": []}""", HttpStatusCode.UnprocessableEntity, "$.listeners" },
        { "port clash", Path, """{"listeners": [{"port": 8080}, {"port": 8080, "protocol": "http2"}]}""", HttpStatusCode.UnprocessableEntity, "$.listeners[1].port" },
        { "admin port", Path, """{"listeners": [{"port": 9901}]}""", HttpStatusCode.UnprocessableEntity, "$.listeners[0].port" },
        { "unknown target", Path, """{"listeners": [{"port": 8080}], "routes": [{"name": "a", "target": {"service": "nowhere"}}]}""", HttpStatusCode.UnprocessableEntity, "$.routes[0].target.service" },
        { "target port the service lacks", Path, """{"listeners": [{"port": 8080}], "routes": [{"name": "a", "target": {"service": "storefront", "port": 9999}}]}""", HttpStatusCode.UnprocessableEntity, "$.routes[0].target.port" },
        { "unknown subset", Path, """{"listeners": [{"port": 8080}], "routes": [{"name": "a", "target": {"service": "checkout-api", "subsets": [{"subset": "v99", "weight": 100}]}}]}""", HttpStatusCode.UnprocessableEntity, "$.routes[0].target.subsets[0].subset" },
        { "weights not 100", Path, """{"listeners": [{"port": 8080}], "routes": [{"name": "a", "target": {"service": "checkout-api", "subsets": [{"subset": "v57", "weight": 60}, {"subset": "v58", "weight": 60}]}}]}""", HttpStatusCode.UnprocessableEntity, "$.routes[0].target.subsets" },
        { "shadowed route", Path, """{"listeners": [{"port": 8080}], "routes": [{"name": "all", "match": {"prefix": "/"}, "target": {"service": "storefront"}}, {"name": "api", "match": {"prefix": "/api", "hostname": {"exact": "x.example.com"}}, "target": {"service": "storefront"}}]}""", HttpStatusCode.UnprocessableEntity, "$.routes[1].match" },
        { "route on a port with no listener", Path, """{"listeners": [{"port": 8080}], "routes": [{"name": "a", "match": {"port": 8081}, "target": {"service": "storefront"}}]}""", HttpStatusCode.UnprocessableEntity, "$.routes[0].match.port" },
        { "prefix rewrite of a path match", Path, """{"listeners": [{"port": 8080}], "routes": [{"name": "a", "match": {"path": "/a"}, "target": {"service": "storefront"}, "rewrite": {"prefix": "/b"}}]}""", HttpStatusCode.UnprocessableEntity, "$.routes[0].rewrite.prefix" },
        { "path rewrite of a prefix match", Path, """{"listeners": [{"port": 8080}], "routes": [{"name": "a", "match": {"prefix": "/a"}, "target": {"service": "storefront"}, "rewrite": {"path": "/b"}}]}""", HttpStatusCode.UnprocessableEntity, "$.routes[0].rewrite.path" },
        { "grpc service on an http listener", Path, """{"listeners": [{"port": 8080}], "routes": [{"name": "a", "match": {"grpcService": "shop.Pay"}, "target": {"service": "payments"}}]}""", HttpStatusCode.UnprocessableEntity, "$.routes[0].match.grpcService" },
        { "hostname with both", Path, """{"listeners": [{"port": 8080}], "routes": [{"name": "a", "match": {"hostname": {"exact": "a.com", "suffix": ".com"}}, "target": {"service": "storefront"}}]}""", HttpStatusCode.UnprocessableEntity, "$.routes[0].match.hostname" },
        { "certificate path that breaks out of its quotes", Path, """{"listeners": [{"port": 443, "tls": {"certificateChain": "/c/a'; rm -rf /", "privateKey": "/c/k.pem"}}]}""", HttpStatusCode.UnprocessableEntity, "$.listeners[0].tls.certificateChain" },
        { "streams on an http/1 listener", Path, """{"listeners": [{"port": 8080, "limits": {"maxConcurrentStreams": 10}}]}""", HttpStatusCode.UnprocessableEntity, "$.listeners[0].limits.maxConcurrentStreams" },
        { "a service's name", "/v1/meshes/shop/gateways/storefront", """{"listeners": [{"port": 8080}]}""", HttpStatusCode.UnprocessableEntity, "$.name" },
        { "a null listener", Path, """{"listeners": [null]}""", HttpStatusCode.BadRequest, "$.listeners[0]" },
        { "a null target", Path, """{"listeners": [{"port": 8080}], "routes": [{"name": "a", "target": null}]}""", HttpStatusCode.UnprocessableEntity, "$.routes[0].target.service" },
        { "an empty hostname match", Path, """{"listeners": [{"port": 8080}], "routes": [{"name": "a", "match": {"hostname": {}}, "target": {"service": "storefront"}}]}""", HttpStatusCode.UnprocessableEntity, "$.routes[0].match.hostname" },
        { "a subset without a name", Path, """{"listeners": [{"port": 8080}], "routes": [{"name": "a", "target": {"service": "checkout-api", "subsets": [{"weight": 100}]}}]}""", HttpStatusCode.UnprocessableEntity, "$.routes[0].target.subsets[0].subset" },
        { "a rewrite to a relative path", Path, """{"listeners": [{"port": 8080}], "routes": [{"name": "a", "match": {"prefix": "/a/"}, "target": {"service": "storefront"}, "rewrite": {"prefix": "b/"}}]}""", HttpStatusCode.UnprocessableEntity, "$.routes[0].rewrite.prefix" },
        { "a regex RE2 refuses", Path, """{"listeners": [{"port": 8080}], "routes": [{"name": "a", "match": {"regex": "/(?=x)"}, "target": {"service": "storefront"}}]}""", HttpStatusCode.UnprocessableEntity, "$.routes[0].match.regex" },
        { "too many listeners", Path, $$"""{"listeners": [{{string.Join(",", Enumerable.Range(8000, 11).Select(p => $"{{\"port\": {p}}}"))}}]}""", HttpStatusCode.UnprocessableEntity, "$.listeners" },
        { "name in the body differs", Path, """{"name": "other", "listeners": [{"port": 8080}]}""", HttpStatusCode.UnprocessableEntity, "$.name" },
    };

    [Theory]
    [MemberData(nameof(BadGateways))]
    public async Task A_bad_gateway_is_refused_whole_with_a_problem_naming_the_field_and_changes_nothing(string _, string path, string body, HttpStatusCode status, string field)
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        var before = await StateAsync(host);
        using var response = await PutAsync(alice, path, body, null);
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains((await LocalHostFixture.JsonAsync(response)).GetProperty("errors").EnumerateArray(), e => e.GetProperty("path").GetString() == field);
        Assert.Equal(before, await StateAsync(host));
    }

    [Fact]
    public async Task Edits_need_the_current_etag_and_of_two_at_once_one_wins()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        using var bob = host.As("bob");
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(alice, Path, WebGateway, null)).StatusCode);
        Assert.Equal(HttpStatusCode.PreconditionRequired, (await PutAsync(alice, Path, WebGateway, null)).StatusCode);
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await PutAsync(alice, Path, WebGateway, "\"stale\"")).StatusCode);
        var tag = await ETagAsync(alice, Path);
        var responses = await Task.WhenAll(
            PutAsync(alice, Path, WebGateway.Replace("8080", "8081"), tag),
            PutAsync(bob, Path, WebGateway.Replace("8080", "8082"), tag));
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.PreconditionFailed], responses.Select(r => r.StatusCode).Order());
    }

    [Fact]
    public async Task A_hostname_routed_by_another_gateway_is_refused()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(alice, Path, WebGateway, null)).StatusCode);
        using var response = await PutAsync(alice, "/v1/meshes/shop/gateways/partner-gateway",
            """{"listeners": [{"port": 8443, "protocol": "http2"}], "routes": [{"name": "a", "match": {"hostname": {"exact": "API.example.com"}}, "target": {"service": "checkout-api"}}]}""", null);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var error = (await LocalHostFixture.JsonAsync(response)).GetProperty("errors")[0];
        Assert.Equal(("gateways/partner-gateway", "$.routes[0].match.hostname.exact"), (error.GetProperty("resource").GetString(), error.GetProperty("path").GetString()));
    }

    [Fact]
    public async Task A_service_edit_republishes_the_gateways_routing_to_it_and_a_service_they_route_to_cannot_be_deleted()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(alice, Path, WebGateway, null)).StatusCode);
        var before = await HeadVersionAsync(host, "shop/web-gateway");

        using var edit = await PutAsync(alice, "/v1/meshes/shop/services/checkout-api/policy", """{"mtls": "STRICT", "allowedCallers": ["storefront", "web-gateway"]}""",
            await ETagAsync(alice, "/v1/meshes/shop/services/checkout-api/policy"));
        Assert.Equal(HttpStatusCode.OK, edit.StatusCode);
        var plan = (await LocalHostFixture.JsonAsync(edit)).GetProperty("plan").EnumerateArray().Select(p => p.GetProperty("fleet").GetString()).ToList();
        Assert.Contains("shop/web-gateway", plan);
        var after = await HeadVersionAsync(host, "shop/web-gateway");
        Assert.NotEqual(before, after);
        // The gateway now reaches checkout-api over mTLS, and checkout-api lets the gateway's identity in.
        var snapshot = await host.Http.GetStringAsync("/v1/meshes/shop/fleets/web-gateway/snapshot");
        Assert.Contains("spiffe://mesh.local/mesh/shop/service/checkout-api", snapshot, StringComparison.Ordinal);
        Assert.Contains("spiffe://mesh.local/mesh/shop/service/web-gateway", await host.Http.GetStringAsync("/v1/meshes/shop/fleets/checkout-api/snapshot"), StringComparison.Ordinal);

        using var delete = new HttpRequestMessage(HttpMethod.Delete, "/v1/meshes/shop/services/storefront");
        delete.Headers.IfMatch.Add(System.Net.Http.Headers.EntityTagHeaderValue.Parse((await ETagAsync(alice, "/v1/meshes/shop/services/storefront"))!));
        using var refused = await alice.SendAsync(delete);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Contains((await LocalHostFixture.JsonAsync(refused)).GetProperty("errors").EnumerateArray(),
            e => e.GetProperty("resource").GetString() == "gateways/web-gateway" && e.GetProperty("path").GetString() == "$.routes[0].target.service");
    }

    [Fact]
    public async Task A_dry_run_plans_the_gateway_fleet_and_stores_nothing_and_a_rollback_removes_the_gateway()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        var before = await StateAsync(host);
        using var dryRun = await PutAsync(alice, Path + "?dryRun=true", WebGateway, null);
        Assert.Equal(HttpStatusCode.OK, dryRun.StatusCode);
        var plan = Assert.Single((await LocalHostFixture.JsonAsync(dryRun)).GetProperty("plan").EnumerateArray());
        Assert.Contains(plan.GetProperty("added").EnumerateArray(), r => r.GetProperty("name").GetString() == "ingress|8080");
        Assert.Equal(before, await StateAsync(host));

        var change = (await LocalHostFixture.JsonAsync(await PutAsync(alice, Path, WebGateway, null))).GetProperty("change");
        var resource = Assert.Single(change.GetProperty("resources").EnumerateArray());
        Assert.Equal("gateways/web-gateway", resource.GetProperty("resource").GetString());
        using var rollback = await alice.PostAsync($"/v1/meshes/shop/changes/{change.GetProperty("id").GetString()}/rollback", null);
        Assert.Equal(HttpStatusCode.OK, rollback.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync(Path)).StatusCode);
    }

    [Fact]
    public async Task The_mesh_file_carries_gateways_and_applying_its_export_changes_nothing()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(alice, Path, WebGateway, null)).StatusCode);
        using var exported = await alice.GetAsync("/v1/meshes/shop/spec");
        var spec = await exported.Content.ReadAsStringAsync();
        Assert.Equal("web-gateway", JsonDocument.Parse(spec).RootElement.GetProperty("gateways")[0].GetProperty("name").GetString());
        using var applied = await PutAsync(alice, "/v1/meshes/shop/spec", spec, exported.Headers.ETag!.ToString());
        Assert.Equal(HttpStatusCode.OK, applied.StatusCode);
        Assert.False((await LocalHostFixture.JsonAsync(applied)).TryGetProperty("change", out _));

        // Leaving the gateway out of the document deletes it, in the same one change.
        var withoutGateway = JsonSerializer.Serialize(JsonDocument.Parse(spec).RootElement.EnumerateObject().Where(p => p.Name != "gateways").ToDictionary(p => p.Name, p => p.Value));
        using var removed = await PutAsync(alice, "/v1/meshes/shop/spec", withoutGateway, exported.Headers.ETag!.ToString());
        Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync(Path)).StatusCode);
    }

    [Fact]
    public async Task A_mesh_with_a_gateway_cannot_be_deleted_until_the_gateway_is()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(alice, "/v1/meshes/edge", "{}", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(alice, "/v1/meshes/edge/services/web", """{"port": 8080}""", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(alice, "/v1/meshes/edge/gateways/gw", """{"listeners": [{"port": 80}], "routes": [{"name": "a", "target": {"service": "web"}}]}""", null)).StatusCode);
        await DeleteAsync(alice, "/v1/meshes/edge/services/web", HttpStatusCode.UnprocessableEntity);
        await DeleteAsync(alice, "/v1/meshes/edge/gateways/gw", HttpStatusCode.OK);
        await DeleteAsync(alice, "/v1/meshes/edge/services/web", HttpStatusCode.OK);
        await DeleteAsync(alice, "/v1/meshes/edge", HttpStatusCode.OK);
    }

    private static async Task DeleteAsync(HttpClient client, string path, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, path);
        request.Headers.IfMatch.Add(System.Net.Http.Headers.EntityTagHeaderValue.Parse((await ETagAsync(client, path))!));
        using var response = await client.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task The_ecs_fragment_of_a_gateway_publishes_its_listener_ports_and_carries_its_sds_files()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        var tls = WebGateway.Replace("""{"port": 8080, "protocol": "http"}""",
            """{"port": 8080, "protocol": "http"}, {"port": 8443, "protocol": "http2", "tls": {"certificateChain": "/etc/gw/cert.pem", "privateKey": "/etc/gw/key.pem"}}""");
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(alice, Path, tls, null)).StatusCode);
        var fragment = await LocalHostFixture.JsonAsync(await host.Http.GetAsync("/v1/meshes/shop/fleets/web-gateway/sidecar?platform=ecs"));
        Assert.False(fragment.TryGetProperty("proxyConfiguration", out _));
        var envoy = Assert.Single(fragment.GetProperty("containerDefinitions").EnumerateArray());
        Assert.Equal([8080, 8443], envoy.GetProperty("portMappings").EnumerateArray().Select(p => p.GetProperty("containerPort").GetInt32()));
        var variables = envoy.GetProperty("environment").EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!, e => e.GetProperty("value").GetString()!);
        Assert.Equal(["ENVOY_SDS_FILE_BUNDLE", "ENVOY_SDS_FILE_INGRESS_8443", "ENVOY_SDS_FILE_SVID"], variables.Keys.Where(k => k.StartsWith("ENVOY_SDS_FILE_", StringComparison.Ordinal)).Order());
        foreach (var (name, value) in variables.Where(v => v.Key.StartsWith("ENVOY_SDS_FILE_", StringComparison.Ordinal)))
            Assert.Empty(EnvoySchema.CheckMessage(value, "envoy.service.discovery.v3.DiscoveryResponse"));
    }

    /// <summary>The gateway's start command, run by a real shell with a stand-in for Envoy: the files Envoy is pointed at exist with what they should hold.</summary>
    [Fact]
    public async Task The_gateway_start_command_writes_every_sds_file_and_starts_envoy_from_the_filled_bootstrap()
    {
        var directory = Directory.CreateTempSubdirectory("gateway-start-").FullName;
        var settings = new XdsSettings { Tls = new MeshTlsFiles { SecretsDirectory = $"{directory}/sds" } };
        var gateway = GatewayCompileTests.Web;
        var fragment = JsonDocument.Parse(SidecarFragments.EksGateway(gateway, new ControlPlaneAddress("cp.example.com", 443, true), settings, "envoy")).RootElement;
        var container = fragment.GetProperty("containers")[0];
        var command = container.GetProperty("command")[2].GetString()!;
        await File.WriteAllTextAsync($"{directory}/envoy", "#!/bin/sh\ncp \"$2\" \"$(dirname \"$0\")/started.json\"\n");
        Assert.Equal(0, (await ChildProcess.RunAsync("chmod", ["+x", $"{directory}/envoy"], directory)).ExitCode);
        var start = new ProcessStartInfo("/bin/sh", ["-c", command]) { RedirectStandardError = true };
        foreach (var variable in container.GetProperty("env").EnumerateArray().Where(v => v.TryGetProperty("value", out _)))
            start.Environment[variable.GetProperty("name").GetString()!] = variable.GetProperty("value").GetString();
        start.Environment["POD_NAME"] = "web-7d9f";
        start.Environment["POD_ZONE"] = "eu-west-1b";
        start.Environment["PATH"] = $"{directory}:{Environment.GetEnvironmentVariable("PATH")}";
        using (var process = Process.Start(start)!)
        {
            await process.WaitForExitAsync();
            Assert.True(process.ExitCode == 0, await process.StandardError.ReadToEndAsync());
        }

        var written = Directory.GetFiles($"{directory}/sds").Select(System.IO.Path.GetFileName).Order().ToList();
        Assert.Equal(["bundle.json", "ingress-8443-ca.json", "ingress-8443.json", "svid.json"], written);
        foreach (var (path, content) in SdsSecrets.Ingress(gateway, settings))
            Assert.Equal(content, await File.ReadAllBytesAsync(path));
        var started = await File.ReadAllTextAsync($"{directory}/started.json");
        Assert.Empty(EnvoySchema.CheckMessage(started, "envoy.config.bootstrap.v3.Bootstrap"));
        var node = JsonDocument.Parse(started).RootElement.GetProperty("node");
        Assert.Equal(("web-7d9f", "shop/web", "eu-west-1b"), (node.GetProperty("id").GetString(), node.GetProperty("cluster").GetString(), node.GetProperty("locality").GetProperty("zone").GetString()));
    }
}
