using System.Net;
using Mesh.Core.Editing;
using Mesh.Core.Model;
using Mesh.Core.Pipeline;
using Mesh.Core.Ports;
using Mesh.Core.Publishing;
using Mesh.Core.Resilience;
using Mesh.Core.Serving;
using Mesh.Tests.Http;
using Mesh.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Tests.Reliability;

/// <summary>A crash between storing a change and publishing it leaves state that heals by itself.</summary>
public class HealingTests
{
    /// <summary>The snapshot port, failing every commit while armed: the process "dies" between the change write and the publish.</summary>
    private sealed class DyingSnapshots(ISnapshotStore inner) : ISnapshotStore
    {
        public bool Armed { get; set; }

        public Task<SnapshotHead?> GetHeadAsync(FleetId fleet, CancellationToken cancellationToken) => inner.GetHeadAsync(fleet, cancellationToken);
        public Task<IReadOnlyList<SnapshotHead>> ListHeadsAsync(string mesh, CancellationToken cancellationToken) => inner.ListHeadsAsync(mesh, cancellationToken);
        public Task<FleetSnapshot?> GetAsync(FleetId fleet, string version, CancellationToken cancellationToken) => inner.GetAsync(fleet, version, cancellationToken);

        public Task<bool> TryCommitAsync(FleetSnapshot snapshot, long expectedSequence, MeshStamp compiledFrom, DateTimeOffset committedAt, CancellationToken cancellationToken) =>
            Armed ? throw new IOException("killed between the store write and the publish") : inner.TryCommitAsync(snapshot, expectedSequence, compiledFrom, committedAt, cancellationToken);
    }

    private static ServiceDefinition Service(string name, params string[] backends) =>
        new() { Mesh = "m", Name = name, Port = 8080, Backends = [.. backends], Subsets = [new Subset("v1", "1"), new Subset("v2", "2")] };

    private static (MeshEdits Edits, DyingSnapshots Snapshots) EditsOver(TempStore store)
    {
        var snapshots = new DyingSnapshots(store.Store.Snapshots);
        var retry = GuardedRetry.Default(TimeProvider.System, new Random(7));
        var publisher = new FleetPublisher(store.Store.Desired, store.Store.Endpoints, snapshots, store.Settings, TimeProvider.System, retry);
        var cache = new SnapshotCache(snapshots, TimeProvider.System);
        var afterCommit = new AfterCommit(cache, TimeProvider.System);
        var editor = new MeshEditor(store.Store.Desired, cache, publisher, store.Settings, TimeProvider.System, retry);
        var reconciler = new Reconciler(store.Store.Desired, publisher, afterCommit);
        return (new MeshEdits(editor, store.Store.Desired, afterCommit, reconciler, new ProxyTracker(store.Store.Proxies, store.Settings, TimeProvider.System)), snapshots);
    }

    private static Func<MeshState?, EditDecision> RouteTo(string subset) => mesh =>
        new Propose(mesh!.With("api", mesh.Services["api"] with { Routes = [new RouteRule { Name = "r", Targets = [new WeightedTarget { Subset = subset, Weight = 100 }] }] }), ["api"]);

    private static async Task<(TempStore Store, string WebBefore)> SeededAsync()
    {
        var store = new TempStore();
        await store.Store.Desired.PutServicesAsync([Service("web", "api"), Service("api")], CancellationToken.None);
        await store.Publisher.PublishAsync([new FleetId("m", "web"), new FleetId("m", "api")], CancellationToken.None);
        return (store, (await store.Store.Snapshots.GetHeadAsync(new FleetId("m", "web"), CancellationToken.None))!.Version);
    }

    [Fact]
    public async Task A_change_stored_but_never_published_is_published_by_the_reconciler_at_the_next_start()
    {
        var (store, webBefore) = await SeededAsync();
        using var _ = store;
        var (edits, snapshots) = EditsOver(store);
        snapshots.Armed = true;
        await Assert.ThrowsAsync<IOException>(() => edits.EditAsync(new EditRequest("m", "alice", null, "PUT routes", false), RouteTo("v2"), CancellationToken.None));

        var mesh = (await store.Store.Desired.GetMeshAsync("m", CancellationToken.None))!;
        var change = Assert.Single((await store.Store.Desired.ListChangesAsync("m", null, 1, CancellationToken.None)).Items);
        Assert.Empty(change.Published);
        var web = new FleetId("m", "web");
        Assert.Equal(webBefore, (await store.Store.Snapshots.GetHeadAsync(web, CancellationToken.None))!.Version);
        Assert.NotEqual(mesh.Stamp, (await store.Store.Snapshots.GetHeadAsync(web, CancellationToken.None))!.CompiledFrom);

        // The process starts again, on the same store: its reconcile at start-up finds the lagging heads.
        var reconciled = Assert.Single(await store.Reconciler.ReconcileAsync(CancellationToken.None));
        Assert.Contains(reconciled.Republished, o => o.Fleet == web);
        var head = (await store.Store.Snapshots.GetHeadAsync(web, CancellationToken.None))!;
        Assert.NotEqual(webBefore, head.Version);
        Assert.Equal(mesh.Stamp, head.CompiledFrom);
        var recorded = (await store.Store.Desired.GetChangeAsync("m", change.Id, CancellationToken.None))!;
        Assert.Contains(recorded.Published, p => p.Fleet == "m/web" && p.Version == head.Version);

        // Healed: a second reconcile writes nothing.
        Assert.Empty(Assert.Single(await store.Reconciler.ReconcileAsync(CancellationToken.None)).Republished);
    }

