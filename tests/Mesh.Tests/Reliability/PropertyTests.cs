using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Mesh.Tests.Http;
using Mesh.Tests.Support;

namespace Mesh.Tests.Reliability;

/// <summary>
/// Generated input for every write endpoint and for Ingest: no answer is ever a 5xx, and a refused request changes
/// nothing (the whole mesh, its change log and every fleet's version are compared before and after). Bodies are
/// arbitrary JSON, or a valid body with one part replaced by arbitrary JSON, so that many get deep into validation.
/// Seeded: a failure prints the seed and replays with it.
/// </summary>
public class PropertyTests(Xunit.Abstractions.ITestOutputHelper output)
{
    public const int RequestsPerEndpoint = 300;
    public const int Batches = 300;
    private const ulong Seed = 20261125;

    private static readonly string[] FieldNames =
    [
        "port", "protocol", "backends", "subsets", "hostnames", "workload", "healthCheck", "name", "version", "platform", "cluster", "service",
        "namespace", "routes", "match", "prefix", "path", "regex", "method", "headers", "queryParameters", "exact", "present", "invert", "targets",
        "subset", "weight", "retry", "on", "attempts", "perTryTimeoutMs", "timeoutMs", "idleTimeoutMs", "mtls", "allowedCallers", "loadBalancing",
        "connectionPool", "outlierDetection", "maxConnections", "consecutive5xx", "maxEjectionPercent", "mesh", "Records", "messageId", "body",
        "detail", "detail-type", "source", "containers", "attachments", "details", "endpoints", "addresses", "ports", "endpointSlice", "metadata",
    ];

    private static Gen<JsonNode?> Scalar() => Gen.OneOf(
        Gen.Constant<JsonNode?>(null),
        Gen.Elements<JsonNode?>(true, false),
        Gen.Choose(-3, 70000).Select(i => (JsonNode?)JsonValue.Create(i)),
        Gen.Elements<JsonNode?>(JsonValue.Create(int.MaxValue), JsonValue.Create(long.MinValue), JsonValue.Create(1e308), JsonValue.Create(-0.5)),
        Gen.Elements("", "shop", "checkout-api", "v58", "58", "http", "grpc", "tcp", "STRICT", "ROUND_ROBIN", "/", "^/(a", "a\u0000b", "x\ny",
            new string('z', 3000), "10.0.0.1", "not-an-ip", "5xx", "ecs", "eks").Select(s => (JsonNode?)JsonValue.Create(s)));

    private static Gen<JsonNode?> Json(int depth) => depth <= 0 ? Scalar() : Gen.OneOf(
        Scalar(),
        Json(depth - 1).ListOf().Select(items => (JsonNode?)new JsonArray([.. items.Take(6).Select(Clone)])),
        Gen.Zip(Gen.Elements(FieldNames), Json(depth - 1)).ListOf().Select(pairs =>
        {
            var node = new JsonObject();
            foreach (var (name, value) in pairs.Take(6)) node[name] = Clone(value);
            return (JsonNode?)node;
        }));

    /// <summary>A valid body with one of its parts replaced, removed or nulled.</summary>
    private static Gen<string> Mutated(string valid) =>
        (from index in Gen.Choose(0, 1000) from replacement in Json(2) from mode in Gen.Choose(0, 2) select (Item1: index, Item2: replacement, Item3: mode)).Select(t =>
        {
            var root = JsonNode.Parse(valid)!;
            var nodes = JsonTree.Descendants(root).ToList();
            var target = nodes[t.Item1 % nodes.Count];
            if (target.Parent is JsonObject parent)
            {
                var key = parent.First(p => ReferenceEquals(p.Value, target)).Key;
                if (t.Item3 == 0) parent.Remove(key);
                else parent[key] = t.Item3 == 1 ? null : Clone(t.Item2);
            }
            else if (target.Parent is JsonArray array)
            {
                array[array.IndexOf(target)] = t.Item3 == 1 ? null : Clone(t.Item2);
            }
            else
            {
                root = Clone(t.Item2) ?? JsonValue.Create("null")!;
            }
            return root.ToJsonString();
        });

    private static JsonNode? Clone(JsonNode? node) => node?.DeepClone();

