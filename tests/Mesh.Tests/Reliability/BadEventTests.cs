using System.Text.Json.Nodes;
using Mesh.Contracts.Sqs;
using Mesh.Core.Model;
using Mesh.Tests.Support;

namespace Mesh.Tests.Reliability;

/// <summary>A bad record fails alone, named in batchItemFailures; its neighbours in the batch are recorded and published.</summary>
public class BadEventTests
{
    private static JsonObject Shared(string name) => JsonNode.Parse(File.ReadAllText(Path.Combine(Repo.SharedEvents, name)))!.AsObject();

    private static JsonObject Running(Action<JsonObject> edit)
    {
        var json = Shared("ecs-task-running.json");
        edit(json["detail"]!.AsObject());
        return json;
    }

    private static JsonObject Slice(Action<JsonObject> edit)
    {
        var json = Shared("eks-endpointslice.json");
        edit(json["detail"]!.AsObject());
        return json;
    }

    public static TheoryData<string, string> BadRecords => new()
    {
        { "null container", Running(d => d["containers"]!.AsArray().Insert(0, null)).ToJsonString() },
        { "null attachment", Running(d => d["attachments"]!.AsArray().Insert(0, null)).ToJsonString() },
        { "null attachment detail", Running(d => d["attachments"]![0]!["details"]!.AsArray().Insert(0, null)).ToJsonString() },
        { "an address that is not an IP", Running(d => Eni(d, "not-an-ip")).ToJsonString() },
        { "a shortened IPv4 address", Running(d => Eni(d, "10.1")).ToJsonString() },
        { "detail.version as a string", Running(d => d["version"] = "4").ToJsonString() },
        { "a NUL in the group", Running(d => d["group"] = "service:check\u0000out").ToJsonString() },
        { "a newline in the task id", Running(d => d["taskArn"] = "arn:aws:ecs:eu-west-1:1:task/payments-prod/abc\ndef").ToJsonString() },
        { "a BEL in the zone", Running(d => d["availabilityZone"] = "eu-west-1a\u0007").ToJsonString() },
        { "null slice endpoint", Slice(d => d["endpointSlice"]!["endpoints"]!.AsArray().Insert(0, null)).ToJsonString() },
        { "a slice address that is not an IP", Slice(d => d["endpointSlice"]!["endpoints"]![0]!["addresses"] = new JsonArray("pod.example")).ToJsonString() },
        { "a slice port of 70000", Slice(d => d["endpointSlice"]!["ports"]![0]!["port"] = 70000).ToJsonString() },
        { "a control character in a service label", Slice(d => d["endpointSlice"]!["metadata"]!["labels"]!["kubernetes.io/service-name"] = "inventory\napi").ToJsonString() },
        { "a watch type nobody sends", Slice(d => d["watchEventType"] = "EXPLODED").ToJsonString() },
    };

    private static void Eni(JsonObject detail, string address)
    {
        foreach (var item in detail["attachments"]![0]!["details"]!.AsArray())
        {
            if (item!["name"]!.GetValue<string>() == "privateIPv4Address") item["value"] = address;
        }
        foreach (var container in detail["containers"]!.AsArray())
        {
            foreach (var eni in container!["networkInterfaces"]!.AsArray()) eni!["privateIpv4Address"] = address;
        }
    }

    [Theory]
    [MemberData(nameof(BadRecords))]
    public async Task A_bad_record_fails_alone_and_its_neighbour_is_recorded_and_published(string _, string body)
    {
        using var store = new TempStore();
        await Story.SeedAsync(store, Repo.Samples);
        var storefront = new FleetId("shop", "storefront");
        var before = (await store.Store.Snapshots.GetHeadAsync(storefront, CancellationToken.None))!.Version;
        // Task b of checkout-api, which storefront calls; every bad record is about task a, or about a slice.
        var good = SampleEvents.Bodies(Repo.Samples).First(b => b.Sample.StartsWith("02-", StringComparison.Ordinal)).Body;

        var processor = Story.Processor(store, Repo.Samples);
        var response = await processor.ProcessAsync(new SqsEvent([new SqsMessage("good", good), new SqsMessage("bad", body)]), new Mesh.Hosting.Metrics.InvocationMetrics("ingest"), CancellationToken.None);

        Assert.Equal(["bad"], response.BatchItemFailures.Select(f => f.ItemIdentifier));
        var checkout = WorkloadKey.Ecs("payments-prod", "checkout-api");
        var live = (await store.Store.Endpoints.ListLiveAsync([checkout], CancellationToken.None))[checkout];
        Assert.Equal(["ecs-task:payments-prod/2b7e41c09d5a4f36a1e8c3d7b90f6e52"], live.Select(o => o.SourceId));
        Assert.NotEqual(before, (await store.Store.Snapshots.GetHeadAsync(storefront, CancellationToken.None))!.Version);
    }

    [Fact]
    public async Task A_null_record_or_one_without_a_message_id_is_skipped_and_the_rest_of_the_batch_goes_on()
    {
        await using var host = await LocalHostFixture.StartAsync();
        var good = SampleEvents.Bodies(Repo.Samples).First(b => b.Sample.StartsWith("03-", StringComparison.Ordinal)).Body;
        var batch = new JsonObject { ["Records"] = new JsonArray(null, new JsonObject { ["body"] = good }, new JsonObject { ["messageId"] = "m1", ["body"] = good }) };
        using var response = await host.PostEventsAsync(batch.ToJsonString());
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"batchItemFailures":[]}""", await response.Content.ReadAsStringAsync());
        Assert.Contains("10.40.1.21", await host.Http.GetStringAsync("/v1/meshes/shop/services/storefront/endpoints"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bookmarks_and_errors_of_a_watch_are_acknowledged()
    {
        foreach (var type in new[] { "BOOKMARK", "ERROR" })
        {
            var body = new JsonObject
            {
                ["detail-type"] = "EKS EndpointSlice Change", ["source"] = "mesh.eks-forwarder",
                ["detail"] = new JsonObject { ["clusterName"] = "orders-prod", ["watchEventType"] = type, ["endpointSlice"] = new JsonObject { ["metadata"] = new JsonObject { ["resourceVersion"] = "1" } } },
            };
            Assert.IsType<Mesh.Contracts.Events.AcknowledgedEvent>(SampleEvents.Mapper(Repo.Samples).Map(body.ToJsonString()));
        }
    }
}
