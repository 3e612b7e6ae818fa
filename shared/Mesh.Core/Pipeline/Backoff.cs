namespace Mesh.Core.Pipeline;

/// <summary>
/// Full-jitter exponential back-off between attempts of a guarded write that lost to another writer, so that
/// contending writers spread out instead of colliding again at once.
/// </summary>
internal static class Backoff
{
    private static readonly TimeSpan Base = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan Cap = TimeSpan.FromMilliseconds(400);

    public static Task DelayAsync(int attempt, TimeProvider clock, CancellationToken cancellationToken)
    {
        var ceiling = Math.Min(Cap.TotalMilliseconds, Base.TotalMilliseconds * (1 << Math.Min(attempt, 16)));
        return Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * ceiling), clock, cancellationToken);
    }
}
