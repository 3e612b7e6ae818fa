using System.Diagnostics;
using Xunit.Abstractions;
using System.Net;
using System.Text.Json;
using Mesh.Tests.Http;
using Mesh.Tests.Support;

namespace Mesh.Tests.Ads;

/// <summary>
/// A proxyless gRPC fleet, proven with gRPC's own xDS client for Node (@grpc/grpc-js-xds, from npm, written by the
/// gRPC team): it resolves xds:///checkout-api:8080 through our ADS server and calls two real gRPC backends that stand
/// for checkout-api's revisions 57 and 58, registered by ECS task events through Ingest. Nothing is stubbed.
/// </summary>
public sealed class ProxylessGrpcTests(ITestOutputHelper output)
{
    private const string Cluster = "grpc-prod";
    private const string Mesh = "grpcshop";

    [Fact]
    public async Task The_real_grpc_xds_client_splits_by_the_canary_route_follows_an_edit_and_stops_calling_a_stopped_task()
    {
        await using var host = await LocalHostFixture.StartAsync(AdsHost.Settings(true,
            new("ContainerInstances:90:Arn", EcsTaskEvents.ContainerInstanceArn(Cluster)), new("ContainerInstances:90:Address", "127.0.0.1")));
        await using var client = await GrpcXdsClient.StartAsync();
        using var alice = host.As("alice");

        var spec = $$"""
            mesh: {{Mesh}}
            services:
              - service: {name: storefront, port: 9090, protocol: grpc, dataPlane: proxyless-grpc, backends: [checkout-api]}
              - service:
                  name: checkout-api
                  port: 8080
                  protocol: grpc
                  subsets: [{name: v57, version: "57"}, {name: v58, version: "58"}]
                  workload: {platform: ecs, cluster: {{Cluster}}, service: checkout-api}
                routes:
                  - {name: canary, match: {prefix: /}, targets: [{subset: v57, weight: 90}, {subset: v58, weight: 10}]}
            """;
        using (var created = await alice.PutAsync($"/v1/meshes/{Mesh}/spec", new StringContent(spec, System.Text.Encoding.UTF8, "application/yaml")))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await PostTaskAsync(host, "task57", 57, client.Ports["v57"], "RUNNING", 1);
        await PostTaskAsync(host, "task58", 58, client.Ports["v58"], "RUNNING", 1);

        var bootstrap = await alice.GetStringAsync($"/v1/meshes/{Mesh}/fleets/storefront/bootstrap?node=storefront-1&zone=eu-west-1a");
        Assert.Contains("mesh_fleet_token", bootstrap, StringComparison.Ordinal);
        await client.ConnectAsync("xds:///checkout-api:8080", bootstrap);

        var first = await client.CallsAsync(1000);
        Assert.Equal(1000, first.GetValueOrDefault("v57") + first.GetValueOrDefault("v58"));
        output.WriteLine($"90/10 route, 1000 calls: {JsonSerializer.Serialize(first)}");
        Assert.InRange(first.GetValueOrDefault("v58"), 50, 150);

        // The edit reaches the running client over its open stream: no restart, no new channel.
        var routes = $"/v1/meshes/{Mesh}/services/checkout-api/routes";
        using (var edited = await PolicyApiTests.PutAsync(alice, routes,
            """{"routes": [{"name": "canary", "match": {"prefix": "/"}, "targets": [{"subset": "v57", "weight": 50}, {"subset": "v58", "weight": 50}]}]}""",
            await PolicyApiTests.ETagAsync(alice, routes)))
            Assert.Equal(HttpStatusCode.OK, edited.StatusCode);
        // Settled when a round of 100 calls sends v58 far more than 10 (50 expected; 90/10 would give 10 ± 3).
        var even = await client.CallsUntilAsync(1000, counts => counts.GetValueOrDefault("v58") >= 30);
        output.WriteLine($"50/50 route, 1000 calls: {JsonSerializer.Serialize(even)}");
        Assert.InRange(even.GetValueOrDefault("v58"), 450, 550);
        Assert.Equal(1000, even.GetValueOrDefault("v57") + even.GetValueOrDefault("v58"));

        // The rollout ends: the canary route goes, so calls spread over every task of the service; then revision 57's
        // task stops, its endpoint leaves EDS, and the client stops calling it, with no call failing.
        using (var whole = await PolicyApiTests.PutAsync(alice, routes, """{"routes": []}""", await PolicyApiTests.ETagAsync(alice, routes)))
            Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        var spread = await client.CallsUntilAsync(200, counts => counts.GetValueOrDefault("v57") is > 35 and < 65);
        output.WriteLine($"no route (whole service), 200 calls: {JsonSerializer.Serialize(spread)}");
        await PostTaskAsync(host, "task57", 57, client.Ports["v57"], "STOPPED", 2);
        var after = await client.CallsUntilAsync(200, counts => counts.GetValueOrDefault("v57") == 0);
        output.WriteLine($"after v57's task STOPPED, 200 calls: {JsonSerializer.Serialize(after)}");
        Assert.Equal(0, after.GetValueOrDefault("v57"));
        Assert.Equal(200, after.GetValueOrDefault("v58"));

        // The client's stream shows in convergence as current.
        var fleet = await LocalHostFixture.JsonAsync(await alice.GetAsync($"/v1/meshes/{Mesh}/fleets/storefront/convergence"));
        Assert.Equal(1, fleet.GetProperty("counts").GetProperty("current").GetInt32());
    }

