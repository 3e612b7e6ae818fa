using System.Collections.Concurrent;
using System.Text;
using System.Threading.Channels;
using Mesh.Core.Compile;
using Mesh.Core.Editing;
using Mesh.Core.Model;
using Mesh.Core.Pipeline;
using Mesh.Core.Ports;
using Mesh.Core.Publishing;
using Mesh.Core.Resilience;
using Mesh.Core.Serving;
using Mesh.Core.Snapshots;
using Mesh.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Mesh.Tests.Reliability;

/// <summary>
/// Events close together publish each fleet once: an isolated one at once, a burst in rounds bounded by the window;
/// the last event of a burst is never lost (the final snapshot is the serial one) and no round commits older inputs
/// than an earlier one.
/// </summary>
public class CoalescingTests
{
    private static readonly CoalescingWindow Window = new(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(300));
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private static FleetId Fleet(string name) => new("m", name);

    /// <summary>A publish that reports each call and waits until the test lets it finish.</summary>
    private sealed class GatedPublish
    {
        public Channel<IReadOnlyList<FleetId>> Calls { get; } = Channel.CreateUnbounded<IReadOnlyList<FleetId>>();
        private readonly ConcurrentQueue<TaskCompletionSource> _gates = new();
        public bool Gated { get; set; }
        public Exception? Failure { get; set; }

        public async Task<IReadOnlyList<PublishOutcome>> PublishAsync(IReadOnlyList<FleetId> fleets, CancellationToken cancellationToken)
        {
            await Calls.Writer.WriteAsync(fleets, cancellationToken);
            if (Gated)
            {
                var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _gates.Enqueue(gate);
                await gate.Task;
            }
            if (Failure is { } failure) throw failure;
            return [.. fleets.Select(f => new PublishOutcome(f, PublishStatus.Published, $"v-{f.Service}", null, []))];
        }

        public void Release()
        {
            Assert.True(_gates.TryDequeue(out var gate), "no publish is waiting");
            gate.SetResult();
        }

        public async Task<IReadOnlyList<FleetId>> NextCallAsync() => await Calls.Reader.ReadAsync().AsTask().WaitAsync(Patience);
    }

    [Fact]
    public async Task An_isolated_request_is_published_at_once_without_waiting_for_the_window()
    {
        var publish = new GatedPublish();
        var clock = new FakeTimeProvider();
        var coalescer = new PublishCoalescer(publish.PublishAsync, new CoalescingWindow(TimeSpan.FromHours(1), TimeSpan.FromHours(1)), clock);
        var outcomes = await coalescer.PublishAsync([Fleet("web")], CancellationToken.None).WaitAsync(Patience);
        Assert.Equal([Fleet("web")], outcomes.Select(o => o.Fleet));
        Assert.Equal(1, coalescer.Rounds);
    }

    [Fact]
    public async Task Requests_arriving_while_a_publish_runs_are_published_together_once_and_each_outcome_is_handed_out_once()
    {
        var publish = new GatedPublish { Gated = true };
        var clock = new FakeTimeProvider();
        var coalescer = new PublishCoalescer(publish.PublishAsync, Window, clock);
        var first = coalescer.PublishAsync([Fleet("a")], CancellationToken.None);
        Assert.Equal([Fleet("a")], await publish.NextCallAsync());
        var burst = new[] { "b", "c", "b", "d", "a" }.Select(n => coalescer.PublishAsync([Fleet(n), Fleet("shared")], CancellationToken.None)).ToList();
        clock.Advance(Window.Quiet);
        publish.Release();
        await first.WaitAsync(Patience);
        var second = await publish.NextCallAsync();
        Assert.Equal(["a", "b", "c", "d", "shared"], second.Select(f => f.Service));
        publish.Release();
        var answers = await Task.WhenAll(burst).WaitAsync(Patience);
        // Each fleet's outcome once, to the first request that asked for it: what follows a commit runs once.
        Assert.Equal(["b", "shared"], answers[0].Select(o => o.Fleet.Service).Order());
        Assert.Equal(["c"], answers[1].Select(o => o.Fleet.Service));
        Assert.Empty(answers[2]);
        Assert.Equal(["a"], answers[4].Select(o => o.Fleet.Service));
        Assert.Equal(2, coalescer.Rounds);
        Assert.False(publish.Calls.Reader.TryRead(out _));
    }

