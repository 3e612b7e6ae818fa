using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Mesh.Core.Compile;
using Mesh.Core.Editing;
using Mesh.Core.Model;
using Mesh.Core.Pipeline;
using Mesh.Core.Ports;
using Mesh.Core.Publishing;
using Mesh.LocalHost;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Benchmarks;

/// <summary>
/// The whole-process figures on the default mesh: full compile and its ratio to serializing, one endpoint change
/// and one service edit to served snapshots, REST xDS serving under load from a second process, peak RSS, and the
/// Native AOT Api's start to first response.
/// </summary>
public sealed class WholeRun(TextWriter output)
{
    private readonly List<(string Figure, string Value)> _rows = [];

    public async Task RunAsync(string? aotApiBinary)
    {
        var mesh = new SyntheticMesh();
        output.WriteLine($"Machine: {Environment.ProcessorCount} cores, {CpuModel()}, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1 << 30)} GiB; .NET {Environment.Version}");
        output.WriteLine($"Mesh: {mesh.Services} services, {mesh.Services * mesh.EndpointsPerService} endpoints, {mesh.BackendsPerFleet} backends per fleet, {mesh.HotCallers} fleets calling {SyntheticMesh.Hot}");

        var directory = Directory.CreateTempSubdirectory("mesh-bench-").FullName;
        var database = Path.Combine(directory, "mesh.db");
        var app = LocalPipeline.Build([], [new("Store:SqlitePath", database), new("urls", "http://127.0.0.1:0"), new("Logging:LogLevel:Default", "Warning"), new($"Auth:Tokens:{Operator}", OperatorToken)]);
        // The host's own middleware around a handler that does nothing: what the pipeline costs before our xDS code runs.
        app.MapPost(PipelineOnlyPath, () => Results.StatusCode(StatusCodes.Status304NotModified));
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        await SeedAsync(app, mesh);
        using (var spans = new SpanTotals())
        {
            await EndpointChangeAsync(http);
            _rows.Add(("2. where its time went (pipeline spans, mean per event)", spans.TakeMeans(60)));
            await PolicyEditAsync(http);
            _rows.Add(("3. where its time went (pipeline spans, mean per edit)", spans.TakeMeans(30)));
        }
        _rows.Add(("5. peak RSS of the host holding the default mesh, after figures 2 and 3 (VmHWM)", $"{PeakRssMiB():F0} MiB"));
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        _rows.Add(("5. what it holds: live managed heap after a full compacting collection, and RSS then", $"{GC.GetGCMemoryInfo().HeapSizeBytes / (1 << 20)} MiB; RSS {StatusMiB("VmRSS"):F0} MiB"));
        _rows.AddRange(await new BurstFigure(mesh).RunAsync(app, http, OperatorToken));
        await LoadAsync(http);
        _rows.Add(("5. peak RSS after the burst and the serving load too (VmHWM)", $"{PeakRssMiB():F0} MiB"));
        if (aotApiBinary is not null) await AotStartAsync(aotApiBinary, database);
        await app.StopAsync();
        // Last, so that its parsed documents do not count in the host's peak RSS.
        FullCompile(mesh);

        output.WriteLine();
        output.WriteLine("| figure | result |");
        output.WriteLine("| --- | --- |");
        foreach (var (figure, value) in _rows) output.WriteLine($"| {figure} | {value} |");
    }

