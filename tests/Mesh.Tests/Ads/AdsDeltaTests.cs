using Envoy.Service.Discovery.V3;
using Mesh.Core.Model;
using Mesh.Tests.Http;
using Mesh.Tests.Support;

namespace Mesh.Tests.Ads;

/// <summary>Incremental (delta) ADS over a real gRPC channel on loopback.</summary>
public sealed class AdsDeltaTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(700);
    private const string Fleet = "shop/storefront";

    [Fact]
    public async Task Wildcard_clusters_named_endpoints_unsubscribe_and_a_reconnect_that_sends_only_what_changed()
    {
        await using var host = await LocalHostFixture.StartAsync(AdsHost.Settings());
        await using var ads = new AdsClient(AdsHost.AdsAddress(host));
        var node = AdsClient.Node("sf-1", Fleet, AdsProtocolTests.Token(Fleet));
        Dictionary<string, string> held;
        using (var stream = ads.Service.DeltaAggregatedResources())
        {
            var responses = new AdsClient.Reader<DeltaDiscoveryResponse>(stream.ResponseStream);
            // A first CDS request naming nothing subscribes to every cluster.
            await stream.RequestStream.WriteAsync(new DeltaDiscoveryRequest { Node = node, TypeUrl = XdsTypes.ClusterUrl });
            var clusters = (await responses.NextAsync(Wait))!;
            Assert.Contains(clusters.Resources, r => r.Name == "outbound|checkout-api");
            Assert.All(clusters.Resources, r => Assert.Equal(16, r.Version.Length));
            held = clusters.Resources.ToDictionary(r => r.Name, r => r.Version);
            await stream.RequestStream.WriteAsync(new DeltaDiscoveryRequest { TypeUrl = XdsTypes.ClusterUrl, ResponseNonce = clusters.Nonce });
            Assert.Null(await responses.NextAsync(Quiet));

            var subscribe = new DeltaDiscoveryRequest { TypeUrl = XdsTypes.EndpointUrl, ResourceNamesSubscribe = { "outbound|checkout-api", "outbound|nowhere" } };
            await stream.RequestStream.WriteAsync(subscribe);
            var endpoints = (await responses.NextAsync(Wait))!;
            Assert.Equal(["outbound|checkout-api"], endpoints.Resources.Select(r => r.Name));
            // A name that does not exist is said to be removed, once.
            Assert.Equal(["outbound|nowhere"], endpoints.RemovedResources);
            await stream.RequestStream.WriteAsync(new DeltaDiscoveryRequest { TypeUrl = XdsTypes.EndpointUrl, ResponseNonce = endpoints.Nonce });

            // The story moves checkout-api's endpoints (many times): only that load assignment comes, each time it moves.
            await host.ReplayStoryAsync();
            var moved = new List<DeltaDiscoveryResponse> { (await responses.NextAsync(Wait))! };
            while (await responses.NextAsync(Quiet) is { } more) moved.Add(more);
            Assert.All(moved, m => Assert.Equal(XdsTypes.EndpointUrl, m.TypeUrl));
            Assert.All(moved, m => Assert.Equal(["outbound|checkout-api"], m.Resources.Select(r => r.Name)));
            Assert.Equal(moved.Count, moved.Select(m => m.Resources[0].Version).Distinct().Count());
            await stream.RequestStream.WriteAsync(new DeltaDiscoveryRequest { TypeUrl = XdsTypes.EndpointUrl, ResponseNonce = moved[^1].Nonce });

            // Unsubscribed, it is sent no more.
            await stream.RequestStream.WriteAsync(new DeltaDiscoveryRequest { TypeUrl = XdsTypes.EndpointUrl, ResourceNamesUnsubscribe = { "outbound|checkout-api" } });
            Assert.Null(await responses.NextAsync(Quiet));
        }

        // A reconnect says what it holds: nothing unchanged is sent again, only the cluster that changed.
        using var alice = host.As("alice");
        var policy = "/v1/meshes/shop/services/checkout-api/policy";
        using (var edited = await PolicyApiTests.PutAsync(alice, policy, """{"loadBalancing": "LEAST_REQUEST"}""", await PolicyApiTests.ETagAsync(alice, policy)))
            edited.EnsureSuccessStatusCode();
        using var again = ads.Service.DeltaAggregatedResources();
        var reader = new AdsClient.Reader<DeltaDiscoveryResponse>(again.ResponseStream);
        var reconnect = new DeltaDiscoveryRequest { Node = node, TypeUrl = XdsTypes.ClusterUrl };
        reconnect.InitialResourceVersions.Add(held);
        await again.RequestStream.WriteAsync(reconnect);
        var changed = (await reader.NextAsync(Wait))!;
        // checkout-api's clusters (the whole service and its two subsets) take the new policy; no other cluster comes.
        Assert.Equal(["outbound|checkout-api", "outbound|checkout-api|v57", "outbound|checkout-api|v58"], changed.Resources.Select(r => r.Name).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(changed.Resources, r => held.GetValueOrDefault(r.Name) == r.Version);
        Assert.Empty(changed.RemovedResources);
    }

    [Fact]
    public async Task A_delta_nack_is_recorded_and_the_rejected_resources_are_not_sent_again()
    {
        await using var host = await LocalHostFixture.StartAsync(AdsHost.Settings());
        await using var ads = new AdsClient(AdsHost.AdsAddress(host));
        using var stream = ads.Service.DeltaAggregatedResources();
        var responses = new AdsClient.Reader<DeltaDiscoveryResponse>(stream.ResponseStream);
        await stream.RequestStream.WriteAsync(new DeltaDiscoveryRequest { Node = AdsClient.Node("sf-1", Fleet, AdsProtocolTests.Token(Fleet)), TypeUrl = XdsTypes.ListenerUrl });
        var listeners = (await responses.NextAsync(Wait))!;
        await stream.RequestStream.WriteAsync(new DeltaDiscoveryRequest
        {
            TypeUrl = XdsTypes.ListenerUrl, ResponseNonce = listeners.Nonce,
            ErrorDetail = new Google.Rpc.Status { Code = 3, Message = "listener outbound: duplicate filter chain match" },
        });
        Assert.Null(await responses.NextAsync(Quiet));
        using var alice = host.As("alice");
        var rejected = Assert.Single((await LocalHostFixture.JsonAsync(await alice.GetAsync("/v1/meshes/shop/fleets/storefront/convergence")))
            .GetProperty("counts").GetProperty("rejected").EnumerateArray());
        Assert.Equal("duplicate filter chain match", rejected.GetProperty("reason").GetString()!.Split(": ")[1]);
        Assert.Equal(listeners.SystemVersionInfo, rejected.GetProperty("rejectedVersion").GetString());
    }
}
