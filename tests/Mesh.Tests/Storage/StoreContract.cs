using System.Collections.Immutable;
using Mesh.Core.Compile;
using Mesh.Core.Editing;
using Mesh.Core.Endpoints;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Resilience;
using Mesh.Core.Serving;
using Mesh.Core.Snapshots;
using Mesh.Tests.Support;

namespace Mesh.Tests.Storage;

/// <summary>What every store must do. Each implementation runs this same suite: SQLite and DynamoDB (Local).</summary>
public abstract class StoreContract
{
    private static readonly WorkloadKey Workload = WorkloadKey.Eks("c", "ns", "svc");

    protected abstract Task<TempStore> CreateAsync();

    private static SourceObservation Slice(string uid, long generation, bool deleted = false, params string[] addresses) => new()
    {
        SourceId = $"eks-slice:{uid}",
        Workload = Workload,
        Version = generation,
        Terminal = deleted,
        Endpoints = [.. addresses.Select(a => new Endpoint { Id = $"{uid}/{a}", Address = a, Zone = "z1", Health = EndpointHealth.Healthy })],
    };

    private static ChangeRecord Change(string mesh, long revision, MeshLifecycle lifecycle, params ServiceChange[] services) => new()
    {
        Id = ChangeIds.New(DateTimeOffset.UnixEpoch.AddSeconds(revision), revision),
        Mesh = mesh,
        Generation = "g1",
        Revision = revision,
        At = DateTimeOffset.UnixEpoch.AddSeconds(revision),
        Actor = "tester",
        Operation = "test",
        Lifecycle = lifecycle,
        Services = [.. services],
    };

    private static StoredService Web(int port) => StoredService.From(new ServiceDefinition { Mesh = "m", Name = "web", Port = port }) with
    {
        Routes = [new RouteRule { Name = "all", Targets = [new WeightedTarget { Weight = 100 }] }],
        Policy = new ServicePolicy { Mtls = MtlsMode.Strict },
    };

    [Fact]
    public async Task A_change_applies_only_over_the_revision_before_it_and_writes_services_and_its_record_together()
    {
        using var store = await CreateAsync();
        var ct = CancellationToken.None;
        Assert.True(await store.Store.Desired.TryApplyAsync(Change("m", 1, MeshLifecycle.Created), ct));
        Assert.False(await store.Store.Desired.TryApplyAsync(Change("m", 1, MeshLifecycle.Created), ct));
        Assert.True(await store.Store.Desired.TryApplyAsync(Change("m", 2, MeshLifecycle.Edited, new ServiceChange("web", null, Web(80))), ct));
        // A writer that read revision 1 loses, and nothing of its change is written.
        Assert.False(await store.Store.Desired.TryApplyAsync(Change("m", 2, MeshLifecycle.Edited, new ServiceChange("web", null, Web(81))), ct));

        var mesh = await store.Store.Desired.GetMeshAsync("m", ct);
        Assert.Equal(2, mesh!.Revision);
        var web = mesh.Services["web"];
        Assert.Equal(80, web.Port);
        Assert.Equal("all", web.Routes.Single().Name);
        Assert.Equal(MtlsMode.Strict, web.Policy.Mtls);
        var page = await store.Store.Desired.ListChangesAsync("m", null, 10, ct);
        Assert.Equal([2L, 1L], page.Items.Select(c => c.Revision));
        Assert.Null(page.Next);

        await store.Store.Desired.RecordPublishedAsync("m", page.Items[0].Id, [new PublishedVersion("m/web", "Published", "v2", "v1")], ct);
        Assert.Equal("v2", (await store.Store.Desired.GetChangeAsync("m", page.Items[0].Id, ct))!.Published.Single().Version);

        Assert.True(await store.Store.Desired.TryApplyAsync(Change("m", 3, MeshLifecycle.Edited, new ServiceChange("web", Web(80), null)), ct));
        Assert.True(await store.Store.Desired.TryApplyAsync(Change("m", 4, MeshLifecycle.Deleted), ct));
        Assert.Null(await store.Store.Desired.GetMeshAsync("m", ct));
        Assert.Empty(await store.Store.Desired.ListMeshesAsync(ct));
        Assert.Equal(4, (await store.Store.Desired.ListChangesAsync("m", null, 10, ct)).Items.Count);
    }