    private static async Task PostTaskAsync(LocalHostFixture host, string taskId, int revision, int hostPort, string status, int version)
    {
        using var response = await host.PostEventsAsync(SampleEvents.SqsBatch(EcsTaskEvents.BridgeTask(Cluster, "checkout-api", taskId, revision, 8080, hostPort, status, version)));
        response.EnsureSuccessStatusCode();
        Assert.Contains("\"batchItemFailures\":[]", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}

/// <summary>The Node process of tests/grpc-xds-client: two gRPC backends and gRPC's xDS client, driven over stdin.</summary>
public sealed class GrpcXdsClient : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _errors = new();

    private GrpcXdsClient(Process process) => _process = process;

    public IReadOnlyDictionary<string, int> Ports { get; private set; } = new Dictionary<string, int>();

    public static async Task<GrpcXdsClient> StartAsync()
    {
        var start = new ProcessStartInfo("node", ["client.js"])
        {
            WorkingDirectory = Path.Combine(Repo.Root, "tests", "grpc-xds-client"),
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // What gRPC's xDS client did, shown when a test fails.
            Environment = { ["GRPC_TRACE"] = "xds_client", ["GRPC_VERBOSITY"] = "DEBUG" },
        };
        var client = new GrpcXdsClient(Process.Start(start)!);
        client._process.ErrorDataReceived += (_, e) => { lock (client._errors) client._errors.AppendLine(e.Data); };
        client._process.BeginErrorReadLine();
        var ports = await client.ReadAsync();
        client.Ports = ports.GetProperty("ports").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        return client;
    }

    public async Task ConnectAsync(string target, string bootstrapJson)
    {
        // The bootstrap reaches the client as gRPC reads it: GRPC_XDS_BOOTSTRAP_CONFIG is read at the first xds: channel.
        await SendAsync($"env {Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(bootstrapJson))}");
        await SendAsync($"connect {target}");
    }

    public async Task<Dictionary<string, int>> CallsAsync(int count)
    {
        var reply = await SendAsync($"calls {count}");
        return reply.GetProperty("counts").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
    }

    /// <summary>Rounds of 100 calls until one satisfies <paramref name="settled"/> (the client has applied a pushed change), then <paramref name="count"/>, measured.</summary>
    public async Task<Dictionary<string, int>> CallsUntilAsync(int count, Func<Dictionary<string, int>, bool> settled)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!settled(await CallsAsync(100)))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the client never applied the change; its log: {Errors}");
        }
        return await CallsAsync(count);
    }

    private string Errors
    {
        get
        {
            lock (_errors) return _errors.ToString();
        }
    }

    private async Task<JsonElement> SendAsync(string command)
    {
        await _process.StandardInput.WriteLineAsync(command);
        await _process.StandardInput.FlushAsync();
        return await ReadAsync();
    }

    private async Task<JsonElement> ReadAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var line = await _process.StandardOutput.ReadLineAsync(timeout.Token)
            ?? throw new InvalidOperationException($"the gRPC client exited: {Errors}");
        return JsonDocument.Parse(line).RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await _process.StandardInput.WriteLineAsync("exit");
            if (!_process.WaitForExit(5000)) _process.Kill(entireProcessTree: true);
        }
        _process.Dispose();
    }
}
