using System.Collections.Concurrent;
using System.Diagnostics;
using Mesh.Core.Compile;
using Mesh.Core.Model;
using Mesh.Core.Publishing;
using Mesh.Core.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Benchmarks;

/// <summary>
/// Figure 7: a deployment burst. 1,000 ECS task events (20 new tasks for each of 50 services), one SQS message per
/// POST /events, sent at an even rate over 10 s without waiting for answers; timed from the last event sent until
/// every affected fleet (the 50 services' own and their callers') serves EDS holding all of its backends' new tasks,
/// checked by REST polls. Publishes per fleet are counted from the host's commits.
/// </summary>
public sealed class BurstFigure(SyntheticMesh mesh)
{
    public const int Services = 50;
    public const int TasksPerService = 20;
    public static readonly TimeSpan Spread = TimeSpan.FromSeconds(10);
    private const int FirstService = 100;

    public async Task<IReadOnlyList<(string Figure, string Value)>> RunAsync(WebApplication app, HttpClient http, string operatorToken)
    {
        var rolled = Enumerable.Range(FirstService, Services).Select(SyntheticMesh.Name).ToHashSet(StringComparer.Ordinal);
        var definitions = mesh.Definitions();
        // Every fleet the burst moves, and the clusters (a rolled backend's, or its own local one) that must serve new tasks.
        var affected = definitions.Where(d => rolled.Contains(d.Name) || d.Backends.Any(rolled.Contains))
            .ToDictionary(d => d.Fleet, d => d.Backends.Where(rolled.Contains).Select(b => (Cluster: ResourceNames.OutboundCluster(b), Service: b))
                .Concat(rolled.Contains(d.Name) ? [(ResourceNames.LocalCluster(d.Name), d.Name)] : []).ToList());
        var published = new ConcurrentDictionary<(FleetId Fleet, string Version), bool>();
        var cache = app.Services.GetRequiredService<SnapshotCache>();
        var coalescer = app.Services.GetRequiredService<PublishCoalescer>();
        var clock = new Stopwatch();
        long lastCommitTicks = 0;
        void Count(FleetSnapshot snapshot)
        {
            if (published.TryAdd((snapshot.Fleet, snapshot.Version), true)) Interlocked.Exchange(ref lastCommitTicks, clock.Elapsed.Ticks);
        }
        cache.Committed += Count;
        var roundsBefore = coalescer.Rounds;

        var random = new Random(20261207);
        var events = Enumerable.Range(0, Services * TasksPerService)
            .Select(i => (Service: SyntheticMesh.Name(FirstService + i % Services), Task: i / Services))
            .OrderBy(_ => random.Next()).ToList();
        var sent = new List<Task<HttpResponseMessage>>();
        clock.Start();
        for (var i = 0; i < events.Count; i++)
        {
            var due = Spread * i / events.Count;
            if (due > clock.Elapsed) await Task.Delay(due - clock.Elapsed);
            var (service, task) = events[i];
            var request = new HttpRequestMessage(HttpMethod.Post, "/events")
            {
                Content = LoadDriver.Json(WholeRun.SqsWrapped(WholeRun.EcsTaskEvent(service, $"roll-{service}-{task}", 1, NewAddress(service, task)))),
            };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", operatorToken);
            sent.Add(http.SendAsync(request));
        }
        var lastSent = clock.Elapsed;
        foreach (var response in await Task.WhenAll(sent)) response.EnsureSuccessStatusCode();
        var answered = clock.Elapsed - lastSent;
        cache.Committed -= Count;
        // This process answers polls from its own commits at once: a fleet is served from its commit on. Checked, not timed:
        await ServedAsync(http, affected);
        var served = TimeSpan.FromTicks(Interlocked.Read(ref lastCommitTicks)) - lastSent;

        var counts = affected.Keys.Select(f => published.Keys.Count(p => p.Fleet == f)).Order().ToList();
        var eventsPerFleet = affected.Values.Average(clusters => clusters.Count * TasksPerService);
        return
        [
            ($"7. burst: {events.Count:N0} ECS task events for {Services} services over {Spread.TotalSeconds:F0} s through POST /events, last event → last affected fleet committed, so served (then every one of the {affected.Count} affected fleets' EDS checked over REST for all new tasks)",
                FormattableString.Invariant($"{served.TotalMilliseconds:F0} ms (every event's POST answered {answered.TotalMilliseconds:F0} ms after the last was sent)")),
            ("7. burst: publishes per affected fleet (median / max), and coalesced rounds",
                FormattableString.Invariant($"{counts[counts.Count / 2]} / {counts[^1]} publishes per fleet for about {eventsPerFleet:F0} events each (every event touching a fleet published alone would be that many); {coalescer.Rounds - roundsBefore} rounds for {events.Count:N0} events")),
        ];
    }

    private static string NewAddress(string service, int task) => $"10.200.{int.Parse(service.AsSpan(4), System.Globalization.CultureInfo.InvariantCulture) - FirstService}.{task + 1}";

    /// <summary>Polls each affected fleet's EDS of each moved cluster until it holds every new task; bounded.</summary>
    private static async Task ServedAsync(HttpClient http, Dictionary<FleetId, List<(string Cluster, string Service)>> affected)
    {
        var pending = affected.SelectMany(p => p.Value.Select(c => (Fleet: p.Key, c.Cluster, c.Service))).ToList();
        for (var deadline = Stopwatch.StartNew(); pending.Count > 0; await Task.Delay(5))
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException($"{pending.Count} fleet backends not served their new tasks within 60 s");
            var done = await Task.WhenAll(pending.Select(async p =>
            {
                using var response = await http.PostAsync("/v3/discovery:endpoints",
                    LoadDriver.Json(LoadDriver.DiscoveryRequest(p.Fleet.ToString(), "", p.Cluster)));
                var body = await response.Content.ReadAsStringAsync();
                return Enumerable.Range(0, TasksPerService).All(t => body.Contains($"\"{NewAddress(p.Service, t)}\"", StringComparison.Ordinal));
            }));
            pending = [.. pending.Where((_, i) => !done[i])];
        }
    }
}
