using Mesh.Core.Compile;
using Mesh.Core.Editing;
using Mesh.Core.Model;
using Mesh.Core.Pipeline;
using Mesh.Core.Publishing;
using Mesh.Core.Snapshots;
using Mesh.Tests.Support;

namespace Mesh.Tests.Editing;

public class PreviewCommitTests
{
    private static ServiceDefinition Service(string name, params string[] backends) => new() { Mesh = "m", Name = name, Port = 8080, Backends = [.. backends] };

    [Fact]
    public async Task A_preview_commits_as_compiled_when_no_one_moved_the_head()
    {
        using var store = new TempStore();
        await store.Store.Desired.PutServicesAsync([Service("web", "api"), Service("api")], CancellationToken.None);
        var mesh = (await store.Store.Desired.GetMeshAsync("m", CancellationToken.None))!;
        var previews = await store.Publisher.PreviewAsync(mesh, [new FleetId("m", "web")], CancellationToken.None);

        var outcome = Assert.Single(await store.Publisher.CommitAsync(previews, CancellationToken.None));
        Assert.Equal(PublishStatus.Published, outcome.Status);
        Assert.Same(((Compiled)previews[0].Result!).Snapshot, outcome.Snapshot);
    }

    [Fact]
    public async Task A_preview_whose_head_moved_is_published_again_from_fresh_inputs()
    {
        using var store = new TempStore();
        await store.Store.Desired.PutServicesAsync([Service("web", "api"), Service("api")], CancellationToken.None);
        var web = new FleetId("m", "web");
        var stale = await store.Publisher.PreviewAsync((await store.Store.Desired.GetMeshAsync("m", CancellationToken.None))!, [web], CancellationToken.None);

        // Meanwhile the mesh changes and another writer publishes web from it.
        await store.Store.Desired.PutServicesAsync([Service("api") with { Hostnames = ["api.internal"] }], CancellationToken.None);
        var other = Assert.Single(await store.Publisher.PublishAsync([web], CancellationToken.None));

        var outcome = Assert.Single(await store.Publisher.CommitAsync(stale, CancellationToken.None));
        Assert.NotSame(((Compiled)stale[0].Result!).Snapshot, outcome.Snapshot);
        Assert.Equal(other.Version, outcome.Version);
        Assert.Equal(other.Version, (await store.Store.Snapshots.GetHeadAsync(web, CancellationToken.None))!.Version);
        Assert.Contains("api.internal", System.Text.Encoding.UTF8.GetString(outcome.Snapshot![XdsType.Routes].Find(ResourceNames.OutboundRoutes)!.Json.Span));
    }

    [Fact]
    public async Task Fleets_of_two_meshes_published_together_each_get_their_own_meshs_backend()
    {
        using var store = new TempStore();
        await store.Store.Desired.PutServicesAsync([Service("web", "api"), Service("api")], CancellationToken.None);
        await store.Store.Desired.PutServicesAsync([Service("web", "api") with { Mesh = "other" }, Service("api") with { Mesh = "other", Protocol = ServiceProtocol.Grpc, Port = 9090 }], CancellationToken.None);

        var outcomes = await store.Publisher.PublishAsync([new FleetId("m", "web"), new FleetId("other", "web")], CancellationToken.None);
        string Cluster(string mesh) => System.Text.Encoding.UTF8.GetString(
            outcomes.Single(o => o.Fleet.Mesh == mesh).Snapshot![XdsType.Clusters].Find(ResourceNames.OutboundCluster("api"))!.Json.Span);
        Assert.DoesNotContain("http2_protocol_options", Cluster("m"), StringComparison.Ordinal);
        Assert.Contains("http2_protocol_options", Cluster("other"), StringComparison.Ordinal);
    }
}
