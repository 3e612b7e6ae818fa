using System.Text.Json;
using Mesh.Adapters.Aws;
using Mesh.Core.Ports;
using Mesh.Tests.Support;

namespace Mesh.Tests.Aws;

/// <summary>The EventBridge client against a loopback listener: PutEvents bodies, batching, partial failures, retries.</summary>
public sealed class EventBridgeWireTests : IAsyncLifetime
{
    private LoopbackAws _aws = null!;
    private AwsJsonClient _client = null!;
    private EventBridgeSink _sink = null!;

    public async Task InitializeAsync()
    {
        _aws = await LoopbackAws.StartAsync();
        _client = _aws.Client(AwsJsonService.EventBridge(LoopbackAws.Region, _aws.Url));
        _sink = new EventBridgeSink(_client, "mesh-bus", EventBridgeSink.DefaultSource);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _aws.DisposeAsync();
    }

    private static ConfigPublished Published(int i) => new("shop", $"shop/svc-{i}", $"v{i}", $"v{i - 1}",
        new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero), "change 20261124T120000000Z-000007 by alice",
        [new ResourceTypeChanges("routes", 0, 1, 0, ["~outbound"])]);

    [Fact]
    public async Task Each_event_is_one_signed_entry_with_the_documented_detail()
    {
        _aws.Script("PutEvents", (200, """{"FailedEntryCount":0,"Entries":[{"EventId":"e1"}]}"""));
        await _sink.PublishAsync([Published(1)], CancellationToken.None);

        var call = Assert.Single(_aws.Requests);
        Assert.Equal("AWSEvents.PutEvents", call.Target);
        Assert.Equal("application/x-amz-json-1.1", call.Headers["content-type"]);
        Assert.Matches(@"^\d{8}/eu-west-1/events/aws4_request$", SigV4.Verify(call, LoopbackAws.SecretKey));
        using var body = JsonDocument.Parse(call.Body);
        var entry = Assert.Single(body.RootElement.GetProperty("Entries").EnumerateArray());
        Assert.Equal("mesh-pipeline", entry.GetProperty("Source").GetString());
        Assert.Equal("Mesh Config Published", entry.GetProperty("DetailType").GetString());
        Assert.Equal("mesh-bus", entry.GetProperty("EventBusName").GetString());
        Assert.Equal(
            """{"mesh":"shop","fleet":"shop/svc-1","version":"v1","previousVersion":"v0","publishedAt":"2026-11-24T12:00:00+00:00","cause":"change 20261124T120000000Z-000007 by alice","changes":[{"type":"routes","added":0,"changed":1,"removed":0,"names":["~outbound"]}]}""",
            entry.GetProperty("Detail").GetString());
    }

    [Fact]
    public async Task Events_go_ten_to_a_call_and_only_the_entries_refused_are_sent_again()
    {
        _aws.Script("PutEvents",
            (200, """{"FailedEntryCount":1,"Entries":[{"EventId":"e0"},{"ErrorCode":"ThrottlingException","ErrorMessage":"Rate exceeded"},{"EventId":"e2"},{"EventId":"e3"},{"EventId":"e4"},{"EventId":"e5"},{"EventId":"e6"},{"EventId":"e7"},{"EventId":"e8"},{"EventId":"e9"}]}"""),
            (200, """{"FailedEntryCount":0,"Entries":[{"EventId":"e1"}]}"""),
            (200, """{"FailedEntryCount":0,"Entries":[{"EventId":"e10"},{"EventId":"e11"}]}"""));
        await _sink.PublishAsync([.. Enumerable.Range(0, 12).Select(Published)], CancellationToken.None);

        var fleets = _aws.Calls("PutEvents").Select(c => JsonDocument.Parse(c.Body).RootElement.GetProperty("Entries").EnumerateArray()
            .Select(e => JsonDocument.Parse(e.GetProperty("Detail").GetString()!).RootElement.GetProperty("fleet").GetString()).ToList()).ToList();
        Assert.Equal(3, fleets.Count);
        Assert.Equal(10, fleets[0].Count);
        Assert.Equal(["shop/svc-1"], fleets[1]);
        Assert.Equal(["shop/svc-10", "shop/svc-11"], fleets[2]);
    }

    [Fact]
    public async Task Entries_refused_on_every_attempt_and_calls_that_keep_failing_are_clear_errors()
    {
        _aws.Default = _ => (200, """{"FailedEntryCount":1,"Entries":[{"ErrorCode":"InternalFailure","ErrorMessage":"try again"}]}""");
        var refused = await Assert.ThrowsAsync<AwsCallException>(() => _sink.PublishAsync([Published(1)], CancellationToken.None));
        Assert.Equal("EventBridge PutEvents: 1 events not accepted after 4 attempts (InternalFailure: try again)", refused.Message);

        _aws.Default = _ => (503, """{"__type":"ServiceUnavailableException","message":"unavailable"}""");
        var down = await Assert.ThrowsAsync<AwsCallException>(() => _sink.PublishAsync([Published(1)], CancellationToken.None));
        Assert.Equal("EventBridge PutEvents failed after 5 attempts: HTTP 503 ServiceUnavailableException: unavailable", down.Message);
    }
}