    [Fact]
    public async Task A_steady_stream_of_requests_is_published_no_later_than_the_window_maximum_after_its_first()
    {
        var publish = new GatedPublish { Gated = true };
        var clock = new FakeTimeProvider();
        var coalescer = new PublishCoalescer(publish.PublishAsync, Window, clock);
        var running = coalescer.PublishAsync([Fleet("a")], CancellationToken.None);
        await publish.NextCallAsync();
        // A request every 50 ms never leaves the 100 ms of quiet; the round must start 300 ms after its first all the same.
        var waiting = new List<Task<IReadOnlyList<PublishOutcome>>> { coalescer.PublishAsync([Fleet("s0")], CancellationToken.None) };
        publish.Release();
        await running.WaitAsync(Patience);
        for (var elapsed = 50; elapsed < 300; elapsed += 50)
        {
            clock.Advance(TimeSpan.FromMilliseconds(50));
            // Lets the round's timer continuation run and wait again before time moves on.
            await Task.Delay(20);
            waiting.Add(coalescer.PublishAsync([Fleet($"s{elapsed}")], CancellationToken.None));
        }
        await Task.Delay(100);
        Assert.False(publish.Calls.Reader.TryRead(out _), "the round started before its window's maximum");
        clock.Advance(TimeSpan.FromMilliseconds(50));
        var round = await publish.NextCallAsync();
        Assert.Equal(6, round.Count);
        publish.Release();
        await Task.WhenAll(waiting).WaitAsync(Patience);
        Assert.Equal(2, coalescer.Rounds);
    }

    [Fact]
    public async Task A_failed_round_fails_each_of_its_requests_and_the_next_round_publishes()
    {
        var publish = new GatedPublish { Gated = true, Failure = new IOException("store unavailable") };
        var clock = new FakeTimeProvider();
        var coalescer = new PublishCoalescer(publish.PublishAsync, Window, clock);
        var first = coalescer.PublishAsync([Fleet("a")], CancellationToken.None);
        await publish.NextCallAsync();
        publish.Release();
        await Assert.ThrowsAsync<IOException>(() => first.WaitAsync(Patience));
        publish.Failure = null;
        publish.Gated = false;
        Assert.Single(await coalescer.PublishAsync([Fleet("a")], CancellationToken.None).WaitAsync(Patience));
    }

    /// <summary>The snapshot port, keeping every commit in the order the store took them.</summary>
    private sealed class RecordingSnapshots(ISnapshotStore inner) : ISnapshotStore
    {
        public ConcurrentQueue<FleetSnapshot> Commits { get; } = new();

        public Task<SnapshotHead?> GetHeadAsync(FleetId fleet, CancellationToken cancellationToken) => inner.GetHeadAsync(fleet, cancellationToken);
        public Task<IReadOnlyList<SnapshotHead>> ListHeadsAsync(string mesh, CancellationToken cancellationToken) => inner.ListHeadsAsync(mesh, cancellationToken);
        public Task<FleetSnapshot?> GetAsync(FleetId fleet, string version, CancellationToken cancellationToken) => inner.GetAsync(fleet, version, cancellationToken);

        public async Task<bool> TryCommitAsync(FleetSnapshot snapshot, long expectedSequence, MeshStamp compiledFrom, DateTimeOffset committedAt, CancellationToken cancellationToken)
        {
            var committed = await inner.TryCommitAsync(snapshot, expectedSequence, compiledFrom, committedAt, cancellationToken);
            if (committed) Commits.Enqueue(snapshot);
            return committed;
        }
    }

