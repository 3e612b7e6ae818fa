using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Mesh.Core.Editing;
using Mesh.Core.Model;
using Mesh.Tests.Support;
using Xunit.Abstractions;

namespace Mesh.Tests.Storage;

/// <summary>DynamoDB's failure modes end in a retry or a clear failure, never a half-written change.</summary>
[Collection(DynamoDbCollection.Name)]
public sealed class DynamoDbFailureTests(DynamoDbLocal local, ITestOutputHelper output)
{
    private static readonly ServiceDefinition Web = new() { Mesh = "m", Name = "web", Port = 8080 };

    [Fact]
    public async Task A_snapshot_larger_than_many_chunks_is_written_in_batches_and_read_back_byte_identical()
    {
        var faults = new FaultInjector();
        using var store = await TempStore.DynamoDbAsync(local, faults, chunkBytes: 4 * 1024);
        var big = StoreContract.Compile("big", 200, 100);
        faults.Reset();
        Assert.True(await store.Store.Snapshots.TryCommitAsync(big, 0, StoreContract.Stamp, DateTimeOffset.UnixEpoch, CancellationToken.None));
        Assert.True(faults.Requests >= 3, $"{faults.Requests} requests: expected several BatchWriteItem calls");
        var read = await store.Store.Snapshots.GetAsync(big.Fleet, big.Version, CancellationToken.None);
        Assert.Equal(Mesh.Core.Snapshots.SnapshotCodec.Encode(big), Mesh.Core.Snapshots.SnapshotCodec.Encode(read!));
    }

    [Fact]
    public async Task Throttling_within_the_sdk_retries_is_absorbed()
    {
        var faults = new FaultInjector();
        using var store = await TempStore.DynamoDbAsync(local, faults);
        faults.Throttle("PutItem", 2);
        var snapshot = StoreContract.Compile("web", 1, 1);
        Assert.True(await store.Store.Snapshots.TryCommitAsync(snapshot, 0, StoreContract.Stamp, DateTimeOffset.UnixEpoch, CancellationToken.None));
        Assert.Equal(snapshot.Version, (await store.Store.Snapshots.GetHeadAsync(snapshot.Fleet, CancellationToken.None))!.Version);
    }

    [Fact]
    public async Task Throttling_that_outlasts_the_retries_fails_clearly_and_leaves_the_head_where_it_was()
    {
        var faults = new FaultInjector();
        using var store = await TempStore.DynamoDbAsync(local, faults);
        var first = StoreContract.Compile("web", 1, 1);
        Assert.True(await store.Store.Snapshots.TryCommitAsync(first, 0, StoreContract.Stamp, DateTimeOffset.UnixEpoch, CancellationToken.None));
        faults.Throttle("PutItem", 100);
        await Assert.ThrowsAnyAsync<AmazonDynamoDBException>(() =>
            store.Store.Snapshots.TryCommitAsync(StoreContract.Compile("web", 2, 1), 1, StoreContract.Stamp, DateTimeOffset.UnixEpoch, CancellationToken.None));
        faults.Clear();
        var head = await store.Store.Snapshots.GetHeadAsync(first.Fleet, CancellationToken.None);
        Assert.Equal((1L, first.Version), (head!.Sequence, head.Version));
    }

