using System.Net;
using Mesh.Tests.Support;

namespace Mesh.Tests.Http;

public class IngestHttpTests
{
    [Fact]
    public async Task A_batch_with_one_malformed_record_reports_only_that_record()
    {
        await using var host = await LocalHostFixture.StartAsync();
        var bodies = SampleEvents.Bodies(host.Samples);
        var good1 = bodies.Single(b => b.Sample == "01-checkout-v57-task-a-running").Body;
        var good2 = bodies.Single(b => b.Sample == "05-inventory-slice-a-modified").Body;
        using var response = await host.PostEventsAsync(SampleEvents.SqsBatch(good1, "{\"detail-type\": 42", good2));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var failures = (await LocalHostFixture.JsonAsync(response)).GetProperty("batchItemFailures");
        Assert.Equal("m2", Assert.Single(failures.EnumerateArray()).GetProperty("itemIdentifier").GetString());

        // The good neighbours were applied.
        var endpoints = await LocalHostFixture.JsonAsync(await host.Http.GetAsync("/v1/meshes/shop/services/checkout-api/endpoints"));
        Assert.Equal("10.42.17.83", Assert.Single(endpoints.GetProperty("endpoints").EnumerateArray()).GetProperty("address").GetString());
        var inventory = await LocalHostFixture.JsonAsync(await host.Http.GetAsync("/v1/meshes/shop/services/inventory-api/endpoints"));
        Assert.Equal(4, inventory.GetProperty("endpoints").GetArrayLength());
    }

    [Fact]
    public async Task A_batch_of_only_good_and_acknowledged_records_reports_no_failure()
    {
        await using var host = await LocalHostFixture.StartAsync();
        var deployment = SampleEvents.Bodies(host.Samples).Single(b => b.Sample == "13-checkout-deployment-completed").Body;
        var running = SampleEvents.Bodies(host.Samples).Single(b => b.Sample == "02-checkout-v57-task-b-running").Body;
        using var response = await host.PostEventsAsync(SampleEvents.SqsBatch(deployment, running, running));
        Assert.Equal(0, (await LocalHostFixture.JsonAsync(response)).GetProperty("batchItemFailures").GetArrayLength());
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("{\"Records\": 7}")]
    [InlineData("{\"something\": []}")]
    public async Task A_body_that_is_not_an_sqs_event_gets_a_problem_response(string body)
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var response = await host.PostEventsAsync(body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task The_whole_story_ends_with_the_endpoints_it_tells()
    {
        await using var host = await LocalHostFixture.StartAsync();
        await host.ReplayStoryAsync();

        static async Task<IReadOnlyList<string>> EdsAsync(LocalHostFixture host, string fleet, string cluster)
        {
            var response = await host.PollAsync(fleet, "endpoints", "", cluster);
            var body = await LocalHostFixture.JsonAsync(response);
            return [.. body.GetProperty("resources")[0].GetProperty("endpoints").EnumerateArray()
                .SelectMany(l => l.GetProperty("lb_endpoints").EnumerateArray())
                .Select(e => $"{e.GetProperty("endpoint").GetProperty("address").GetProperty("socket_address").GetProperty("address").GetString()}:" +
                             $"{e.GetProperty("endpoint").GetProperty("address").GetProperty("socket_address").GetProperty("port_value").GetInt32()} " +
                             (e.TryGetProperty("health_status", out var h) ? h.GetString() : "UNKNOWN"))
                .Order()];
        }

        // Revision 57 is gone (A and B stopped, late events ignored); revision 58's C and D serve.
        Assert.Equal(["10.42.40.5:8080 HEALTHY", "10.42.41.9:8080 HEALTHY"], await EdsAsync(host, "shop/storefront", "outbound|checkout-api"));
        Assert.Empty(await EdsAsync(host, "shop/storefront", "outbound|checkout-api|v57"));
        Assert.Equal(["10.42.40.5:8080 HEALTHY", "10.42.41.9:8080 HEALTHY"], await EdsAsync(host, "shop/storefront", "outbound|checkout-api|v58"));
        // Slices a and b remain, slice c was deleted; terminating and not-ready pods stay, marked.
        Assert.Equal(
            ["10.61.22.140:8080 HEALTHY", "10.61.37.58:8080 DRAINING", "10.61.4.27:8080 HEALTHY", "10.61.40.77:8080 HEALTHY", "10.61.5.203:8080 UNHEALTHY", "10.61.9.14:8080 HEALTHY"],
            await EdsAsync(host, "shop/checkout-api", "outbound|inventory-api"));
        // payments runs in bridge mode: the container instance's address and the host port.
        Assert.Equal(["10.42.50.7:32768 HEALTHY"], await EdsAsync(host, "shop/checkout-api", "outbound|payments"));
    }
}
