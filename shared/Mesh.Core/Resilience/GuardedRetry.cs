namespace Mesh.Core.Resilience;

/// <summary>
/// The one retry policy for guarded writes that lost to another writer (ledger, fleet heads, mesh revisions, store
/// batches): a bounded number of attempts with full-jitter exponential back-off between them, so that contending
/// writers spread out instead of colliding again at once. The jitter comes from a seedable source, so a test
/// that fails can be replayed.
/// </summary>
public sealed class GuardedRetry(int maxAttempts, TimeSpan baseDelay, TimeSpan maxDelay, TimeProvider clock, Random? jitter = null)
{
    private readonly Random _jitter = jitter ?? Random.Shared;
    private readonly Lock _jitterLock = new();

    /// <summary>16 attempts from 5 ms up to 400 ms: at most a few seconds, well inside a Lambda or HTTP request.</summary>
    public static GuardedRetry Default(TimeProvider clock, Random? jitter = null) =>
        new(16, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(400), clock, jitter);

    public int MaxAttempts { get; } = maxAttempts >= 1 ? maxAttempts : throw new ArgumentOutOfRangeException(nameof(maxAttempts));

    /// <summary>
    /// Runs <paramref name="attempt"/> (given its number, from 1) until it returns a value; null means "lost, try
    /// again". After <see cref="MaxAttempts"/> losses it throws <see cref="ConcurrencyConflictException"/> with
    /// <paramref name="what"/>, so the caller fails the work and it is retried later as a whole.
    /// </summary>
    public async Task<T> RunAsync<T>(string what, Func<int, Task<T?>> attempt, CancellationToken cancellationToken) where T : class
    {
        for (var number = 1; number <= MaxAttempts; number++)
        {
            if (number > 1) await DelayAsync(number, cancellationToken);
            if (await attempt(number) is { } done) return done;
        }
        throw new ConcurrencyConflictException($"{what}: other writers kept winning for {MaxAttempts} attempts");
    }

    /// <summary>The same, for an attempt that only says whether it is done.</summary>
    public Task RunAsync(string what, Func<int, Task<bool>> attempt, CancellationToken cancellationToken) =>
        RunAsync(what, async number => await attempt(number) ? Done.Instance : null, cancellationToken);

    private sealed class Done
    {
        public static readonly Done Instance = new();
    }

    private Task DelayAsync(int attempt, CancellationToken cancellationToken)
    {
        var ceiling = Math.Min(maxDelay.TotalMilliseconds, baseDelay.TotalMilliseconds * (1L << Math.Min(attempt, 20)));
        double fraction;
        lock (_jitterLock) fraction = _jitter.NextDouble();
        return Task.Delay(TimeSpan.FromMilliseconds(fraction * ceiling), clock, cancellationToken);
    }
}
