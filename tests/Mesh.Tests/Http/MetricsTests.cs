using System.Net;
using System.Text;
using System.Text.Json;
using Mesh.Hosting.Metrics;
using Mesh.Tests.Support;

namespace Mesh.Tests.Http;

/// <summary>The control plane's metrics: one CloudWatch Embedded Metric Format document per invocation, checked against the EMF specification.</summary>
public class MetricsTests
{
    private static async Task<(LocalHostFixture Host, string File)> StartAsync()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("mesh-emf-").FullName, "emf.log");
        var host = await LocalHostFixture.StartAsync(new KeyValuePair<string, string?>("Metrics:File", file));
        return (host, file);
    }

    private static List<JsonElement> Documents(string file)
    {
        using var stream = new FileStream(file, FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return [.. reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone())];
    }

    /// <summary>
    /// The EMF specification: _aws.Timestamp (epoch milliseconds) and CloudWatchMetrics, each directive with a Namespace,
    /// Dimensions (arrays of at most 30 keys, each a string member of the document) and Metrics (Name, Unit), every metric
    /// named with a numeric value or an array of at most 100, at most 100 metrics.
    /// </summary>
    private static Dictionary<string, JsonElement> CheckEmf(JsonElement document)
    {
        var aws = document.GetProperty("_aws");
        Assert.Equal(JsonValueKind.Number, aws.GetProperty("Timestamp").ValueKind);
        Assert.InRange(aws.GetProperty("Timestamp").GetInt64(), DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds());
        var values = new Dictionary<string, JsonElement>();
        foreach (var directive in aws.GetProperty("CloudWatchMetrics").EnumerateArray())
        {
            Assert.False(string.IsNullOrEmpty(directive.GetProperty("Namespace").GetString()));
            foreach (var set in directive.GetProperty("Dimensions").EnumerateArray())
            {
                Assert.InRange(set.GetArrayLength(), 1, 30);
                foreach (var key in set.EnumerateArray()) Assert.Equal(JsonValueKind.String, document.GetProperty(key.GetString()!).ValueKind);
            }
            var metrics = directive.GetProperty("Metrics").EnumerateArray().ToList();
            Assert.InRange(metrics.Count, 1, 100);
            foreach (var metric in metrics)
            {
                var name = metric.GetProperty("Name").GetString()!;
                Assert.InRange(name.Length, 1, 255);
                Assert.Contains(metric.GetProperty("Unit").GetString(), new[] { "Count", "Milliseconds", "Seconds", "Bytes" });
                var value = document.GetProperty(name);
                if (value.ValueKind == JsonValueKind.Array)
                {
                    Assert.InRange(value.GetArrayLength(), 1, 100);
                    Assert.All(value.EnumerateArray(), v => Assert.Equal(JsonValueKind.Number, v.ValueKind));
                }
                else
                {
                    Assert.Equal(JsonValueKind.Number, value.ValueKind);
                }
                values[name] = value;
            }
        }
        return values;
    }

    private static double Sum(JsonElement value) => value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().Sum(v => v.GetDouble()) : value.GetDouble();

    [Fact]
    public async Task An_ingest_batch_writes_one_document_counting_each_decision_with_the_invocations_request_id()
    {
        var (host, file) = await StartAsync();
        await using var _ = host;
        var bodies = SampleEvents.Bodies(host.Samples);
        var running = bodies.Single(b => b.Sample == "01-checkout-v57-task-a-running").Body;
        using var client = host.As(LocalHostFixture.Operators[0]);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/events") { Content = new StringContent(SampleEvents.SqsBatch(running, "{\"detail-type\": 42", running), Encoding.UTF8, "application/json") };
        request.Headers.Add("x-amzn-lambda-context", """{"request_id":"8f1c2e4a-0000-4000-8000-000000000001","deadline":1764100000000}""");
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(request)).StatusCode);

        var document = Assert.Single(Documents(file));
        var values = CheckEmf(document);
        Assert.Equal("MeshPipeline", document.GetProperty("_aws").GetProperty("CloudWatchMetrics")[0].GetProperty("Namespace").GetString());
        Assert.Equal("ingest", document.GetProperty("service").GetString());
        Assert.Equal("8f1c2e4a-0000-4000-8000-000000000001", document.GetProperty("function_request_id").GetString());
        Assert.Equal(1, Sum(values[PipelineMetrics.EventsApplied]));
        Assert.Equal(1, Sum(values[PipelineMetrics.EventsDuplicate]));
        Assert.Equal(1, Sum(values[PipelineMetrics.EventsRefused]));
        Assert.Equal(0, Sum(values[PipelineMetrics.EventsFailed]));
        Assert.True(Sum(values[PipelineMetrics.FleetsPublished]) >= 1);
        Assert.True(Sum(values[PipelineMetrics.SnapshotBytes]) > 0);
        // The sample's EventBridge time is long past: a replay, whose age is not the pipeline's latency.
        Assert.False(values.ContainsKey(PipelineMetrics.PublishLatency));
    }

    [Fact]
    public async Task Publish_latency_counts_from_a_recent_events_time_to_the_commit()
    {
        var (host, file) = await StartAsync();
        await using var _ = host;
        var body = System.Text.Json.Nodes.JsonNode.Parse(SampleEvents.Bodies(host.Samples).Single(b => b.Sample == "01-checkout-v57-task-a-running").Body)!;
        body["time"] = DateTimeOffset.UtcNow.AddSeconds(-2).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(HttpStatusCode.OK, (await host.PostEventsAsync(SampleEvents.SqsBatch(body.ToJsonString()))).StatusCode);

        var latency = CheckEmf(Assert.Single(Documents(file)))[PipelineMetrics.PublishLatency];
        Assert.InRange(latency.GetDouble(), 1_000, 60_000);
    }

    [Fact]
    public async Task An_edit_writes_one_document_applied_or_refused_and_a_dry_run_none()
    {
        var (host, file) = await StartAsync();
        await using var _ = host;
        using var alice = host.As("alice");
        const string routes = """{"routes": [{"name": "all", "match": {"prefix": "/"}, "targets": [{"subset": "v57", "weight": 100}]}]}""";
        var tag = await PolicyApiTests.ETagAsync(alice, "/v1/meshes/shop/services/checkout-api/routes");
        Assert.Equal(HttpStatusCode.OK, (await PolicyApiTests.PutAsync(alice, "/v1/meshes/shop/services/checkout-api/routes?dryRun=true", routes, tag)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PolicyApiTests.PutAsync(alice, "/v1/meshes/shop/services/checkout-api/routes", routes, tag)).StatusCode);
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await PolicyApiTests.PutAsync(alice, "/v1/meshes/shop/services/checkout-api/routes", routes, tag)).StatusCode);

        var documents = Documents(file);
        Assert.Equal(2, documents.Count);
        var applied = CheckEmf(documents[0]);
        Assert.Equal("api", documents[0].GetProperty("service").GetString());
        Assert.Equal(1, Sum(applied[PipelineMetrics.EditsApplied]));
        Assert.True(Sum(applied[PipelineMetrics.FleetsPublished]) >= 1);
        Assert.True(Sum(applied[PipelineMetrics.PublishLatency]) > 0);
        var refused = CheckEmf(documents[1]);
        Assert.Equal(1, Sum(refused[PipelineMetrics.EditsRefused]));
        Assert.False(refused.ContainsKey(PipelineMetrics.EditsApplied));
    }

    [Fact]
    public async Task The_scheduled_reconcile_reports_proxies_behind_and_rejecting_and_the_convergence_lag()
    {
        var (host, file) = await StartAsync();
        await using var _ = host;
        // A proxy takes storefront's routes; then checkout-api's routes change, and it has not polled since: behind.
        var served = await LocalHostFixture.JsonAsync(await host.PollAsync("shop/storefront", "routes", "", "outbound"));
        var version = served.GetProperty("version_info").GetString()!;
        (await host.PollAsync("shop/storefront", "routes", version, "outbound")).Dispose();
        using var alice = host.As("alice");
        var tag = await PolicyApiTests.ETagAsync(alice, "/v1/meshes/shop/services/checkout-api/routes");
        Assert.Equal(HttpStatusCode.OK, (await PolicyApiTests.PutAsync(alice, "/v1/meshes/shop/services/checkout-api/routes",
            """{"routes": [{"name": "all", "match": {"prefix": "/"}, "targets": [{"subset": "v57", "weight": 100}]}]}""", tag)).StatusCode);
        var earlier = Documents(file).Count;
        using var response = await host.PostEventsAsync("""{"version":"0","id":"s1","detail-type":"Scheduled Event","source":"aws.events","time":"2026-11-25T12:00:00Z","detail":{}}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var values = CheckEmf(Assert.Single(Documents(file).Skip(earlier)));
        Assert.Equal(1, Sum(values[PipelineMetrics.ProxiesBehind]));
        Assert.Equal(0, Sum(values[PipelineMetrics.ProxiesRejecting]));
        Assert.True(Sum(values[PipelineMetrics.ConvergenceLag]) >= 0);
        Assert.Equal(0, Sum(values[PipelineMetrics.FleetsPublished]));
    }

    [Fact]
    public void A_document_refuses_a_101st_metric_and_keeps_at_most_100_values_per_metric()
    {
        var metrics = new InvocationMetrics("ingest");
        for (var i = 0; i < 150; i++) metrics.Record("Latency", MetricUnit.Milliseconds, i);
        for (var i = 1; i < InvocationMetrics.MaxMetrics; i++) metrics.Count($"M{i}");
        Assert.Throws<InvalidOperationException>(() => metrics.Count("OneTooMany"));
        var values = CheckEmf(JsonDocument.Parse(metrics.ToEmf("Test", DateTimeOffset.UtcNow)).RootElement);
        Assert.Equal(100, values["Latency"].GetArrayLength());
    }
}