    private static string Summary(IEnumerable<HttpStatusCode> statuses) =>
        string.Join(", ", statuses.GroupBy(s => (int)s).OrderBy(g => g.Key).Select(g => $"{g.Key}×{g.Count()}"));

    private static bool IsJson(string text)
    {
        try
        {
            return JsonNode.Parse(text) is not null;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    private static Gen<string> Body(string valid) => Gen.OneOf(Mutated(valid), Json(3).Select(n => n?.ToJsonString() ?? "null"));

    public static TheoryData<string, string> Endpoints => new()
    {
        { "services/checkout-api", """{"port": 8080, "protocol": "http", "backends": ["payments", "inventory-api"], "subsets": [{"name": "v57", "version": "57"}, {"name": "v58", "version": "58"}], "hostnames": ["checkout.shop.internal"], "workload": {"platform": "ecs", "cluster": "payments-prod", "service": "checkout-api"}}""" },
        { "services/fresh", """{"port": 7000, "protocol": "grpc", "backends": ["payments"]}""" },
        { "services/checkout-api/routes", """{"routes": [{"name": "canary", "match": {"prefix": "/api", "headers": [{"name": "x-canary", "exact": "1"}], "queryParameters": [{"name": "q", "present": true}]}, "targets": [{"subset": "v57", "weight": 90}, {"subset": "v58", "weight": 10}], "retry": {"on": ["5xx"], "attempts": 2}, "timeoutMs": 1000}]}""" },
        { "services/checkout-api/policy", """{"mtls": "STRICT", "allowedCallers": ["storefront"], "loadBalancing": "LEAST_REQUEST", "connectionPool": {"maxConnections": 100}, "outlierDetection": {"consecutive5xx": 5, "maxEjectionPercent": 50}}""" },
        { "gateways/web", """{"listeners": [{"port": 8080, "protocol": "http", "limits": {"maxConnections": 100}}, {"port": 8443, "protocol": "http2", "tls": {"certificateChain": "/etc/gw/cert.pem", "privateKey": "/etc/gw/key.pem", "clientValidation": {"trustedCa": "/etc/gw/ca.pem", "subjectAltNames": ["a.example.com"]}}}], "routes": [{"name": "shop", "match": {"prefix": "/shop", "hostname": {"suffix": ".example.com"}, "headers": [{"name": "x-a", "exact": "1"}]}, "target": {"service": "checkout-api", "subsets": [{"subset": "v57", "weight": 90}, {"subset": "v58", "weight": 10}]}, "rewrite": {"prefix": "/"}, "retry": {"on": ["5xx"]}}, {"name": "status", "match": {"path": "/status", "port": 8080}, "target": {"service": "storefront"}, "rewrite": {"path": "/healthz", "defaultTargetHostname": false}}]}""" },
        { "settings", """{"egress": {"mode": "DROP_ALL", "externalServices": [{"name": "stripe", "hosts": ["api.stripe.com"], "ports": [443], "cidrs": ["10.20.0.0/16"]}]}, "observability": {"accessLog": "JSON", "tracing": {"provider": "XRAY", "samplingPercent": 5}, "stats": {"statsdAddress": "127.0.0.1:8125"}}}""" },
        { "spec", """{"mesh": "shop", "services": [{"service": {"name": "web", "port": 8080, "backends": ["api"]}, "routes": [{"name": "all", "targets": [{"weight": 100}]}]}, {"service": {"name": "api", "port": 9090, "protocol": "grpc", "additionalPorts": [{"port": 9100, "protocol": "tcp"}]}, "policy": {"mtls": "STRICT", "allowedCallers": ["web"]}}]}""" },
    };

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task No_generated_edit_gets_a_5xx_and_a_refused_one_changes_nothing(string resource, string valid)
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        var path = $"/v1/meshes/shop/{resource}";
        var statuses = new List<HttpStatusCode>();
        var property = Prop.ForAll(Body(valid).ToArbitrary(), body =>
        {
            var before = PolicyApiTests.StateAsync(host).GetAwaiter().GetResult();
            var tag = PolicyApiTests.ETagAsync(alice, path).GetAwaiter().GetResult();
            using var response = PolicyApiTests.PutAsync(alice, path, body, tag).GetAwaiter().GetResult();
            statuses.Add(response.StatusCode);
            if ((int)response.StatusCode >= 500) return false;
            return response.IsSuccessStatusCode || before == PolicyApiTests.StateAsync(host).GetAwaiter().GetResult();
        });
        // Off the test's synchronization context, so the blocking calls inside the property cannot deadlock it.
        await Task.Run(() => Check.One(Config.QuickThrowOnFailure.WithMaxTest(RequestsPerEndpoint).WithReplay(Seed, 1).WithEndSize(20), property));
        Assert.Equal(RequestsPerEndpoint, statuses.Count);
        Assert.DoesNotContain(statuses, s => (int)s >= 500);
        // The generator reaches both sides: some bodies are taken, most are refused.
        Assert.Contains(statuses, s => (int)s is >= 400 and < 500);
        Assert.Contains(statuses, s => (int)s is >= 200 and < 300);
        output.WriteLine($"{resource}: {Summary(statuses)}");
    }

    [Fact]
    public async Task No_generated_batch_gets_a_5xx_and_every_failure_names_a_message_of_its_batch()
    {
        await using var host = await LocalHostFixture.StartAsync();
        var samples = SampleEvents.Bodies(Repo.Samples).Select(b => b.Body).Where(IsJson).ToArray();
        var record = Gen.OneOf(
            Gen.Elements(samples).SelectMany(Mutated).Select(body => (JsonNode?)JsonValue.Create(body)),
            Json(2).Select(n => (JsonNode?)JsonValue.Create(n?.ToJsonString() ?? "")),
            Json(1));
        var batch = Gen.Zip(record.ListOf(), Json(1)).Select(t =>
        {
            var records = new JsonArray();
            var i = 0;
            foreach (var body in t.Item1.Take(10))
                records.Add(t.Item2 is JsonValue && i % 4 == 3 ? Clone(t.Item2) : new JsonObject { ["messageId"] = $"m{i++}", ["body"] = Clone(body) });
            return new JsonObject { ["Records"] = records }.ToJsonString();
        });
        var statuses = new List<HttpStatusCode>();
        var property = Prop.ForAll(Gen.Frequency((9, batch), (1, Json(3).Select(n => n?.ToJsonString() ?? "null"))).ToArbitrary(), body =>
        {
            using var response = host.PostEventsAsync(body).GetAwaiter().GetResult();
            statuses.Add(response.StatusCode);
            if ((int)response.StatusCode >= 500) return false;
            if (response.StatusCode != HttpStatusCode.OK) return true;
            var answer = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
            Assert.True(answer.StartsWith("{\"batchItemFailures\":", StringComparison.Ordinal), $"{body}\n=> {answer}");
            var failures = JsonNode.Parse(answer)!["batchItemFailures"]!.AsArray();
            var ids = JsonNode.Parse(body)!["Records"]!.AsArray().OfType<JsonObject>().Select(r => r["messageId"]?.ToString()).ToHashSet();
            return failures.All(f => ids.Contains(f!["itemIdentifier"]!.GetValue<string>()));
        });
        await Task.Run(() => Check.One(Config.QuickThrowOnFailure.WithMaxTest(Batches).WithReplay(Seed, 1).WithEndSize(20), property));
        Assert.Equal(Batches, statuses.Count);
        Assert.Contains(HttpStatusCode.OK, statuses);
        output.WriteLine($"batches: {Summary(statuses)}");
    }

    [Fact]
    public async Task No_generated_discovery_request_gets_a_5xx()
    {
        await using var host = await LocalHostFixture.StartAsync();
        var valid = """{"node": {"id": "p1", "cluster": "shop/storefront", "locality": {"zone": "eu-west-1a"}}, "version_info": "", "resource_names": ["outbound|checkout-api"], "type_url": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"}""";
        var property = Prop.ForAll(Body(valid).ToArbitrary(), body =>
        {
            using var response = host.Http.PostAsync("/v3/discovery:endpoints", new StringContent(body, Encoding.UTF8, "application/json")).GetAwaiter().GetResult();
            return (int)response.StatusCode < 500;
        });
        await Task.Run(() => Check.One(Config.QuickThrowOnFailure.WithMaxTest(RequestsPerEndpoint).WithReplay(Seed, 1).WithEndSize(20), property));
    }
}