    private void FullCompile(SyntheticMesh mesh)
    {
        var inputs = mesh.AllInputs();
        var settings = new XdsSettings();
        var compileTimes = new List<double>();
        long allocated = 0, bytes = 0, resources = 0;
        for (var run = 0; run < 7; run++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            var clock = Stopwatch.StartNew();
            bytes = 0;
            resources = 0;
            var memory = new CompileMemory();
            foreach (var fleet in inputs)
            {
                var snapshot = ((Compiled)FleetCompiler.Compile(fleet, settings, memory)).Snapshot;
                bytes += snapshot.TotalBytes;
                resources += snapshot.Sets.Sum(s => s.Resources.Length);
            }
            compileTimes.Add(clock.Elapsed.TotalMilliseconds);
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        var serializer = new CompileBenchmarks();
        serializer.Setup();
        var serializeTimes = new List<double>();
        for (var run = 0; run < 7; run++)
        {
            var clock = Stopwatch.StartNew();
            serializer.SerializeOnly();
            serializeTimes.Add(clock.Elapsed.TotalMilliseconds);
        }
        compileTimes.Sort();
        serializeTimes.Sort();
        _rows.Add(("1. full compile, every fleet (min / median / max of 7)", $"{compileTimes[0]:F0} / {compileTimes[3]:F0} / {compileTimes[^1]:F0} ms; {allocated / (1 << 20)} MiB allocated; {bytes / (1 << 20):F0} MiB out ({bytes:N0} B, {resources:N0} resources)"));
        _rows.Add(("6. compile / serialize the same output (medians)", $"{compileTimes[3]:F0} ms / {serializeTimes[3]:F0} ms = {compileTimes[3] / serializeTimes[3]:F2}"));
    }

    private const string Operator = "bench";
    private const string OperatorToken = "bench-token";
    private string _etag = "";

    private async Task SeedAsync(WebApplication app, SyntheticMesh mesh)
    {
        var desired = app.Services.GetRequiredService<IDesiredStateStore>();
        var recorder = app.Services.GetRequiredService<EndpointRecorder>();
        var publisher = app.Services.GetRequiredService<FleetPublisher>();
        var clock = Stopwatch.StartNew();
        await desired.PutServicesAsync(mesh.Definitions(), CancellationToken.None);
        foreach (var observation in mesh.Observations()) await recorder.RecordAsync(observation, CancellationToken.None);
        await publisher.PublishAsync(mesh.Definitions().Select(s => s.Fleet), CancellationToken.None);
        _rows.Add(("seed: store 1,000 services and 20,000 endpoints, compile and commit every fleet", $"{clock.Elapsed.TotalSeconds:F1} s"));
    }

    /// <summary>Figure 2: an ECS event for the hot service in through POST /events, out through a caller's EDS poll.</summary>
    private async Task EndpointChangeAsync(HttpClient http)
    {
        var caller = new FleetId(SyntheticMesh.Mesh, SyntheticMesh.Name(1));
        var cluster = ResourceNames.OutboundCluster(SyntheticMesh.Hot);
        var version = await VersionAsync(http, caller, "endpoints", "", cluster);
        var times = new List<double>();
        for (var n = 1; n <= 60; n++)
        {
            var started = Stopwatch.GetTimestamp();
            using var events = new HttpRequestMessage(HttpMethod.Post, "/events") { Content = LoadDriver.Json(SqsWrapped(EcsTaskEvent(n))) };
            events.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", OperatorToken);
            using var posted = await http.SendAsync(events);
            posted.EnsureSuccessStatusCode();
            var next = await NextVersionAsync(http, caller, "endpoints", version, cluster);
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            version = next;
        }
        _rows.Add(($"2. one endpoint change in {SyntheticMesh.Hot} (50 caller fleets) from POST /events to the new EDS served (median / p99, n=60)", Summary(times)));
    }

    /// <summary>
    /// Figure 3: a canary weight change on the hot service's routes through the policy API (PUT with If-Match:
    /// validate the mesh, compile the 51 affected fleets, store the change, publish, plan), until a caller is served it.
    /// </summary>
    private async Task PolicyEditAsync(HttpClient http)
    {
        var caller = new FleetId(SyntheticMesh.Mesh, SyntheticMesh.Name(1));
        var routes = $"/v1/meshes/{SyntheticMesh.Mesh}/services/{SyntheticMesh.Hot}/routes";
        var version = await VersionAsync(http, caller, "routes", "", ResourceNames.OutboundRoutes);
        using (var current = await http.GetAsync(routes)) _etag = current.Headers.ETag!.ToString();
        var times = new List<double>();
        for (var n = 1; n <= 30; n++)
        {
            var started = Stopwatch.GetTimestamp();
            using var request = new HttpRequestMessage(HttpMethod.Put, routes)
            {
                Content = LoadDriver.Json($$"""{"routes": [{"name": "canary", "targets": [{"subset": "v1", "weight": {{100 - n}}}, {"subset": "v2", "weight": {{n}}}]}]}"""),
            };
            request.Headers.IfMatch.Add(System.Net.Http.Headers.EntityTagHeaderValue.Parse(_etag));
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", OperatorToken);
            using var response = await http.SendAsync(request);
            response.EnsureSuccessStatusCode();
            _etag = response.Headers.ETag!.ToString();
            var next = await NextVersionAsync(http, caller, "routes", version, ResourceNames.OutboundRoutes);
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            version = next;
        }
        _rows.Add(($"3. one policy edit through the API (PUT {SyntheticMesh.Hot}/routes: validate, compile and publish 51 fleets, record) to the new RDS served (median / p99, n=30)", Summary(times)));
    }

    /// <summary>
    /// Figure 4: a second process polls CDS of a typical fleet, first with its current version (304), then with none
    /// (200); and, the same way in the same run, a bare Kestrel endpoint that answers every POST 304, as the stack's limit.
    /// </summary>
    private async Task LoadAsync(HttpClient http)
    {
        var fleet = new FleetId(SyntheticMesh.Mesh, SyntheticMesh.Name(500));
        var version = await VersionAsync(http, fleet, "clusters", "");
        var notModified = LoadDriver.DiscoveryRequest(fleet.ToString(), version);
        var ours = await DriveAsync(new Uri(http.BaseAddress!, "v3/discovery:clusters"), notModified);
        _rows.Add(("4. REST xDS 304 path (CDS, current version), 32 connections, 10 s, load from a second process", ours.Text));
        var full = await DriveAsync(new Uri(http.BaseAddress!, "v3/discovery:clusters"), LoadDriver.DiscoveryRequest(fleet.ToString(), ""));
        _rows.Add(("4. REST xDS 200 path (CDS, empty version), same load", full.Text));

        var bare = WebApplication.CreateSlimBuilder();
        bare.WebHost.UseUrls("http://127.0.0.1:0");
        bare.Logging.ClearProviders();
        await using var bareApp = bare.Build();
        bareApp.Run(context =>
        {
            context.Response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        });
        await bareApp.StartAsync();
        var limit = await DriveAsync(new Uri(new Uri(bareApp.Urls.First()), "v3/discovery:clusters"), notModified);
        await bareApp.StopAsync();
        _rows.Add(("4. bare Kestrel endpoint answering 304 (same process, same load)", limit.Text));
        var pipeline = await DriveAsync(new Uri(http.BaseAddress!, PipelineOnlyPath.TrimStart('/')), notModified);
        _rows.Add(("4. the host's middleware around an endpoint answering 304 at once (same load)", pipeline.Text));
        _rows.Add(("4. REST 304 path / bare Kestrel 304", FormattableString.Invariant($"{ours.RequestsPerSecond / limit.RequestsPerSecond:F2}")));
    }

    private const string PipelineOnlyPath = "/bench/pipeline-304";

    private static async Task<(double RequestsPerSecond, string Text)> DriveAsync(Uri url, string body)
    {
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, body);
        var driver = Process.Start(new ProcessStartInfo("dotnet", [typeof(WholeRun).Assembly.Location, "load", url.ToString(), file, "10", "32"])
        { RedirectStandardOutput = true })!;
        var line = (await driver.StandardOutput.ReadToEndAsync()).Trim();
        await driver.WaitForExitAsync();
        var parts = line.Split(' ');
        return (double.Parse(parts[4], CultureInfo.InvariantCulture), $"{parts[4]} req/s ({parts[1]}), latency p50 {parts[2]} ms, p99 {parts[3]} ms");
    }