    [Fact]
    public async Task Changes_page_newest_first()
    {
        using var store = await CreateAsync();
        for (var revision = 1; revision <= 5; revision++)
            Assert.True(await store.Store.Desired.TryApplyAsync(Change("m", revision, revision == 1 ? MeshLifecycle.Created : MeshLifecycle.Edited), CancellationToken.None));
        var seen = new List<long>();
        string? after = null;
        do
        {
            var page = await store.Store.Desired.ListChangesAsync("m", after, 2, CancellationToken.None);
            seen.AddRange(page.Items.Select(c => c.Revision));
            after = page.Next;
        }
        while (after is not null);
        Assert.Equal([5L, 4L, 3L, 2L, 1L], seen);
    }

    [Fact]
    public async Task Proxy_polls_are_kept_per_subscription_and_listed_by_fleet_and_age()
    {
        using var store = await CreateAsync();
        var fleet = new FleetId("m", "web");
        var at = DateTimeOffset.UnixEpoch.AddDays(20_000);
        var cds = SubscriptionKey.Of(fleet, "p1", XdsType.Clusters, []);
        var eds = SubscriptionKey.Of(fleet, "p1", XdsType.Endpoints, ["outbound|b", "outbound|a"]);
        await store.Store.Proxies.RecordPollAsync(new ProxyPoll(cds, "v1", "v2", "v2", at), CancellationToken.None);
        await store.Store.Proxies.RecordPollAsync(new ProxyPoll(eds, "e1", null, null, at.AddMinutes(-10)), CancellationToken.None);
        await store.Store.Proxies.RecordPollAsync(new ProxyPoll(SubscriptionKey.Of(new FleetId("m", "other"), "p9", XdsType.Clusters, []), "x", null, null, at), CancellationToken.None);

        Assert.Equal(new ProxyPoll(cds, "v1", "v2", "v2", at), await store.Store.Proxies.GetPollAsync(cds, CancellationToken.None));
        Assert.Equal("outbound|a,outbound|b", (await store.Store.Proxies.GetPollAsync(eds, CancellationToken.None))!.Key.Names);
        Assert.Equal([cds], (await store.Store.Proxies.ListPollsAsync(fleet, at.AddMinutes(-1), CancellationToken.None)).Select(p => p.Key));
        Assert.Equal(2, (await store.Store.Proxies.ListPollsAsync(fleet, at.AddHours(-1), CancellationToken.None)).Count);
    }

    private static async Task<IReadOnlyList<string>> AddressesAsync(TempStore store) =>
        [.. (await store.Store.Endpoints.ListLiveAsync(Workload, CancellationToken.None)).SelectMany(o => o.Endpoints).Select(e => e.Address!).Order()];

    [Fact]
    public async Task A_service_has_the_union_of_its_slices_and_a_deleted_slice_removes_its_endpoints()
    {
        using var store = await CreateAsync();
        await store.Recorder.RecordAsync(Slice("a", 1, false, "10.0.0.1", "10.0.0.2"), CancellationToken.None);
        await store.Recorder.RecordAsync(Slice("b", 1, false, "10.0.0.3"), CancellationToken.None);
        Assert.Equal(["10.0.0.1", "10.0.0.2", "10.0.0.3"], await AddressesAsync(store));

        var deleted = await store.Recorder.RecordAsync(Slice("a", 1, deleted: true), CancellationToken.None);
        Assert.Equal(LedgerVerdict.Applied, deleted.Verdict);
        Assert.Equal(["10.0.0.3"], await AddressesAsync(store));
        var late = await store.Recorder.RecordAsync(Slice("a", 2, false, "10.0.0.9"), CancellationToken.None);
        Assert.Equal(LedgerVerdict.AfterTerminal, late.Verdict);
        Assert.Equal(["10.0.0.3"], await AddressesAsync(store));
    }

