using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using Mesh.Cli;
using Mesh.Tests.Http;
using Mesh.Tests.Support;
using Spectre.Console.Testing;

namespace Mesh.Tests.Cli;

/// <summary>meshctl against the local host on loopback: each command, its exit code, and --output json.</summary>
public class MeshctlTests
{
    private static async Task<(int Exit, string Output)> RunAsync(LocalHostFixture host, params string[] args)
    {
        var console = new TestConsole().Width(200);
        var exit = await MeshctlApp.RunAsync([.. args, "--server", host.Http.BaseAddress!.ToString(), "--token", LocalHostFixture.Token("alice")], console);
        return (exit, console.Output);
    }

    private static async Task<string> FileAsync(string text, string extension = ".yaml")
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("meshctl-").FullName, $"mesh{extension}");
        await File.WriteAllTextAsync(path, text);
        return path;
    }

    [Fact]
    public async Task Get_plan_apply_round_trip_with_exit_codes()
    {
        await using var host = await LocalHostFixture.StartAsync();
        var (exit, yaml) = await RunAsync(host, "get", "shop");
        Assert.Equal(0, exit);
        Assert.Contains("mesh: \"shop\"", yaml, StringComparison.Ordinal);
        var file = await FileAsync(yaml);

        // The exported mesh plans to nothing.
        var (unchanged, output) = await RunAsync(host, "plan", "-f", file);
        Assert.Equal(0, unchanged);
        Assert.Contains("no changes", output, StringComparison.Ordinal);

        // A new service called by storefront: plan shows it per fleet and exits 2; apply applies exactly that.
        var json = JsonNode.Parse((await RunAsync(host, "get", "shop", "--format", "json")).Output)!;
        json["services"]!.AsArray().Add(JsonNode.Parse("""{"service": {"name": "reviews", "port": 9080}}"""));
        json["services"]!.AsArray().Single(s => (string?)s!["service"]!["name"] == "storefront")!["service"]!["backends"]!.AsArray().Add("reviews");
        var changed = await FileAsync(json.ToJsonString(), ".json");
        var (planned, plan) = await RunAsync(host, "plan", "-f", changed);
        Assert.True(planned == MeshctlApp.Changes, plan);
        Assert.Contains("shop/storefront", plan, StringComparison.Ordinal);
        Assert.Contains("+ clusters outbound|reviews", plan, StringComparison.Ordinal);
        var (_, planJson) = await RunAsync(host, "plan", "-f", changed, "--output", "json");
        var revision = JsonDocument.Parse(planJson).RootElement.GetProperty("revision").GetString()!;
        Assert.True(JsonDocument.Parse(planJson).RootElement.GetProperty("changed").GetBoolean());

        var (applied, applyOutput) = await RunAsync(host, "apply", "-f", changed, "--revision", revision);
        Assert.Equal(0, applied);
        Assert.Contains("applied to mesh shop", applyOutput, StringComparison.Ordinal);
        Assert.Equal(0, (await RunAsync(host, "plan", "-f", changed)).Exit);
        Assert.Equal(1, (await RunAsync(host, "diff", "-f", file)).Exit);

        // Applying over a revision that moved is refused: what was planned is what gets applied, or nothing.
        var (stale, staleOutput) = await RunAsync(host, "apply", "-f", file, "--revision", revision);
        Assert.Equal(1, stale);
        Assert.Contains("412", staleOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_file_shows_the_field_paths_the_api_names()
    {
        await using var host = await LocalHostFixture.StartAsync();
        var file = await FileAsync("""
            mesh: shop
            services:
              - service: {name: storefront, port: 70000}
            """);
        var (exit, output) = await RunAsync(host, "apply", "-f", file);
        Assert.Equal(1, exit);
        Assert.Contains("services/storefront $.port", output, StringComparison.Ordinal);
        Assert.Equal(1, (await RunAsync(host, "plan", "-f", file)).Exit);
    }

    [Fact]
    public async Task Changes_rollback_bootstrap_and_status()
    {
        await using var host = await LocalHostFixture.StartAsync();
        await host.ReplayStoryAsync();
        var file = await FileAsync("""
            mesh: shop
            settings: {egress: {mode: DROP_ALL}}
            services:
              - service: {name: storefront, port: 3000, backends: [checkout-api, inventory-api], workload: {platform: ecs, cluster: web-prod, service: storefront}}
              - service: {name: checkout-api, port: 8080, backends: [payments, inventory-api], subsets: [{name: v57, version: "57"}, {name: v58, version: "58"}], hostnames: [checkout.shop.internal], workload: {platform: ecs, cluster: payments-prod, service: checkout-api}}
              - service: {name: payments, port: 9000, protocol: grpc, workload: {platform: ecs, cluster: payments-prod, service: payments}}
              - service: {name: inventory-api, port: 8080, workload: {platform: eks, cluster: orders-prod, namespace: inventory, service: inventory-api, portName: http}}
            """);
        Assert.Equal(0, (await RunAsync(host, "apply", "-f", file)).Exit);
        var (_, changesJson) = await RunAsync(host, "changes", "shop", "--output", "json");
        var newest = JsonDocument.Parse(changesJson).RootElement.GetProperty("items")[0];
        Assert.Contains(newest.GetProperty("resources").EnumerateArray(), r => r.GetProperty("resource").GetString() == "settings");
        var id = newest.GetProperty("id").GetString()!;
        Assert.Contains(id, (await RunAsync(host, "changes", "shop")).Output, StringComparison.Ordinal);

        var (rolledBack, rollbackOutput) = await RunAsync(host, "rollback", "shop", id);
        Assert.Equal(0, rolledBack);
        Assert.Contains($"rolled back {id}", rollbackOutput, StringComparison.Ordinal);

        var (bootstrapExit, bootstrap) = await RunAsync(host, "bootstrap", "shop", "storefront", "--node", "storefront-1", "--zone", "eu-west-1a");
        Assert.Equal(0, bootstrapExit);
        Assert.Contains("storefront-1", bootstrap, StringComparison.Ordinal);

        // A proxy polls and runs storefront's routes: status shows it current.
        var routes = await LocalHostFixture.JsonAsync(await host.PollAsync("shop/storefront", "routes", "", "outbound"));
        (await host.PollAsync("shop/storefront", "routes", routes.GetProperty("version_info").GetString()!, "outbound")).Dispose();
        var (statusExit, status) = await RunAsync(host, "status", "shop");
        Assert.Equal(0, statusExit);
        Assert.Contains("shop/storefront", status, StringComparison.Ordinal);
        var statuses = JsonDocument.Parse((await RunAsync(host, "status", "shop", "--output", "json")).Output).RootElement;
        var storefront = statuses.EnumerateArray().Single(s => s.GetProperty("fleet").GetString() == "shop/storefront");
        Assert.Equal(1, storefront.GetProperty("counts").GetProperty("proxies").GetInt32());
        var node = Assert.Single(storefront.GetProperty("counts").GetProperty("nodes").EnumerateArray());
        Assert.Equal(("test-proxy-1", "current"), (node.GetProperty("nodeId").GetString(), node.GetProperty("state").GetString()));
        Assert.Contains("test-proxy-1", status, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_mesh_and_bad_options_exit_1()
    {
        await using var host = await LocalHostFixture.StartAsync();
        var (exit, output) = await RunAsync(host, "get", "nope");
        Assert.Equal(1, exit);
        Assert.Contains("404", output, StringComparison.Ordinal);
        Assert.NotEqual(0, (await RunAsync(host, "plan", "-f", "/no/such/file.yaml")).Exit);
        Assert.NotEqual(0, (await RunAsync(host, "changes", "shop", "--output", "xml")).Exit);
    }

    [Fact]
    public async Task Requests_to_the_deployed_api_are_signed_with_sigv4_for_execute_api()
    {
        var captured = new List<WireRequest>();
        var transport = new Capture(captured);
        var file = await FileAsync("""{"mesh": "shop", "services": []}""", ".json");
        var console = new TestConsole();
        var exit = await MeshctlApp.RunAsync(["plan", "-f", file, "--server", "https://mesh.example.com", "--sigv4", "--region", "eu-west-1"], console,
            settings => Mesh.Cli.Connection.Open(settings, transport, new BasicAWSCredentials(LoopbackAws.AccessKey, LoopbackAws.SecretKey)));
        Assert.Equal(0, exit);
        Assert.Equal(2, captured.Count);
        foreach (var request in captured)
        {
            var scope = SigV4.Verify(request, LoopbackAws.SecretKey, targeted: false);
            Assert.EndsWith("/eu-west-1/execute-api/aws4_request", scope, StringComparison.Ordinal);
            Assert.False(request.Headers.ContainsKey("authorization") && request.Headers["authorization"].StartsWith("Bearer", StringComparison.Ordinal));
        }
        Assert.Equal("PUT", captured[1].Method);
        Assert.Equal("/v1/meshes/shop/spec?dryRun=true", captured[1].Path);
    }

    /// <summary>Answers like the API: the spec's ETag, then an empty plan; records each request as signed.</summary>
    private sealed class Capture(List<WireRequest> captured) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
            var headers = request.Headers.Concat(request.Content?.Headers ?? Enumerable.Empty<KeyValuePair<string, IEnumerable<string>>>())
                .ToDictionary(h => h.Key.ToLowerInvariant(), h => string.Join(",", h.Value));
            headers.TryAdd("host", request.RequestUri!.Authority);
            captured.Add(new WireRequest(request.Method.Method, request.RequestUri!.PathAndQuery, headers, body));
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("""{"dryRun": true, "plan": []}""") };
            response.Headers.ETag = new System.Net.Http.Headers.EntityTagHeaderValue("\"r3\"");
            return response;
        }
    }
}