    /// <summary>Figure 5b: the Native AOT Api binary, started on the seeded store, to its first 200 on CDS.</summary>
    private async Task AotStartAsync(string binary, string database)
    {
        var times = new List<double>();
        var request = LoadDriver.DiscoveryRequest($"{SyntheticMesh.Mesh}/{SyntheticMesh.Name(500)}", "");
        for (var run = 0; run < 7; run++)
        {
            var port = FreePort();
            var started = Stopwatch.GetTimestamp();
            using var process = Process.Start(new ProcessStartInfo(binary, ["--urls", $"http://127.0.0.1:{port}", "--Store:SqlitePath", database, "--Logging:LogLevel:Default", "Warning", "--Reconcile:AtStartup", "false"])
            { RedirectStandardOutput = true, RedirectStandardError = true })!;
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            for (var deadline = Stopwatch.StartNew(); ; await Task.Delay(1))
            {
                if (deadline.Elapsed > PatienceLimit)
                {
                    process.Kill();
                    throw new TimeoutException($"the AOT Api gave no 200 within {PatienceLimit}: {await process.StandardError.ReadToEndAsync()}");
                }
                try
                {
                    using var response = await http.PostAsync("/v3/discovery:clusters", LoadDriver.Json(request));
                    if (response.StatusCode == HttpStatusCode.OK) break;
                }
                catch (HttpRequestException)
                {
                }
            }
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            process.Kill();
            await process.WaitForExitAsync();
        }
        times.Sort();
        _rows.Add(("5. Native AOT Api: process start to first 200 on CDS (min / median / max of 7)", $"{times[0]:F0} / {times[3]:F0} / {times[^1]:F0} ms"));
    }