    [Fact]
    public async Task Out_of_order_generations_end_at_the_newest_and_stale_ones_ask_for_no_recompile()
    {
        using var store = await CreateAsync();
        await store.Recorder.RecordAsync(Slice("a", 3, false, "10.0.0.9"), CancellationToken.None);
        var stale = await store.Recorder.RecordAsync(Slice("a", 2, false, "10.0.0.1"), CancellationToken.None);
        Assert.Equal(LedgerVerdict.Stale, stale.Verdict);
        Assert.Empty(stale.AffectedWorkloads);
        var duplicate = await store.Recorder.RecordAsync(Slice("a", 3, false, "10.0.0.9"), CancellationToken.None);
        Assert.Equal(LedgerVerdict.Duplicate, duplicate.Verdict);
        Assert.Equal([Workload], duplicate.AffectedWorkloads);
        Assert.Equal(["10.0.0.9"], await AddressesAsync(store));
    }

    [Fact]
    public async Task A_ledger_write_against_a_stale_revision_changes_nothing()
    {
        using var store = await CreateAsync();
        Assert.True(await store.Store.Endpoints.TryWriteAsync(Slice("a", 1, false, "10.0.0.1"), null, CancellationToken.None));
        Assert.False(await store.Store.Endpoints.TryWriteAsync(Slice("a", 2, false, "10.0.0.2"), null, CancellationToken.None));
        Assert.False(await store.Store.Endpoints.TryWriteAsync(Slice("a", 2, false, "10.0.0.2"), 7, CancellationToken.None));
        Assert.Equal(["10.0.0.1"], await AddressesAsync(store));
        Assert.True(await store.Store.Endpoints.TryWriteAsync(Slice("a", 2, false, "10.0.0.2"), 1, CancellationToken.None));
        var entry = await store.Store.Endpoints.GetAsync(Workload, "eks-slice:a", CancellationToken.None);
        Assert.Equal(2, entry!.Revision);
        Assert.Equal(["10.0.0.2"], await AddressesAsync(store));
    }

    [Fact]
    public async Task A_slice_relabelled_to_another_service_moves_its_endpoints_and_an_old_event_of_the_old_service_is_stale()
    {
        using var store = await CreateAsync();
        var other = WorkloadKey.Eks("c1", "default", "other");
        await store.Recorder.RecordAsync(Slice("s", 1, false, "10.0.0.1") with { CanMove = true }, CancellationToken.None);
        var moved = await store.Recorder.RecordAsync(Slice("s", 2, false, "10.0.0.2") with { Workload = other, CanMove = true }, CancellationToken.None);

        Assert.Equal([other, Workload], moved.AffectedWorkloads);
        Assert.Empty(await AddressesAsync(store));
        var live = await store.Store.Endpoints.ListLiveAsync([other], CancellationToken.None);
        Assert.Equal(["10.0.0.2"], live[other].SelectMany(o => o.Endpoints).Select(e => e.Address));
        Assert.Equal(2, (await store.Store.Endpoints.ListBySourceAsync("eks-slice:s", CancellationToken.None)).Count);

        // A late event of the old service, from before the move, changes nothing.
        var late = await store.Recorder.RecordAsync(Slice("s", 1, false, "10.0.0.9") with { CanMove = true }, CancellationToken.None);
        Assert.Equal(Mesh.Core.Endpoints.LedgerVerdict.Stale, late.Verdict);
        Assert.Empty(await AddressesAsync(store));

        // Moving back works: the newer generation applies to the old service again, and empties the other.
        await store.Recorder.RecordAsync(Slice("s", 3, false, "10.0.0.3") with { CanMove = true }, CancellationToken.None);
        Assert.Equal(["10.0.0.3"], await AddressesAsync(store));
        Assert.Empty((await store.Store.Endpoints.ListLiveAsync([other], CancellationToken.None))[other].SelectMany(o => o.Endpoints));
    }

    [Fact]
    public async Task Many_parallel_writers_of_the_same_events_for_one_task_end_at_the_newest()
    {
        using var store = await CreateAsync();
        var versions = Enumerable.Range(1, 30).Select(v => Slice("t", v, false, $"10.0.1.{v}")).ToList();
        var deliveries = versions.Concat(versions).Concat(versions).OrderBy(_ => Seeded.Next()).ToList();
        await Parallel.ForEachAsync(deliveries, new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (observation, ct) => await store.Recorder.RecordAsync(observation, ct));
        Assert.Equal(["10.0.1.30"], await AddressesAsync(store));
    }

