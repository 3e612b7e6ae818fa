using Mesh.Core.Model;

namespace Mesh.Core.Publishing;

/// <summary>
/// How long publishes wait to be coalesced: a round waits until no new request has come for <see cref="Quiet"/>, and
/// never longer than <see cref="Max"/> after its first request (Istio's PILOT_DEBOUNCE_AFTER and _MAX).
/// </summary>
public sealed record CoalescingWindow(TimeSpan Quiet, TimeSpan Max)
{
    public static CoalescingWindow Default { get; } = new(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1));

    /// <summary>Every request is published on its own as soon as no other publish runs.</summary>
    public static CoalescingWindow None { get; } = new(TimeSpan.Zero, TimeSpan.Zero);
}

/// <summary>
/// Publishes the fleets of requests that arrive close together once. A request that finds nothing running or waiting
/// is published at once (an isolated event pays no window); requests that arrive while a publish runs join one
/// waiting round, which starts when the window closes and the running publish has finished. Rounds run one at a
/// time, each from inputs read when it starts, so a later round never commits older inputs than an earlier one
/// (across processes, head guards keep that). Callers record their inputs before they ask, so the round that answers
/// them has read them. A round's failure fails each of its requests; on success each fleet's outcome goes to the
/// first request that asked for it, so what follows a commit (remembering, announcing) runs once per commit.
/// </summary>
public sealed class PublishCoalescer(Func<IReadOnlyList<FleetId>, CancellationToken, Task<IReadOnlyList<PublishOutcome>>> publish, CoalescingWindow window,
    TimeProvider clock)
{
    private readonly Lock _gate = new();
    private Round? _waiting;
    private Task _last = Task.CompletedTask;
    private long _rounds;

    /// <summary>How many rounds have published (for the benchmark and tests).</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    public async Task<IReadOnlyList<PublishOutcome>> PublishAsync(IReadOnlyCollection<FleetId> fleets, CancellationToken cancellationToken)
    {
        if (fleets.Count == 0) return [];
        Round round;
        int ticket;
        Task? previous = null;
        lock (_gate)
        {
            var now = clock.GetTimestamp();
            if (_waiting is { } waiting)
            {
                round = waiting;
            }
            else
            {
                // Nothing waiting: at once when nothing runs either, else after the window.
                round = new Round(now, immediate: _last.IsCompleted);
                if (!round.Immediate) _waiting = round;
                previous = _last;
                _last = round.Completion.Task;
            }
            ticket = round.Join(fleets, now);
        }
        if (previous is not null) _ = RunAsync(round, previous);
        var outcomes = await round.Completion.Task.WaitAsync(cancellationToken);
        return [.. outcomes.Where(o => round.OwnerOf(o.Fleet) == ticket)];
    }

    private async Task RunAsync(Round round, Task previous)
    {
        if (!round.Immediate)
        {
            for (var wait = round.Remaining(window, clock); wait > TimeSpan.Zero; wait = round.Remaining(window, clock))
                await Task.Delay(wait, clock);
            // A failed round failed its own callers; this one runs regardless.
            await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        IReadOnlyList<FleetId> fleets;
        lock (_gate)
        {
            if (_waiting == round) _waiting = null;
            fleets = round.Close();
        }
        Interlocked.Increment(ref _rounds);
        try
        {
            // Shared by its callers: one caller giving up does not cancel the others' publish.
            round.Completion.SetResult(await publish(fleets, CancellationToken.None));
        }
        catch (Exception e)
        {
            round.Completion.SetException(e);
        }
    }

    private sealed class Round(long firstJoin, bool immediate)
    {
        /// <summary>Each fleet asked for, and the first request that asked.</summary>
        private readonly SortedDictionary<FleetId, int> _fleets = new(FleetOrder.Instance);
        private int _requests;
        private readonly long _firstJoin = firstJoin;
        private long _lastJoin = firstJoin;

        public bool Immediate { get; } = immediate;

        public TaskCompletionSource<IReadOnlyList<PublishOutcome>> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Under the coalescer's lock: the request's ticket.</summary>
        public int Join(IEnumerable<FleetId> fleets, long now)
        {
            var ticket = ++_requests;
            foreach (var fleet in fleets) _fleets.TryAdd(fleet, ticket);
            Interlocked.Exchange(ref _lastJoin, now);
            return ticket;
        }

        /// <summary>Under the coalescer's lock: the fleets to publish; no request joins after this.</summary>
        public IReadOnlyList<FleetId> Close() => [.. _fleets.Keys];

        /// <summary>After the round closed (nothing changes it any more).</summary>
        public int OwnerOf(FleetId fleet) => _fleets.GetValueOrDefault(fleet);

        /// <summary>How much longer the round waits: until it has been quiet for the window, and at most the window's maximum.</summary>
        public TimeSpan Remaining(CoalescingWindow window, TimeProvider clock)
        {
            var now = clock.GetTimestamp();
            var quiet = window.Quiet - clock.GetElapsedTime(Interlocked.Read(ref _lastJoin), now);
            var max = window.Max - clock.GetElapsedTime(_firstJoin, now);
            return quiet < max ? quiet : max;
        }
    }
}
