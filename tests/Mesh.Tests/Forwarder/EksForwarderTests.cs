using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mesh.Contracts.Events;
using Mesh.EksForwarder;
using Mesh.Tests.Support;
using Microsoft.AspNetCore.Builder;
using static Mesh.Tests.Support.FakeKubernetesApi;

namespace Mesh.Tests.Forwarder;

/// <summary>
/// The EKS forwarder against a fake Kubernetes API server serving scripted list and watch streams, and a loopback
/// EventBridge recording what it is given: exactly the expected events, in order per slice, nothing lost across a
/// dropped connection or a 410 Gone, batches of at most ten; one publishing replica; then through Ingest to EDS.
/// </summary>
public sealed class EksForwarderTests : IAsyncLifetime
{
    private const string Slices = "/apis/discovery.k8s.io/v1/namespaces/inventory/endpointslices";
    private const string Pods = "/api/v1/namespaces/inventory/pods";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly JsonSerializerOptions WebJson = new(JsonSerializerDefaults.Web);

    private FakeKubernetesApi _kubernetes = null!;
    private LoopbackAws _aws = null!;
    private readonly List<WebApplication> _forwarders = [];

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", LoopbackAws.AccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", LoopbackAws.SecretKey);
        _kubernetes = await FakeKubernetesApi.StartAsync();
        _aws = await LoopbackAws.StartAsync();
        // EventBridge takes every entry.
        _aws.Default = request =>
        {
            var count = JsonDocument.Parse(request.Body).RootElement.GetProperty("Entries").GetArrayLength();
            return (200, new JsonObject { ["FailedEntryCount"] = 0, ["Entries"] = new JsonArray([.. Enumerable.Range(0, count).Select(i => (JsonNode)new JsonObject { ["EventId"] = $"e{i}" })]) }.ToJsonString());
        };
    }

    public async Task DisposeAsync()
    {
        foreach (var forwarder in _forwarders) await forwarder.DisposeAsync();
        await _aws.DisposeAsync();
        await _kubernetes.DisposeAsync();
    }

    private async Task<WebApplication> StartForwarderAsync(string identity = "forwarder-0", int leaseSeconds = 5)
    {
        var app = ForwarderHost.Build([],
        [
            new("urls", "http://127.0.0.1:0"),
            new("Logging:LogLevel:Default", "Warning"),
            new("AWS_REGION", LoopbackAws.Region),
            new("Events:ServiceUrl", _aws.Url.ToString()),
            new("Kubernetes:Host", _kubernetes.Url),
            new("Forwarder:ClusterName", "orders-prod"),
            new("Forwarder:ClusterArn", "arn:aws:eks:eu-west-1:210987654321:cluster/orders-prod"),
            new("Forwarder:EventBusName", "mesh-bus"),
            new("Forwarder:Namespaces", "inventory"),
            new("Forwarder:Identity", identity),
            new("Forwarder:LeaseDurationSeconds", $"{leaseSeconds}"),
            new("Forwarder:MaxBackoffSeconds", "1"),
        ])!;
        await app.StartAsync();
        _forwarders.Add(app);
        return app;
    }

    /// <summary>Every event put on the bus, in order: (watch event type, slice name, generation, detail).</summary>
    private List<(string Type, string Slice, long Generation, JsonElement Detail)> Published() =>
        [.. _aws.Calls("PutEvents").SelectMany(c => JsonDocument.Parse(c.Body).RootElement.GetProperty("Entries").EnumerateArray())
            .Select(e => JsonDocument.Parse(e.GetProperty("Detail").GetString()!).RootElement)
            .Select(d => (d.GetProperty("watchEventType").GetString()!, d.GetProperty("endpointSlice").GetProperty("metadata").GetProperty("name").GetString()!,
                d.GetProperty("endpointSlice").GetProperty("metadata").GetProperty("generation").GetInt64(), d))];

    private async Task UntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"gave up waiting for {what}; put: {string.Join(", ", Published().Select(p => $"{p.Type} {p.Slice} {p.Generation}"))}; asked: {string.Join(" | ", _kubernetes.Requests)}");
            await Task.Delay(50);
        }
    }

    private static JsonObject SliceA(long generation, string rv, params (string, string, bool)[] endpoints) =>
        Slice("inventory", "inventory-api-a", "slice-a", "inventory-api", generation, rv, "http", 8080, endpoints);

    private static JsonObject SliceB(long generation, string rv) =>
        Slice("inventory", "inventory-api-b", "slice-b", "inventory-api", generation, rv, "http", 8080, ("10.61.9.14", "inv-b", true));

    private static JsonObject SliceC(long generation, string rv) =>
        Slice("inventory", "inventory-api-c", "slice-c", "inventory-api", generation, rv, "http", 8080, ("10.61.40.77", "inv-c", true));

    [Fact]
    public async Task Lists_watches_resumes_after_a_drop_relists_after_410_and_forwards_each_slice_in_order()
    {
        var watched = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _kubernetes.List(Pods, () => ListOf("PodList", "90", Pod("inventory", "inv-a", "v3", "80"), Pod("inventory", "inv-b", "v3", "81")));
        _kubernetes.List(Slices, () => ListOf("EndpointSliceList", "100", SliceA(1, "95", ("10.61.4.27", "inv-a", true)), SliceB(1, "96")));
        _kubernetes.List(Slices, () => ListOf("EndpointSliceList", "200", SliceA(3, "180", ("10.61.4.27", "inv-a", true), ("10.61.22.140", "inv-a2", false)), SliceC(1, "151")));
        // Pods the slices name can also be read one by one (a slice may be listed before the pods are).
        foreach (var pod in new[] { Pod("inventory", "inv-a", "v3", "80"), Pod("inventory", "inv-b", "v3", "81") })
            _kubernetes.Pods[$"inventory/{pod["metadata"]!["name"]}"] = pod;
        _kubernetes.Pods["inventory/inv-c"] = Pod("inventory", "inv-c", "v4", "150");
        _kubernetes.Pods["inventory/inv-a2"] = Pod("inventory", "inv-a2", "v4", "170");
        // 1: a change, a bookmark, then the stream ends in the middle of an event.
        _kubernetes.Watch(Slices, async s =>
        {
            await s.SendAsync("MODIFIED", SliceA(2, "101", ("10.61.4.27", "inv-a", false)));
            await s.BookmarkAsync("EndpointSlice", "150");
            await s.DropAsync();
        });
        // 2: resumed from the bookmark; a new slice, then the version has expired.
        _kubernetes.Watch(Slices, async s =>
        {
            await s.SendAsync("ADDED", SliceC(1, "151"));
            await s.GoneAsync();
        });
        // 3: after the relist (B disappeared meanwhile), C is deleted; then the watch stays open.
        _kubernetes.Watch(Slices, async s =>
        {
            await s.SendAsync("DELETED", SliceC(1, "201"));
            await Task.Delay(Timeout.Infinite, s.Aborted).ContinueWith(_ => { });
        });
        // Pods: once the slices' events are all put, inv-a's version label changes.
        _kubernetes.Watch(Pods, async s =>
        {
            await watched.Task.WaitAsync(s.Aborted);
            await s.SendAsync("MODIFIED", Pod("inventory", "inv-a", "v5", "202"));
            await Task.Delay(Timeout.Infinite, s.Aborted).ContinueWith(_ => { });
        });

        await StartForwarderAsync();
        await UntilAsync(() => Published().Count >= 8, "the slices' eight events");
        watched.TrySetResult();
        await UntilAsync(() => Published().Count >= 9, "the pod's event");

        Assert.Equal(
        [
            ("ADDED", "inventory-api-a", 1L), ("ADDED", "inventory-api-b", 1L),        // the first list
            ("MODIFIED", "inventory-api-a", 2L),                                          // watch 1
            ("ADDED", "inventory-api-c", 1L),                                             // watch 2, resumed at the bookmark
            ("MODIFIED", "inventory-api-a", 3L), ("MODIFIED", "inventory-api-c", 1L),   // the relist after 410 forwards every slice again
            ("DELETED", "inventory-api-b", 1L),                                           // and B, gone meanwhile, with its last state
            ("DELETED", "inventory-api-c", 1L),                                           // watch 3
            ("MODIFIED", "inventory-api-a", 3L),                                          // a pod's version label changed
        ], Published().Select(p => (p.Type, p.Slice, p.Generation)));
        var events = Published();
        Assert.Equal("v3", events[0].Detail.GetProperty("podLabels").GetProperty("uid-inv-a").GetProperty("version").GetString());
        // A pod the slice names before the pod watch brings it is read, so the event carries its version.
        Assert.Equal("v4", events[4].Detail.GetProperty("podLabels").GetProperty("uid-inv-a2").GetProperty("version").GetString());
        Assert.Equal("v5", events[8].Detail.GetProperty("podLabels").GetProperty("uid-inv-a").GetProperty("version").GetString());
        // Nothing else follows (a moment's grace for a stray event).
        await Task.Delay(500);
        Assert.Equal(9, Published().Count);
        // The watch resumed from the bookmark after the cut, and from the relist's version after the 410.
        Assert.Equal(["100", "150", "200"], _kubernetes.Requests.Where(r => r.StartsWith($"GET {Slices}?", StringComparison.Ordinal) && r.Contains("watch=true", StringComparison.Ordinal))
            .Select(r => System.Web.HttpUtility.ParseQueryString(r[(r.IndexOf('?') + 1)..])["resourceVersion"]));

        // Each event is the README's schema, which Ingest reads into observations of the slice.
        foreach (var (type, slice, generation, detail) in events)
        {
            Assert.Equal(("1", "orders-prod"), (detail.GetProperty("schemaVersion").GetString(), detail.GetProperty("clusterName").GetString()));
            var change = detail.Deserialize<EksEndpointSliceChange>(WebJson)!;
            Assert.Equal((type, generation), (change.WatchEventType, change.EndpointSlice!.Metadata!.Generation!.Value));
        }
        var call = _aws.Calls("PutEvents")[0];
        var entry = JsonDocument.Parse(call.Body).RootElement.GetProperty("Entries")[0];
        Assert.Equal(("EKS EndpointSlice Change", "mesh-bus", "arn:aws:eks:eu-west-1:210987654321:cluster/orders-prod"),
            (entry.GetProperty("DetailType").GetString(), entry.GetProperty("EventBusName").GetString(), entry.GetProperty("Resources")[0].GetString()));
        Assert.Matches(@"^\d{8}/eu-west-1/events/aws4_request$", SigV4.Verify(call, LoopbackAws.SecretKey));
    }

    [Fact]
    public async Task Events_go_at_most_ten_to_a_call_one_per_slice_and_a_refused_batch_is_sent_again_in_order()
    {
        var slices = Enumerable.Range(0, 25).Select(i => (JsonNode)Slice("inventory", $"s{i:D2}", $"uid-{i:D2}", "inventory-api", 1, $"{i}", "http", 8080, ($"10.0.0.{i}", $"p{i}", true))).ToArray();
        _kubernetes.List(Pods, () => ListOf("PodList", "1"));
        _kubernetes.List(Slices, () => ListOf("EndpointSliceList", "100", slices));
        _kubernetes.Watch(Slices, async s =>
        {
            // Two changes of one slice in a row must go in two calls, in order.
            await s.SendAsync("MODIFIED", Slice("inventory", "s00", "uid-00", "inventory-api", 2, "101", "http", 8080, ("10.0.0.0", "p0", false)));
            await s.SendAsync("MODIFIED", Slice("inventory", "s00", "uid-00", "inventory-api", 3, "102", "http", 8080, ("10.0.0.0", "p0", true)));
            await Task.Delay(Timeout.Infinite, s.Aborted).ContinueWith(_ => { });
        });
        // EventBridge throttles the whole first call, then refuses one entry of the second.
        _aws.Script("PutEvents", (400, """{"__type":"ThrottlingException","message":"Rate exceeded"}"""), (400, """{"__type":"ThrottlingException","message":"Rate exceeded"}"""),
            (400, """{"__type":"ThrottlingException","message":"Rate exceeded"}"""), (400, """{"__type":"ThrottlingException","message":"Rate exceeded"}"""),
            (400, """{"__type":"ThrottlingException","message":"Rate exceeded"}"""));

        await StartForwarderAsync();
        await UntilAsync(() => Published().Count(p => p.Slice == "s00") >= 3 && Published().Select(p => p.Slice).Distinct().Count() == 25, "every slice");

        var calls = _aws.Calls("PutEvents").Select(c => JsonDocument.Parse(c.Body).RootElement.GetProperty("Entries").EnumerateArray()
            .Select(e => JsonDocument.Parse(e.GetProperty("Detail").GetString()!).RootElement.GetProperty("endpointSlice").GetProperty("metadata").GetProperty("uid").GetString()).ToList()).ToList();
        Assert.All(calls, c => Assert.InRange(c.Count, 1, 10));
        Assert.All(calls, c => Assert.Equal(c.Count, c.Distinct().Count()));
        var published = Published();
        Assert.Equal(25, published.Select(p => p.Slice).Distinct().Count());
        Assert.Equal([1L, 2L, 3L], published.Where(p => p.Slice == "s00").Select(p => p.Generation).Distinct());
        var s00 = published.Where(p => p.Slice == "s00").Select(p => p.Generation).ToList();
        Assert.Equal(s00.Order(), s00);
    }

    [Fact]
    public async Task An_api_server_that_fails_a_list_and_a_pod_read_delays_events_but_loses_none()
    {
        _kubernetes.List(Pods, () => ListOf("PodList", "1"));
        _kubernetes.List(Slices, () => null);
        _kubernetes.List(Slices, () => ListOf("EndpointSliceList", "100", SliceA(1, "95", ("10.61.4.27", "inv-a", true)), SliceB(1, "96")));
        // No pod can be read one by one either (the fake answers 404 for pods it does not hold): events go without versions.
        await StartForwarderAsync();
        await UntilAsync(() => Published().Count >= 2, "both slices");
        Assert.Equal([("ADDED", "inventory-api-a"), ("ADDED", "inventory-api-b")], Published().Select(p => (p.Type, p.Slice)));
        Assert.Equal(2, _kubernetes.Requests.Count(r => r.StartsWith($"GET {Slices}?watch=false", StringComparison.Ordinal) || r == $"GET {Slices}"));
    }

    [Fact]
    public async Task Only_the_replica_holding_the_lease_publishes()
    {
        _kubernetes.List(Pods, () => ListOf("PodList", "1"));
        _kubernetes.List(Slices, () => ListOf("EndpointSliceList", "100", SliceB(1, "96")));
        // A long lease: a slow renewal on a busy machine must not hand over leadership in the middle of the test.
        var first = await StartForwarderAsync("forwarder-0", leaseSeconds: 60);
        await UntilAsync(() => _kubernetes.LeaseHolder is not null, "a leader");
        var second = await StartForwarderAsync("forwarder-1", leaseSeconds: 60);
        await UntilAsync(() => Published().Count >= 1, "the leader's first list");
        using var http = new HttpClient();
        var statuses = new List<JsonElement>();
        foreach (var app in new[] { first, second })
        {
            await UntilAsync(() => http.GetAsync($"{app.Urls.First()}/readyz").Result.StatusCode == HttpStatusCode.OK, "readiness");
            statuses.Add(JsonDocument.Parse(await http.GetStringAsync($"{app.Urls.First()}/status")).RootElement.Clone());
        }
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"{first.Urls.First()}/healthz")).StatusCode);
        Assert.Equal([true, false], statuses.Select(s => s.GetProperty("leading").GetBoolean()));
        Assert.All(statuses, s => Assert.Equal("forwarder-0", s.GetProperty("leader").GetString()));
        // The standby never listed: one list of slices, by the leader.
        Assert.Equal(1, _kubernetes.Requests.Count(r => r.StartsWith($"GET {Slices}", StringComparison.Ordinal) && !r.Contains("watch=true", StringComparison.Ordinal)));
        Assert.Single(Published());
    }

    /// <summary>End to end: what the forwarder put, as SQS delivers EventBridge events, through Ingest, to the EDS storefront's sidecars receive.</summary>
    [Fact]
    public async Task What_the_forwarder_puts_reaches_the_callers_eds_through_ingest()
    {
        _kubernetes.List(Pods, () => ListOf("PodList", "1", Pod("inventory", "inv-a", "v3", "1"), Pod("inventory", "inv-b", "v3", "1")));
        _kubernetes.List(Slices, () => ListOf("EndpointSliceList", "100", SliceA(1, "95", ("10.61.4.27", "inv-a", true)), SliceB(1, "96")));
        _kubernetes.Watch(Slices, async s =>
        {
            await s.SendAsync("MODIFIED", SliceA(2, "101", ("10.61.4.27", "inv-a", true), ("10.61.5.203", "inv-b", false)));
            await s.SendAsync("DELETED", SliceB(1, "102"));
            await Task.Delay(Timeout.Infinite, s.Aborted).ContinueWith(_ => { });
        });
        await StartForwarderAsync();
        await UntilAsync(() => Published().Count >= 4, "four events");

        await using var host = await LocalHostFixture.StartAsync();
        var bodies = _aws.Calls("PutEvents").SelectMany(c => JsonDocument.Parse(c.Body).RootElement.GetProperty("Entries").EnumerateArray()).Select((e, i) => new JsonObject
        {
            ["version"] = "0", ["id"] = $"id-{i}", ["detail-type"] = e.GetProperty("DetailType").GetString(), ["source"] = e.GetProperty("Source").GetString(),
            ["account"] = "210987654321", ["time"] = "2026-12-07T12:00:00Z", ["region"] = LoopbackAws.Region,
            ["resources"] = JsonNode.Parse(e.GetProperty("Resources").GetRawText()), ["detail"] = JsonNode.Parse(e.GetProperty("Detail").GetString()!),
        }.ToJsonString()).ToArray();
        using var response = await host.PostEventsAsync(SampleEvents.SqsBatch(bodies));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty((await LocalHostFixture.JsonAsync(response)).GetProperty("batchItemFailures").EnumerateArray());

        using var eds = await host.PollAsync("shop/storefront", "endpoints", "", "outbound|inventory-api");
        var endpoints = JsonNode.Parse(await eds.Content.ReadAsStringAsync())!["resources"]![0]!["endpoints"]!.AsArray()
            .SelectMany(l => l!["lb_endpoints"]!.AsArray())
            .Select(e => ($"{e!["endpoint"]!["address"]!["socket_address"]!["address"]}:{e["endpoint"]!["address"]!["socket_address"]!["port_value"]}", (string?)e["health_status"]))
            .Order().ToList();
        // Slice B was deleted; slice A at generation 2 holds one ready and one not-ready endpoint.
        Assert.Equal([("10.61.4.27:8080", "HEALTHY"), ("10.61.5.203:8080", "UNHEALTHY")], endpoints);
    }
}
