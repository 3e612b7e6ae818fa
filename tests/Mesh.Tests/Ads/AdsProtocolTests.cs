using Envoy.Config.Cluster.V3;
using Envoy.Service.Discovery.V3;
using Grpc.Core;
using Mesh.Core.Model;
using Mesh.Core.Serving;
using Mesh.Tests.Http;
using Mesh.Tests.Support;

namespace Mesh.Tests.Ads;

/// <summary>ADS over a real gRPC channel on loopback, state of the world: what Envoy sends, and what it must get back.</summary>
public sealed class AdsProtocolTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(700);
    private const string Fleet = "shop/storefront";

    internal static string Token(string fleet) => new FleetTokens(Convert.FromBase64String(AdsHost.FleetTokenKey)).Issue(FleetId.TryParse(fleet, out var id) ? id : throw new ArgumentException(fleet));

    [Fact]
    public async Task A_head_moving_while_the_stream_waits_is_pushed_at_once_and_an_ack_is_not_answered()
    {
        await using var host = await LocalHostFixture.StartAsync(AdsHost.Settings());
        await using var ads = new AdsClient(AdsHost.AdsAddress(host));
        using var stream = ads.Service.StreamAggregatedResources();
        var responses = new AdsClient.Reader<DiscoveryResponse>(stream.ResponseStream);
        await stream.RequestStream.WriteAsync(AdsClient.Request(XdsType.Clusters, AdsClient.Node("sf-1", Fleet, Token(Fleet))));
        var clusters = await responses.NextAsync(Wait);
        Assert.NotNull(clusters);
        Assert.Equal(XdsTypes.ClusterUrl, clusters.TypeUrl);
        var rest = await (await host.PollAsync(Fleet, "clusters", "")).Content.ReadAsStringAsync();
        Assert.Contains(clusters.VersionInfo, rest, StringComparison.Ordinal);

        // Over ADS a cluster's endpoints come on the same stream.
        var outbound = clusters.Resources.Select(r => r.Unpack<Cluster>()).Single(c => c.Name == "outbound|checkout-api");
        Assert.Equal(Envoy.Config.Core.V3.ConfigSource.ConfigSourceSpecifierOneofCase.Ads, outbound.EdsClusterConfig.EdsConfig.ConfigSourceSpecifierCase);

        await stream.RequestStream.WriteAsync(AdsClient.Request(XdsType.Clusters, version: clusters.VersionInfo, nonce: clusters.Nonce));
        Assert.Null(await responses.NextAsync(Quiet));

        // A policy edit changes the callers' clusters: the waiting stream gets the new version without asking.
        using var alice = host.As("alice");
        var policy = "/v1/meshes/shop/services/checkout-api/policy";
        using (var edited = await PolicyApiTests.PutAsync(alice, policy, """{"loadBalancing": "LEAST_REQUEST"}""", await PolicyApiTests.ETagAsync(alice, policy)))
            edited.EnsureSuccessStatusCode();
        var pushed = await responses.NextAsync(Wait);
        Assert.NotNull(pushed);
        Assert.NotEqual(clusters.VersionInfo, pushed.VersionInfo);
        Assert.NotEqual(clusters.Nonce, pushed.Nonce);
        Assert.Equal(Cluster.Types.LbPolicy.LeastRequest, pushed.Resources.Select(r => r.Unpack<Cluster>()).Single(c => c.Name == "outbound|checkout-api").LbPolicy);
    }
}