    [Fact]
    public async Task Sending_the_same_edit_again_publishes_what_the_first_one_left_behind()
    {
        var (store, webBefore) = await SeededAsync();
        using var _ = store;
        var (edits, snapshots) = EditsOver(store);
        snapshots.Armed = true;
        await Assert.ThrowsAsync<IOException>(() => edits.EditAsync(new EditRequest("m", "alice", null, "PUT routes", false), RouteTo("v2"), CancellationToken.None));

        snapshots.Armed = false;
        var again = await edits.EditAsync(new EditRequest("m", "alice", null, "PUT routes", false), RouteTo("v2"), CancellationToken.None);
        Assert.IsType<EditUnchanged>(again.Outcome);
        var head = (await store.Store.Snapshots.GetHeadAsync(new FleetId("m", "web"), CancellationToken.None))!;
        Assert.NotEqual(webBefore, head.Version);
        Assert.Equal((await store.Store.Desired.GetMeshAsync("m", CancellationToken.None))!.Stamp, head.CompiledFrom);
    }

    [Fact]
    public async Task The_scheduled_event_on_the_events_route_runs_the_reconciler()
    {
        await using var host = await LocalHostFixture.StartAsync();
        var desired = host.Services.GetRequiredService<IDesiredStateStore>();
        var snapshots = host.Services.GetRequiredService<ISnapshotStore>();
        var storefront = new FleetId("shop", "storefront");
        var before = (await snapshots.GetHeadAsync(storefront, CancellationToken.None))!;
        // A change stored and never published, as a crash would leave it.
        var checkout = (await desired.GetMeshAsync("shop", CancellationToken.None))!.Services["checkout-api"];
        await desired.PutServicesAsync([checkout with { Hostnames = ["pay.shop.example"] }], CancellationToken.None);

        using var response = await host.PostEventsAsync("""{"version":"0","id":"1","detail-type":"Scheduled Event","source":"aws.events","detail":{}}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var after = (await snapshots.GetHeadAsync(storefront, CancellationToken.None))!;
        Assert.NotEqual(before.Version, after.Version);
        Assert.Equal((await desired.GetMeshAsync("shop", CancellationToken.None))!.Stamp, after.CompiledFrom);
    }

    [Fact]
    public async Task A_mesh_deleted_and_created_again_never_serves_the_old_definition_and_its_old_changes_cannot_be_rolled_back()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        Assert.Equal(HttpStatusCode.Created, (await PolicyApiTests.PutAsync(alice, "/v1/meshes/again", "", null)).StatusCode);
        using var first = await PolicyApiTests.PutAsync(alice, "/v1/meshes/again/services/api", """{"port": 9999}""", null);
        var oldChange = (await LocalHostFixture.JsonAsync(first)).GetProperty("change").GetProperty("id").GetString();
        using (var request = new HttpRequestMessage(HttpMethod.Delete, "/v1/meshes/again/services/api"))
        {
            request.Headers.IfMatch.Add(System.Net.Http.Headers.EntityTagHeaderValue.Parse((await PolicyApiTests.ETagAsync(alice, "/v1/meshes/again/services/api"))!));
            Assert.Equal(HttpStatusCode.OK, (await alice.SendAsync(request)).StatusCode);
        }
        using (var request = new HttpRequestMessage(HttpMethod.Delete, "/v1/meshes/again"))
        {
            request.Headers.IfMatch.Add(System.Net.Http.Headers.EntityTagHeaderValue.Parse((await PolicyApiTests.ETagAsync(alice, "/v1/meshes/again"))!));
            Assert.Equal(HttpStatusCode.OK, (await alice.SendAsync(request)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.Created, (await PolicyApiTests.PutAsync(alice, "/v1/meshes/again", "", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await PolicyApiTests.PutAsync(alice, "/v1/meshes/again/services/api", """{"port": 8080}""", null)).StatusCode);

        Assert.Contains("\"port\":8080", await host.Http.GetStringAsync("/v1/meshes/again/services/api"), StringComparison.Ordinal);
        var snapshot = await host.Http.GetStringAsync("/v1/meshes/again/fleets/api/snapshot");
        Assert.Contains("8080", snapshot, StringComparison.Ordinal);
        Assert.DoesNotContain("9999", snapshot, StringComparison.Ordinal);

        using var rollback = await alice.PostAsync($"/v1/meshes/again/changes/{oldChange}/rollback", null);
        Assert.Equal(HttpStatusCode.Conflict, rollback.StatusCode);
    }
}