    internal static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Every wait here is bounded: a figure that cannot be measured fails the run instead of hanging it.</summary>
    private static readonly TimeSpan PatienceLimit = TimeSpan.FromSeconds(30);

    /// <summary>Polls until the served version differs from <paramref name="version"/>.</summary>
    private static async Task<string> NextVersionAsync(HttpClient http, FleetId fleet, string type, string version, params string[] names)
    {
        for (var deadline = Stopwatch.StartNew(); deadline.Elapsed < PatienceLimit;)
        {
            var next = await VersionAsync(http, fleet, type, version, names);
            if (next != version) return next;
        }
        throw new TimeoutException($"{fleet} was not served a {type} version other than {version} within {PatienceLimit}");
    }

    private static async Task<string> VersionAsync(HttpClient http, FleetId fleet, string type, string version, params string[] names)
    {
        using var response = await http.PostAsync($"/v3/discovery:{type}", LoadDriver.Json(LoadDriver.DiscoveryRequest(fleet.ToString(), version, names)));
        if (response.StatusCode == HttpStatusCode.NotModified) return version;
        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStreamAsync());
        return document.RootElement.GetProperty("version_info").GetString()!;
    }

    /// <summary>A RUNNING event for one task of the hot service, its address alternating so every event changes EDS.</summary>
    internal static string EcsTaskEvent(int version) => EcsTaskEvent(SyntheticMesh.Hot, "hot-task", version, $"10.99.0.{version % 2 + 1}");

    /// <summary>An ECS "Task State Change" RUNNING event for a task of <paramref name="service"/> (awsvpc: its address, no ports).</summary>
    internal static string EcsTaskEvent(string service, string taskId, int version, string address) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["version"] = "0",
        ["id"] = $"bench-{taskId}-{version}",
        ["detail-type"] = "ECS Task State Change",
        ["source"] = "aws.ecs",
        ["region"] = "eu-west-1",
        ["detail"] = new Dictionary<string, object>
        {
            ["taskArn"] = $"arn:aws:ecs:eu-west-1:111122223333:task/bench/{taskId}",
            ["clusterArn"] = "arn:aws:ecs:eu-west-1:111122223333:cluster/bench",
            ["group"] = $"service:{service}",
            ["lastStatus"] = "RUNNING",
            ["desiredStatus"] = "RUNNING",
            ["healthStatus"] = "HEALTHY",
            ["availabilityZone"] = "eu-west-1a",
            ["taskDefinitionArn"] = $"arn:aws:ecs:eu-west-1:111122223333:task-definition/{service}:1",
            ["version"] = version,
            ["containers"] = new[] { new Dictionary<string, object> { ["name"] = "app", ["networkInterfaces"] = new[] { new Dictionary<string, string> { ["privateIpv4Address"] = address } } } },
        },
    }, BenchJson.Default.DictionaryStringObject);

    internal static string SqsWrapped(string body) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["Records"] = new[] { new Dictionary<string, string> { ["messageId"] = Guid.NewGuid().ToString(), ["body"] = body } },
    }, BenchJson.Default.DictionaryStringObject);

    internal static string Summary(List<double> times)
    {
        times.Sort();
        return FormattableString.Invariant($"{LoadDriver.Percentile(times, 0.5):F1} / {LoadDriver.Percentile(times, 0.99):F1} ms");
    }

    private static double PeakRssMiB() => StatusMiB("VmHWM");

    /// <summary>A memory figure of this process from /proc/self/status (VmHWM: peak RSS, VmRSS: RSS now).</summary>
    internal static double StatusMiB(string field) =>
        File.ReadLines("/proc/self/status").Where(l => l.StartsWith(field + ":", StringComparison.Ordinal))
            .Select(l => double.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024).Single();

    private static string CpuModel() =>
        File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
}
