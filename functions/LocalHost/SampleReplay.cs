using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Mesh.Core.Editing;
using Mesh.Core.Model;
using Mesh.Core.Pipeline;
using Mesh.Core.Ports;
using Mesh.Core.Serving;
using Mesh.Core.Snapshots;
using Mesh.Ingest;

namespace Mesh.LocalHost;

/// <summary>Seeds the samples' desired state, posts each sample event to /events over HTTP, and reports what every fleet serves.</summary>
public sealed class SampleReplay(WebApplication app, HttpClient http, TextWriter output)
{
    private readonly HttpClient _http = http;

    public async Task RunAsync(SampleFile samples, CancellationToken cancellationToken)
    {
        await SeedAsync(samples, cancellationToken);
        output.WriteLine();
        output.WriteLine($"Replaying {samples.Samples.Count} sample events through POST /events:");
        var timings = new List<double>();
        foreach (var sample in samples.Samples)
        {
            output.WriteLine($"--- {sample.Name}: {sample.Description}");
            var started = Stopwatch.GetTimestamp();
            using var response = await _http.PostAsync("/events", new StringContent(sample.Event.GetRawText(), Encoding.UTF8, "application/json"), cancellationToken);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            output.WriteLine($"    {(int)response.StatusCode} in {elapsed:F1} ms: {body}");
            if (sample.Event.GetProperty("Records").GetArrayLength() == 1) timings.Add(elapsed);
        }
        timings.Sort();
        if (timings.Count > 0)
            output.WriteLine($"\nOne event in to its snapshots committed (single-record batches, n={timings.Count}): median {timings[timings.Count / 2]:F1} ms, max {timings[^1]:F1} ms");
        await ReportAsync(samples, cancellationToken);
    }

    private async Task SeedAsync(SampleFile samples, CancellationToken cancellationToken)
    {
        var desired = app.Services.GetRequiredService<IDesiredStateStore>();
        var publisher = app.Services.GetRequiredService<Mesh.Core.Publishing.FleetPublisher>();
        var log = app.Services.GetRequiredService<ILogger<BatchProcessor>>();
        output.WriteLine($"Seeding {samples.DesiredState.Services.Count} services from samples.json:");
        await desired.PutServicesAsync(samples.DesiredState.Services, cancellationToken);
        foreach (var service in samples.DesiredState.Services)
        {
            output.WriteLine($"    {service.Fleet} port {service.Port} {service.Protocol}, calls [{string.Join(", ", service.Backends)}], endpoints from {service.Workload?.Key.Value ?? "nowhere"}");
        }
        foreach (var outcome in await publisher.PublishAsync(samples.DesiredState.Services.Select(s => s.Fleet), cancellationToken))
            BatchProcessor.LogOutcome(log, outcome);
    }

    /// <summary>Polls every fleet the way its Envoy would, and prints what it got.</summary>
    private async Task ReportAsync(SampleFile samples, CancellationToken cancellationToken)
    {
        output.WriteLine("\nWhat each fleet's proxies receive now (REST xDS, first poll):");
        foreach (var fleet in samples.DesiredState.Services.Select(s => s.Fleet).Distinct())
        {
            var cds = await PollAsync(fleet, XdsType.Clusters, [], cancellationToken);
            var lds = await PollAsync(fleet, XdsType.Listeners, [], cancellationToken);
            output.WriteLine($"  {fleet}: CDS {cds.Version} ({cds.Names.Count} clusters, {cds.Bytes} B), LDS {lds.Version} ({lds.Names.Count} listeners, {lds.Bytes} B)");
            var rds = await PollAsync(fleet, XdsType.Routes, ["outbound"], cancellationToken);
            output.WriteLine($"      RDS outbound {rds.Version} ({rds.Bytes} B)");
            foreach (var cluster in cds.Names.Where(n => n.StartsWith("outbound|", StringComparison.Ordinal)))
            {
                var eds = await PollAsync(fleet, XdsType.Endpoints, [cluster], cancellationToken);
                output.WriteLine($"      EDS {cluster}: {(eds.Endpoints.Count == 0 ? "no endpoints" : string.Join(", ", eds.Endpoints))}");
            }
        }
        var first = samples.DesiredState.Services[0].Fleet;
        output.WriteLine($"""

            Look around (the host keeps serving until Ctrl-C):
              curl -s {_http.BaseAddress}v1/meshes/{first.Mesh}/fleets
              curl -s {_http.BaseAddress}v1/meshes/{first.Mesh}/services/checkout-api/endpoints
              curl -s -XPOST {_http.BaseAddress}v3/discovery:clusters -H 'content-type: application/json' -d '{JsonSerializer.Serialize(new Dictionary<string, object> { ["node"] = Node("p1", first), ["version_info"] = "" }, ReplayJson.Default.DictionaryStringObject)}'
            """);
    }

    private async Task<PollResult> PollAsync(FleetId fleet, XdsType type, IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        var request = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["node"] = Node("local-replay", fleet),
            ["version_info"] = "",
            ["resource_names"] = names,
            ["type_url"] = type.TypeUrl(),
        }, ReplayJson.Default.DictionaryStringObject);
        using var response = await _http.PostAsync($"/v3/discovery:{type.PathName()}", new StringContent(request, Encoding.UTF8, "application/json"), cancellationToken);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK) return new PollResult($"HTTP {(int)response.StatusCode}", [], bytes.Length, []);
        using var document = JsonDocument.Parse(bytes);
        var resources = document.RootElement.GetProperty("resources").EnumerateArray().ToList();
        var names2 = resources.Select(r => r.TryGetProperty("name", out var n) ? n.GetString()! : r.GetProperty("cluster_name").GetString()!).ToList();
        var endpoints = resources.Where(r => r.TryGetProperty("endpoints", out _))
            .SelectMany(r => r.GetProperty("endpoints").EnumerateArray())
            .SelectMany(locality => locality.GetProperty("lb_endpoints").EnumerateArray().Select(e =>
            {
                var socket = e.GetProperty("endpoint").GetProperty("address").GetProperty("socket_address");
                var health = e.TryGetProperty("health_status", out var h) ? h.GetString() : "UNKNOWN";
                var zone = locality.TryGetProperty("locality", out var l) && l.TryGetProperty("zone", out var z) ? z.GetString() : "";
                return $"{socket.GetProperty("address").GetString()}:{socket.GetProperty("port_value").GetInt32()} {health} {zone}";
            })).ToList();
        return new PollResult(document.RootElement.GetProperty("version_info").GetString()!, names2, bytes.Length, endpoints);
    }

    /// <summary>A proxy's node: with the fleet's token in its metadata where the host requires proxies to prove their fleet.</summary>
    private Dictionary<string, object> Node(string id, FleetId fleet)
    {
        var node = new Dictionary<string, object> { ["id"] = id, ["cluster"] = fleet.ToString() };
        if (app.Services.GetService<FleetTokens>() is { } tokens)
            node["metadata"] = new Dictionary<string, string> { [FleetTokens.MetadataKey] = tokens.Issue(fleet) };
        return node;
    }

    private sealed record PollResult(string Version, IReadOnlyList<string> Names, int Bytes, IReadOnlyList<string> Endpoints);
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, object>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class ReplayJson : System.Text.Json.Serialization.JsonSerializerContext;
