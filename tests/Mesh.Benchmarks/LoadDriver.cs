using System.Diagnostics;
using System.Net;
using System.Text;

namespace Mesh.Benchmarks;

/// <summary>
/// The separate load process: <c>load URL BODY_FILE SECONDS CONNECTIONS</c> posts the body to the URL from
/// CONNECTIONS concurrent loops for SECONDS, then prints "requests status p50_ms p99_ms rps".
/// </summary>
public static class LoadDriver
{
    public static async Task<int> RunAsync(string[] args)
    {
        var url = new Uri(args[0]);
        var body = await File.ReadAllBytesAsync(args[1]);
        var duration = TimeSpan.FromSeconds(double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture));
        var connections = int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections, UseProxy = false });
        var statuses = new int[600];
        var latencies = new List<double>[connections];
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, connections).Select(async c =>
        {
            var mine = latencies[c] = new List<double>(100_000);
            while (clock.Elapsed < duration)
            {
                var started = Stopwatch.GetTimestamp();
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new("application/json");
                using var response = await http.PostAsync(url, content);
                await response.Content.CopyToAsync(Stream.Null);
                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                Interlocked.Increment(ref statuses[(int)response.StatusCode]);
            }
        }));
        var elapsed = clock.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        var status = Array.FindIndex(statuses, s => s > 0);
        var mixed = statuses.Count(s => s > 0) > 1 ? "mixed" : ((HttpStatusCode)status).ToString();
        Console.WriteLine(FormattableString.Invariant($"{all.Length} {mixed} {Percentile(all, 0.5):F3} {Percentile(all, 0.99):F3} {all.Length / elapsed:F0}"));
        return 0;
    }

    public static double Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    public static string DiscoveryRequest(string fleet, string version, params string[] names) =>
        $$"""{"node":{"id":"bench-proxy","cluster":"{{fleet}}"},"version_info":"{{version}}","resource_names":[{{string.Join(",", names.Select(n => $"\"{n}\""))}}]}""";

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
