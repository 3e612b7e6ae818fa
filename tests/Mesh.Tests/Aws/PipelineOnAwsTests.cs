using System.Text.Json;
using Mesh.Core.Ports;
using Mesh.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Tests.Aws;

/// <summary>The local host configured as in Lambda for Cloud Map and EventBridge, both on a loopback stand-in.</summary>
public sealed class PipelineOnAwsTests : IAsyncLifetime
{
    private LoopbackAws _aws = null!;
    private readonly FakeCloudMap _cloudMap = new();
    private LocalHostFixture _host = null!;

    public async Task InitializeAsync()
    {
        // The SDK's default credential chain reads these, as it reads the role's in Lambda.
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", LoopbackAws.AccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", LoopbackAws.SecretKey);
        _aws = await LoopbackAws.StartAsync();
        _aws.Default = _cloudMap.Answer;
        _host = await LocalHostFixture.StartAsync(
            new("Aws:Region", LoopbackAws.Region),
            new("CloudMap:NamespaceId", "ns-test"),
            new("CloudMap:ServiceUrl", _aws.Url.ToString()),
            new("Events:BusName", "mesh-bus"),
            new("Events:ServiceUrl", _aws.Url.ToString()));
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _aws.DisposeAsync();
    }

    private IReadOnlyList<string> Registered(string service) =>
        [.. _cloudMap.Instances(service).Values.Select(a => $"{a["AWS_INSTANCE_IPV4"]}:{a["AWS_INSTANCE_PORT"]} r{a.GetValueOrDefault("MESH_REVISION", "-")}").Order(StringComparer.Ordinal)];

    [Fact]
    public async Task The_story_leaves_cloud_map_with_the_endpoints_that_can_take_traffic_and_a_replay_changes_nothing()
    {
        await _host.ReplayStoryAsync();

        Assert.Equal(["10.42.40.5:8080 r58", "10.42.41.9:8080 r58"], Registered("checkout-api.shop"));
        // The draining and the not-ready pod are not registered; two pods carry no version label.
        Assert.Equal(["10.61.22.140:8080 r-", "10.61.4.27:8080 r-", "10.61.40.77:8080 rv3", "10.61.9.14:8080 rv3"], Registered("inventory-api.shop"));
        Assert.Equal(["10.42.50.7:32768 r9"], Registered("payments.shop"));
        var checkout = _cloudMap.Instances("checkout-api.shop").Values.First();
        Assert.StartsWith("ecs-task:", checkout["MESH_SOURCE"]);
        Assert.Matches("^[a-z]{2}-[a-z]+-[0-9][a-z]$", checkout["AVAILABILITY_ZONE"]);

        var writes = _aws.Calls("RegisterInstance").Count + _aws.Calls("DeregisterInstance").Count;
        await _host.ReplayStoryAsync();
        Assert.Equal(writes, _aws.Calls("RegisterInstance").Count + _aws.Calls("DeregisterInstance").Count);
    }

    [Fact]
    public async Task Every_new_snapshot_is_announced_and_the_last_event_of_each_fleet_names_the_version_it_serves()
    {
        await _host.ReplayStoryAsync();

        Assert.NotEmpty(_cloudMap.Events);
        Assert.All(_cloudMap.Events, e => Assert.Equal("Mesh Config Published", e.GetProperty("DetailType").GetString()));
        var details = _cloudMap.Events.Select(e => JsonDocument.Parse(e.GetProperty("Detail").GetString()!).RootElement).ToList();
        var snapshots = _host.Services.GetRequiredService<ISnapshotStore>();
        foreach (var last in details.GroupBy(d => d.GetProperty("fleet").GetString()!).Select(g => g.Last()))
        {
            Assert.True(Mesh.Core.Model.FleetId.TryParse(last.GetProperty("fleet").GetString(), out var fleet));
            var head = await snapshots.GetHeadAsync(fleet, CancellationToken.None);
            Assert.Equal(head!.Version, last.GetProperty("version").GetString());
            Assert.StartsWith("endpoints of ", last.GetProperty("cause").GetString());
            Assert.NotEqual(0, last.GetProperty("changes").GetArrayLength());
        }
    }

    [Fact]
    public async Task A_registration_that_outlasts_the_retries_fails_its_record_and_the_redelivery_registers_it()
    {
        var running = SampleEvents.Bodies(_host.Samples).Single(b => b.Sample == "01-checkout-v57-task-a-running").Body;
        _aws.Script("RegisterInstance", Enumerable.Repeat((503, """{"__type":"ServiceUnavailable","Message":"down"}"""), 5).ToArray());

        using var first = await _host.PostEventsAsync(SampleEvents.SqsBatch(running));
        var failures = (await LocalHostFixture.JsonAsync(first)).GetProperty("batchItemFailures");
        Assert.Equal("m1", Assert.Single(failures.EnumerateArray()).GetProperty("itemIdentifier").GetString());
        Assert.Empty(Registered("checkout-api.shop"));

        using var redelivered = await _host.PostEventsAsync(SampleEvents.SqsBatch(running));
        Assert.Equal(0, (await LocalHostFixture.JsonAsync(redelivered)).GetProperty("batchItemFailures").GetArrayLength());
        Assert.Equal(["10.42.17.83:8080 r57"], Registered("checkout-api.shop"));
    }

    [Fact]
    public async Task Deleting_a_service_through_the_api_deregisters_its_instances_and_no_others()
    {
        await _host.ReplayStoryAsync();
        Assert.NotEmpty(Registered("storefront.shop"));

        using var alice = _host.As("alice");
        using var current = await alice.GetAsync("/v1/meshes/shop/services/storefront");
        using var delete = new HttpRequestMessage(HttpMethod.Delete, "/v1/meshes/shop/services/storefront");
        delete.Headers.IfMatch.Add(current.Headers.ETag!);
        using var response = await alice.SendAsync(delete);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);

        Assert.Empty(Registered("storefront.shop"));
        Assert.NotEmpty(Registered("checkout-api.shop"));
    }
}