    [Fact]
    public async Task Services_are_stored_listed_and_found_by_their_workload()
    {
        using var store = await CreateAsync();
        var samples = Repo.Samples;
        await store.Store.Desired.PutServicesAsync(samples.DesiredState.Services, CancellationToken.None);
        await store.Store.Desired.PutServicesAsync([samples.DesiredState.Services[0] with { Mesh = "other" }], CancellationToken.None);
        Assert.Equal(["other", "shop"], await store.Store.Desired.ListMeshesAsync(CancellationToken.None));
        var mesh = await store.Store.Desired.GetMeshAsync("shop", CancellationToken.None);
        Assert.Equal(["checkout-api", "inventory-api", "payments", "storefront"], mesh!.Services.Keys);
        Assert.Equal(["payments", "inventory-api"], mesh.Services["checkout-api"].Backends.ToArray());
        Assert.Null(await store.Store.Desired.GetMeshAsync("absent", CancellationToken.None));
        var storefront = samples.DesiredState.Services[0].Workload!.Key;
        Assert.Equal([new FleetId("other", "storefront"), new FleetId("shop", "storefront")],
            (await store.Store.Desired.FindByWorkloadAsync(storefront, CancellationToken.None)).OrderBy(f => f.Mesh, StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_snapshot_commit_is_guarded_by_the_head_sequence_and_reads_back_byte_identical()
    {
        using var store = await CreateAsync();
        var first = Compile("web", backends: 2, endpointsPerBackend: 3);
        var second = Compile("web", backends: 3, endpointsPerBackend: 3);
        var at = DateTimeOffset.Parse("2026-11-24T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(await store.Store.Snapshots.TryCommitAsync(first, 0, Stamp, at, CancellationToken.None));
        Assert.False(await store.Store.Snapshots.TryCommitAsync(second, 0, Stamp, at, CancellationToken.None));
        Assert.False(await store.Store.Snapshots.TryCommitAsync(second, 5, Stamp, at, CancellationToken.None));
        Assert.Equal((1L, first.Version), await HeadAsync(store, first.Fleet));
        Assert.True(await store.Store.Snapshots.TryCommitAsync(second, 1, Stamp, at, CancellationToken.None));
        Assert.True(await store.Store.Snapshots.TryCommitAsync(second, 2, Stamp, at, CancellationToken.None));   // same content still moves the sequence
        Assert.Equal((3L, second.Version), await HeadAsync(store, first.Fleet));
        Assert.Equal(SnapshotCodec.Encode(first), SnapshotCodec.Encode((await store.Store.Snapshots.GetAsync(first.Fleet, first.Version, CancellationToken.None))!));
        Assert.Null(await store.Store.Snapshots.GetAsync(first.Fleet, "0000000000000000", CancellationToken.None));
        var heads = await store.Store.Snapshots.ListHeadsAsync("m", CancellationToken.None);
        Assert.Equal(at, Assert.Single(heads).CommittedAt);
    }

    [Fact]
    public async Task A_fleet_with_200_backends_and_20000_endpoints_is_stored_and_read_back_byte_identical()
    {
        using var store = await CreateAsync();
        var snapshot = Compile("big", backends: 200, endpointsPerBackend: 100);
        Assert.True(snapshot.TotalBytes > 400 * 1024, $"the snapshot is only {snapshot.TotalBytes} bytes");
        Assert.True(await store.Store.Snapshots.TryCommitAsync(snapshot, 0, Stamp, DateTimeOffset.UnixEpoch, CancellationToken.None));
        var read = await store.Store.Snapshots.GetAsync(snapshot.Fleet, snapshot.Version, CancellationToken.None);
        Assert.Equal(SnapshotCodec.Encode(snapshot), SnapshotCodec.Encode(read!));
    }

    [Fact]
    public async Task Replaying_the_whole_story_twice_changes_nothing_the_second_time()
    {
        var samples = Repo.Samples;
        var bodies = SampleEvents.Bodies(samples).Select(b => b.Body).ToList();
        using var store = await CreateAsync();
        await Story.SeedAsync(store, samples);
        await Story.FeedAsync(store, samples, bodies, batchSize: 10);
        var once = await Story.HeadsAsync(store, samples);
        var snapshots = await Story.SnapshotsAsync(store, samples);
        await Story.FeedAsync(store, samples, bodies, batchSize: 10);
        var twice = await Story.HeadsAsync(store, samples);
        Assert.Equal(once.Select(h => h.Version), twice.Select(h => h.Version));
        Assert.All(await Story.SnapshotsAsync(store, samples), pair => Assert.Equal(snapshots[pair.Key], pair.Value));
    }

    [Fact]
    public async Task Concurrent_ingest_and_recompiles_of_the_same_fleets_end_in_the_serial_state()
    {
        var samples = Repo.Samples;
        var mapper = SampleEvents.Mapper(samples);
        var bodies = SampleEvents.Bodies(samples).Select(b => b.Body).Where(b => mapper.Map(b) is not Mesh.Contracts.Events.MalformedEvent).ToList();
        using var serial = new TempStore();
        await Story.SeedAsync(serial, samples);
        await Story.FeedAsync(serial, samples, bodies);
        var expected = await Story.SnapshotsAsync(serial, samples);

        using var store = await CreateAsync();
        await Story.SeedAsync(store, samples);
        // Contended guarded writes may lose every attempt and fail their message; SQS would deliver it again.
        var workers = Enumerable.Range(0, 4).Select(w => Task.Run(async () => Assert.Empty((await
            Story.FeedAsync(store, samples, bodies.Concat(bodies).OrderBy(_ => Seeded.Next()).ToList(), batchSize: 3, redeliveries: 10)).BatchItemFailures)));
        // A direct recompile (an operator's edit) that keeps losing fails clearly; its caller tries again, as the Api's clients would.
        var recompiles = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await store.Publisher.PublishAsync(SampleEvents.Fleets(samples), CancellationToken.None);
                    return;
                }
                catch (Mesh.Core.Resilience.ConcurrencyConflictException) when (attempt < 5)
                {
                }
            }
        }));
        await Task.WhenAll(workers.Cast<Task>().Concat(recompiles));
        var actual = await Story.SnapshotsAsync(store, samples);
        Assert.All(expected, pair => Assert.True(pair.Value.AsSpan().SequenceEqual(actual[pair.Key]), $"{pair.Key} differs from the serial run"));
    }

    /// <summary>A synthetic fleet calling <paramref name="backends"/> services of <paramref name="endpointsPerBackend"/> endpoints each.</summary>
    /// <summary>Shuffles are seeded, so a failure replays with the same order.</summary>
    private readonly Random Seeded = new(20261125);

    /// <summary>What the contract's commits say they were compiled from.</summary>
    public static readonly MeshStamp Stamp = new("g1", 1);

    public static FleetSnapshot Compile(string name, int backends, int endpointsPerBackend)
    {
        var definitions = Enumerable.Range(0, backends).Select(b => new ServiceDefinition { Mesh = "m", Name = $"svc-{b:D3}", Port = 8080 }).ToList();
        var inputs = new FleetInputs(new ServiceDefinition { Mesh = "m", Name = name, Port = 8080, Backends = [.. definitions.Select(d => d.Name)] },
            [.. definitions.Select((d, b) => new BackendInputs(d.Name, d, [.. Enumerable.Range(0, endpointsPerBackend).Select(e => new Endpoint
            {
                Id = $"task-{b}-{e}",
                Address = $"10.{b / 256}.{b % 256}.{e}",
                Zone = $"eu-west-1{(char)('a' + e % 3)}",
                Region = "eu-west-1",
                Version = "7",
                Health = EndpointHealth.Healthy,
            })]))]);
        return Assert.IsType<Compiled>(FleetCompiler.Compile(inputs, new XdsSettings())).Snapshot;
    }

    private static async Task<(long, string)> HeadAsync(TempStore store, FleetId fleet) =>
        await store.Store.Snapshots.GetHeadAsync(fleet, CancellationToken.None) is { } head ? (head.Sequence, head.Version) : (0, "");
}

public sealed class SqliteStoreContract : StoreContract
{
    protected override Task<TempStore> CreateAsync() => Task.FromResult(new TempStore());
}

[Collection(DynamoDbCollection.Name)]
public sealed class DynamoDbStoreContract(DynamoDbLocal local) : StoreContract
{
    protected override Task<TempStore> CreateAsync() => TempStore.DynamoDbAsync(local);
}