    private static SourceObservation TaskAt(int version) => new()
    {
        SourceId = "task/t1",
        Workload = WorkloadKey.Ecs("c", "api"),
        Version = version,
        Status = "RUNNING",
        Endpoints = [new Endpoint { Id = "t1", Address = $"10.0.0.{version}", Health = EndpointHealth.Healthy }],
    };

    private static async Task<(EndpointIngest Ingest, RecordingSnapshots Snapshots, PublishCoalescer Coalescer)> SeedAsync(TempStore store)
    {
        var api = new ServiceDefinition { Mesh = "m", Name = "api", Port = 8080, Workload = new WorkloadSource { Platform = "ecs", Cluster = "c", Service = "api" } };
        var web = new ServiceDefinition { Mesh = "m", Name = "web", Port = 8080, Backends = ["api"] };
        await store.Store.Desired.PutServicesAsync([web, api], CancellationToken.None);
        var snapshots = new RecordingSnapshots(store.Store.Snapshots);
        var retry = GuardedRetry.Default(TimeProvider.System, new Random(7));
        var publisher = new FleetPublisher(store.Store.Desired, store.Store.Endpoints, snapshots, store.Settings, TimeProvider.System, retry);
        await publisher.PublishAsync([Fleet("web"), Fleet("api")], CancellationToken.None);
        var coalescer = new PublishCoalescer((fleets, ct) => publisher.PublishAsync(fleets, ct), CoalescingWindow.Default, TimeProvider.System);
        var ingest = new EndpointIngest(new EndpointRecorder(store.Store.Endpoints, retry), publisher, coalescer, new AfterCommit(new SnapshotCache(snapshots, TimeProvider.System), TimeProvider.System));
        return (ingest, snapshots, coalescer);
    }

    private static int AddressVersion(FleetSnapshot snapshot)
    {
        var json = Encoding.UTF8.GetString(snapshot[XdsType.Endpoints].Find(ResourceNames.OutboundCluster("api"))!.Json.Span);
        var at = json.IndexOf("10.0.0.", StringComparison.Ordinal);
        return at < 0 ? 0 : int.Parse(json.AsSpan(at + 7, json.IndexOf('"', at) - at - 7), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task A_concurrent_burst_out_of_order_ends_in_the_serial_snapshot_and_never_commits_an_older_state_after_a_newer()
    {
        const int Events = 40;
        using var serialStore = new TempStore();
        var serial = await SeedAsync(serialStore);
        for (var version = 1; version <= Events; version++)
            await serial.Ingest.IngestAsync([new IngestItem($"m{version}", TaskAt(version))], CancellationToken.None);

        for (var seed = 1; seed <= 3; seed++)
        {
            using var store = new TempStore();
            var burst = await SeedAsync(store);
            var order = Enumerable.Range(1, Events).OrderBy(v => new Random(seed * 1000 + v).Next()).ToList();
            var reports = await Task.WhenAll(order.Select(version =>
                Task.Run(() => burst.Ingest.IngestAsync([new IngestItem($"m{version}", TaskAt(version))], CancellationToken.None))));
            Assert.All(reports, r => Assert.Empty(r.FailedMessages));

            var webCommits = burst.Snapshots.Commits.Where(s => s.Fleet == Fleet("web")).Select(AddressVersion).ToList();
            Assert.True(webCommits.Zip(webCommits.Skip(1)).All(p => p.First <= p.Second), $"seed {seed}: web committed versions out of order: {string.Join(", ", webCommits)}");
            Assert.Equal(Events, webCommits[^1]);
            Assert.True(burst.Coalescer.Rounds < Events, $"seed {seed}: {Events} events took {burst.Coalescer.Rounds} rounds");
            foreach (var fleet in new[] { Fleet("web"), Fleet("api") })
            {
                var expected = await serialStore.Store.Snapshots.GetHeadAsync(fleet, CancellationToken.None);
                var actual = await store.Store.Snapshots.GetHeadAsync(fleet, CancellationToken.None);
                Assert.Equal(expected!.Version, actual!.Version);
            }
        }
    }
}