    [Fact]
    public async Task A_transaction_conflict_is_retried_until_it_goes_through()
    {
        var faults = new FaultInjector();
        using var store = await TempStore.DynamoDbAsync(local, faults);
        faults.ConflictTransactions(2);
        await store.Store.Desired.PutServicesAsync([Web], CancellationToken.None);
        Assert.NotNull(await store.Store.Desired.GetMeshAsync("m", CancellationToken.None));
        Assert.Equal(["m"], await store.Store.Desired.ListMeshesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_transaction_conflict_that_persists_fails_clearly_and_writes_nothing()
    {
        var faults = new FaultInjector();
        using var store = await TempStore.DynamoDbAsync(local, faults);
        faults.ConflictTransactions(100);
        var failure = await Assert.ThrowsAsync<TransactionCanceledException>(() => store.Store.Desired.PutServicesAsync([Web], CancellationToken.None));
        Assert.Contains(failure.CancellationReasons, r => r.Code == "TransactionConflict");
        faults.Clear();
        Assert.Null(await store.Store.Desired.GetMeshAsync("m", CancellationToken.None));
        Assert.Empty(await store.Store.Desired.ListMeshesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task An_event_whose_writes_keep_failing_is_reported_as_a_failed_batch_item_and_applies_on_redelivery()
    {
        var samples = Repo.Samples;
        var faults = new FaultInjector();
        using var store = await TempStore.DynamoDbAsync(local, faults);
        await Story.SeedAsync(store, samples);
        var running = SampleEvents.Bodies(samples).Single(b => b.Sample == "01-checkout-v57-task-a-running").Body;
        var storefront = new FleetId("shop", "storefront");
        var before = await store.Store.Snapshots.GetHeadAsync(storefront, CancellationToken.None);

        faults.Throttle("PutItem", 100);
        var failed = await Story.FeedAsync(store, samples, [running]);
        Assert.Equal("m0", Assert.Single(failed.BatchItemFailures).ItemIdentifier);
        Assert.Equal(before, await store.Store.Snapshots.GetHeadAsync(storefront, CancellationToken.None));

        faults.Clear();
        Assert.Empty((await Story.FeedAsync(store, samples, [running])).BatchItemFailures);
        Assert.NotEqual(before!.Version, (await store.Store.Snapshots.GetHeadAsync(storefront, CancellationToken.None))!.Version);
    }

    [Fact]
    public async Task An_ingest_whose_publish_fails_after_the_ledger_write_is_retried_into_the_same_state()
    {
        var samples = Repo.Samples;
        var faults = new FaultInjector();
        using var store = await TempStore.DynamoDbAsync(local, faults);
        await Story.SeedAsync(store, samples);
        var running = SampleEvents.Bodies(samples).Single(b => b.Sample == "01-checkout-v57-task-a-running").Body;

        // The ledger write (PutItem) goes through; the chunk writes of the recompile are throttled past the retries.
        faults.Throttle("BatchWriteItem", 100);
        Assert.Single((await Story.FeedAsync(store, samples, [running])).BatchItemFailures);
        faults.Clear();
        // Redelivered, the event is a duplicate for the ledger, and still recompiles.
        Assert.Empty((await Story.FeedAsync(store, samples, [running])).BatchItemFailures);
        var endpoints = System.Text.Encoding.UTF8.GetString(
            (await Story.SnapshotsAsync(store, samples))[new FleetId("shop", "storefront")]);
        Assert.Contains("10.42.17.83", endpoints);
    }

    /// <summary>Figures for the closing note: what one event, one service edit and a 20,000-endpoint fleet cost. Asserts only correctness.</summary>
    [Fact]
    public async Task Costs_of_an_ingested_event_a_service_edit_and_a_large_fleet_are_measured()
    {
        var samples = Repo.Samples;
        var faults = new FaultInjector();
        using var store = await TempStore.DynamoDbAsync(local, faults);
        await Story.SeedAsync(store, samples);
        var bodies = SampleEvents.Bodies(samples);

        faults.Reset();
        Assert.Empty((await Story.FeedAsync(store, samples, [bodies.Single(b => b.Sample == "01-checkout-v57-task-a-running").Body])).BatchItemFailures);
        output.WriteLine($"one ECS event (1 caller fleet recompiled): {faults.Requests} requests ({faults.Breakdown}), {faults.RequestBytes} B sent, {faults.ResponseBytes} B received");

        faults.Reset();
        var checkout = samples.DesiredState.Services.Single(s => s.Name == "checkout-api");
        await store.Store.Desired.PutServicesAsync([checkout with { Hostnames = ["checkout.shop.internal", "pay.shop.internal"] }], CancellationToken.None);
        await store.Publisher.PublishAsync((await store.Store.Desired.GetMeshAsync("shop", CancellationToken.None))!.FleetsAffectedByDefinition("checkout-api"), CancellationToken.None);
        output.WriteLine($"one service edit (2 fleets recompiled): {faults.Requests} requests ({faults.Breakdown}), {faults.RequestBytes} B sent, {faults.ResponseBytes} B received");

        var big = StoreContract.Compile("big", 200, 100);
        faults.Reset();
        var started = System.Diagnostics.Stopwatch.StartNew();
        Assert.True(await store.Store.Snapshots.TryCommitAsync(big, 0, StoreContract.Stamp, DateTimeOffset.UnixEpoch, CancellationToken.None));
        var write = started.Elapsed;
        output.WriteLine($"20,000-endpoint fleet ({big.TotalBytes} B of resources): write {write.TotalMilliseconds:F0} ms, {faults.Requests} requests, {faults.RequestBytes} B sent");
        faults.Reset();
        started.Restart();
        var read = await store.Store.Snapshots.GetAsync(big.Fleet, big.Version, CancellationToken.None);
        output.WriteLine($"20,000-endpoint fleet read: {started.Elapsed.TotalMilliseconds:F0} ms, {faults.Requests} requests, {faults.ResponseBytes} B received");
        Assert.Equal(big.Version, read!.Version);
    }
}
