using System.Collections.Concurrent;
using System.Diagnostics;
using Mesh.Core.Telemetry;

namespace Mesh.Benchmarks;

/// <summary>
/// The runtime's own profile of a figure: the total time spent in each of the pipeline's spans while it listens
/// (spans nest, so a parent's time includes its children's; a span within one of its own name is not counted twice).
/// </summary>
public sealed class SpanTotals : IDisposable
{
    private readonly ActivityListener _listener;
    private readonly ConcurrentDictionary<string, double> _milliseconds = new(StringComparer.Ordinal);

    public SpanTotals()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == PipelineTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = activity =>
            {
                // A span inside one of the same name (an edit's commit of each fleet within its commit of all) is already counted.
                for (var parent = activity.Parent; parent is not null; parent = parent.Parent)
                {
                    if (parent.OperationName == activity.OperationName) return;
                }
                _milliseconds.AddOrUpdate(activity.OperationName, activity.Duration.TotalMilliseconds, (_, sum) => sum + activity.Duration.TotalMilliseconds);
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>Each span's total since the last call, divided by <paramref name="count"/>, and starts again.</summary>
    public string TakeMeans(int count)
    {
        var means = _milliseconds.OrderByDescending(p => p.Value).Select(p => FormattableString.Invariant($"{p.Key} {p.Value / count:F1}"));
        var text = string.Join(", ", means) + " ms";
        _milliseconds.Clear();
        return text;
    }

    public void Dispose() => _listener.Dispose();
}
