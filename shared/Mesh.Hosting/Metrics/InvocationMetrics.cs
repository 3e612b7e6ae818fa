using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Mesh.Hosting.Metrics;

public enum MetricUnit { Count, Milliseconds, Seconds, Bytes }

/// <summary>
/// One invocation's metrics, written as one CloudWatch Embedded Metric Format document: the metrics under one
/// namespace with the function's service as the one dimension (Lambda Powertools' convention), each metric a value or
/// up to <see cref="MaxValuesPerMetric"/> values, and properties (the request id) beside them. In Lambda the line goes
/// to stdout, which CloudWatch Logs turns into metrics; locally it shows on the console.
/// </summary>
public sealed class InvocationMetrics(string service)
{
    /// <summary>EMF's limits: metrics per document and values per metric.</summary>
    public const int MaxMetrics = 100;
    public const int MaxValuesPerMetric = 100;

    private readonly SortedDictionary<string, (MetricUnit Unit, List<double> Values)> _metrics = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, string> _properties = new(StringComparer.Ordinal);

    public string Service => service;

    public bool IsEmpty => _metrics.Count == 0;

    /// <summary>Adds to a count (one value, summed).</summary>
    public void Count(string name, int value = 1)
    {
        if (value == 0 && _metrics.ContainsKey(name)) return;
        var values = Metric(name, MetricUnit.Count);
        if (values.Count == 0) values.Add(value);
        else values[0] += value;
    }

    /// <summary>Records one observation (a latency, a size); beyond the limit further ones are dropped.</summary>
    public void Record(string name, MetricUnit unit, double value)
    {
        var values = Metric(name, unit);
        if (values.Count < MaxValuesPerMetric) values.Add(value);
    }

    public void Property(string name, string value) => _properties[name] = value;

    public string ToEmf(string metricNamespace, DateTimeOffset at)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartObject("_aws");
            w.WriteNumber("Timestamp", at.ToUnixTimeMilliseconds());
            w.WriteStartArray("CloudWatchMetrics");
            w.WriteStartObject();
            w.WriteString("Namespace", metricNamespace);
            w.WriteStartArray("Dimensions");
            w.WriteStartArray();
            w.WriteStringValue("service");
            w.WriteEndArray();
            w.WriteEndArray();
            w.WriteStartArray("Metrics");
            foreach (var (name, metric) in _metrics)
            {
                w.WriteStartObject();
                w.WriteString("Name", name);
                w.WriteString("Unit", metric.Unit.ToString());
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteString("service", service);
            foreach (var (name, value) in _properties) w.WriteString(name, value);
            foreach (var (name, metric) in _metrics)
            {
                if (metric.Values.Count == 1)
                {
                    w.WriteNumber(name, metric.Values[0]);
                    continue;
                }
                w.WriteStartArray(name);
                foreach (var value in metric.Values) w.WriteNumberValue(value);
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private List<double> Metric(string name, MetricUnit unit)
    {
        if (_metrics.TryGetValue(name, out var metric)) return metric.Values;
        if (_metrics.Count >= MaxMetrics) throw new InvalidOperationException($"an EMF document holds at most {MaxMetrics} metrics");
        _metrics[name] = (unit, []);
        return _metrics[name].Values;
    }
}

/// <summary>Where documents go: one line each, to stdout (configurable for tests).</summary>
public sealed class MetricsSink(TextWriter output, string metricNamespace, TimeProvider clock)
{
    private readonly Lock _gate = new();

    public string Namespace => metricNamespace;

    public void Write(InvocationMetrics metrics)
    {
        if (metrics.IsEmpty) return;
        var line = metrics.ToEmf(metricNamespace, clock.GetUtcNow());
        lock (_gate)
        {
            output.WriteLine(line);
            output.Flush();
        }
    }
}
