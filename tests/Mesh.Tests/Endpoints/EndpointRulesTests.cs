using Mesh.Core.Endpoints;
using Mesh.Core.Model;
using Mesh.Tests.Support;

namespace Mesh.Tests.Endpoints;

/// <summary>The ledger rules as the pipeline applies them to a real store.</summary>
public class EndpointRulesTests
{
    private static readonly WorkloadKey Workload = WorkloadKey.Eks("c", "ns", "svc");

    private static SourceObservation Slice(string uid, long generation, bool deleted = false, params string[] addresses) => new()
    {
        SourceId = $"eks-slice:{uid}",
        Workload = Workload,
        Version = generation,
        Terminal = deleted,
        Endpoints = [.. addresses.Select(a => new Endpoint { Id = $"{uid}/{a}", Address = a })],
    };

    private static async Task<IReadOnlyList<string>> AddressesAsync(TempStore store) =>
        [.. (await store.Store.ListLiveAsync(Workload, CancellationToken.None)).SelectMany(o => o.Endpoints).Select(e => e.Address!).Order()];

    [Fact]
    public async Task A_service_has_the_union_of_its_slices_and_a_deleted_slice_removes_its_endpoints()
    {
        using var store = new TempStore();
        await store.Recorder.RecordAsync(Slice("a", 1, false, "10.0.0.1", "10.0.0.2"), CancellationToken.None);
        await store.Recorder.RecordAsync(Slice("b", 1, false, "10.0.0.3"), CancellationToken.None);
        Assert.Equal(["10.0.0.1", "10.0.0.2", "10.0.0.3"], await AddressesAsync(store));

        var deleted = await store.Recorder.RecordAsync(Slice("a", 1, deleted: true), CancellationToken.None);
        Assert.Equal(LedgerVerdict.Applied, deleted.Verdict);
        Assert.Equal(["10.0.0.3"], await AddressesAsync(store));
    }

    [Fact]
    public async Task Out_of_order_slice_generations_end_at_the_newest()
    {
        using var store = new TempStore();
        await store.Recorder.RecordAsync(Slice("a", 3, false, "10.0.0.9"), CancellationToken.None);
        var stale = await store.Recorder.RecordAsync(Slice("a", 2, false, "10.0.0.1"), CancellationToken.None);
        Assert.Equal(LedgerVerdict.Stale, stale.Verdict);
        Assert.Empty(stale.AffectedWorkloads);
        Assert.Equal(["10.0.0.9"], await AddressesAsync(store));
    }

    [Fact]
    public async Task A_duplicate_still_asks_for_a_recompile_in_case_its_first_delivery_failed_to_publish()
    {
        using var store = new TempStore();
        await store.Recorder.RecordAsync(Slice("a", 1, false, "10.0.0.1"), CancellationToken.None);
        var duplicate = await store.Recorder.RecordAsync(Slice("a", 1, false, "10.0.0.1"), CancellationToken.None);
        Assert.Equal(LedgerVerdict.Duplicate, duplicate.Verdict);
        Assert.Equal([Workload], duplicate.AffectedWorkloads);
    }

    [Fact]
    public async Task A_write_against_a_stale_revision_changes_nothing()
    {
        using var store = new TempStore();
        Assert.True(await store.Store.TryWriteAsync(Slice("a", 1, false, "10.0.0.1"), null, CancellationToken.None));
        Assert.False(await store.Store.TryWriteAsync(Slice("a", 2, false, "10.0.0.2"), null, CancellationToken.None));
        Assert.False(await store.Store.TryWriteAsync(Slice("a", 2, false, "10.0.0.2"), 7, CancellationToken.None));
        Assert.Equal(["10.0.0.1"], await AddressesAsync(store));
        Assert.True(await store.Store.TryWriteAsync(Slice("a", 2, false, "10.0.0.2"), 1, CancellationToken.None));
        Assert.Equal(["10.0.0.2"], await AddressesAsync(store));
    }

    [Fact]
    public async Task Parallel_writers_of_every_version_of_one_task_end_at_the_newest()
    {
        using var store = new TempStore();
        var versions = Enumerable.Range(1, 40).Select(v => Slice("t", v, false, $"10.0.1.{v}")).ToList();
        await Parallel.ForEachAsync(versions.Concat(versions), new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (observation, ct) => await store.Recorder.RecordAsync(observation, ct));
        Assert.Equal(["10.0.1.40"], await AddressesAsync(store));
    }
}
