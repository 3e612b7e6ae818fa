using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Envoy.Service.Discovery.V3;
using Grpc.Net.Client;
using Mesh.Core.Compile;
using Mesh.Core.Editing;
using Mesh.Core.Model;
using Mesh.Core.Pipeline;
using Mesh.Core.Ports;
using Mesh.Core.Publishing;
using Mesh.Core.Serving;
using Mesh.LocalHost;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Benchmarks;

/// <summary>
/// The ADS figures: the local host (Ingest, Api and the xDS server in one process, as in a push deployment where the
/// server learns heads in-process) holds N streams of one fleet opened by a second process (<see cref="AdsStreams"/>).
/// An ECS event for a backend of that fleet, and a policy edit of it, are each timed from the request that makes the
/// change to every stream having ACKed the new version. Server RSS and CPU are read from /proc and the process.
/// </summary>
public sealed class AdsRun(TextWriter output)
{
    private const string Operator = "bench";
    private const string OperatorToken = "bench-token";
    private static readonly FleetId Caller = new(SyntheticMesh.Mesh, SyntheticMesh.Name(1));

    public async Task RunAsync(IReadOnlyList<int> streamCounts)
    {
        var rows = new List<(string, string)>();
        var mesh = new SyntheticMesh(Services: 100, EndpointsPerService: 20, BackendsPerFleet: 10, HotCallers: 10);
        foreach (var count in streamCounts)
        {
            var directory = Directory.CreateTempSubdirectory("mesh-ads-bench-").FullName;
            var ads = $"http://127.0.0.1:{WholeRun.FreePort()}";
            var app = LocalPipeline.Build([],
            [
                new("Store:SqlitePath", Path.Combine(directory, "mesh.db")), new("urls", "http://127.0.0.1:0"), new("Logging:LogLevel:Default", "Warning"),
                new($"Auth:Tokens:{Operator}", OperatorToken), new("Xds:AdsListen", ads), new("Xds:AdsAddress", ads),
                new("Metrics:File", Path.Combine(directory, "metrics.jsonl")),
            ]);
            await app.StartAsync();
            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            http.DefaultRequestHeaders.Authorization = new("Bearer", OperatorToken);
            await SeedAsync(app, mesh);
            var rssBefore = WholeRun.StatusMiB("VmRSS");
            using var streams = AdsStreams.Start(ads, Caller.ToString(), count, ResourceNames.OutboundCluster(SyntheticMesh.Hot));
            await streams.WaitReadyAsync(TimeSpan.FromMinutes(3));
            await Task.Delay(2000);
            var rssWith = WholeRun.StatusMiB("VmRSS");
            var cpuIdle = await CpuPercentAsync(TimeSpan.FromSeconds(10));

            var eventTimes = new List<double>();
            var editTimes = new List<double>();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            for (var round = 1; round <= 10; round++)
            {
                eventTimes.AddRange(await streams.RoundAsync("endpoints", async () =>
                {
                    using var posted = await http.PostAsync("/events", LoadDriver.Json(WholeRun.SqsWrapped(WholeRun.EcsTaskEvent(round))));
                    posted.EnsureSuccessStatusCode();
                }));
                editTimes.AddRange(await streams.RoundAsync("clusters", () => EditAsync(http, round)));
            }
            var cpuPerRound = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / 20;
            rows.Add(($"A. ADS, {count:N0} streams of one fleet: ECS event in to every stream ACKing the new EDS (p50 / p99, 10 rounds)", WholeRun.Summary(eventTimes)));
            rows.Add(($"B. ADS, {count:N0} streams: policy edit to every stream ACKing the new CDS (p50 / p99, 10 rounds)", WholeRun.Summary(editTimes)));
            rows.Add(($"C. ADS, {count:N0} streams: server RSS with the streams open (without them) / CPU idle / CPU per push round",
                FormattableString.Invariant($"{rssWith:F0} MiB ({rssBefore:F0} MiB) / {cpuIdle:F1} % of a core / {cpuPerRound:F0} ms")));
            var restPerMinute = await RestRequestsPerMinuteAsync(app);
            rows.Add(($"D. the same fleet over REST: requests per proxy per minute at a 5 s refresh (and for {count:N0} proxies)",
                FormattableString.Invariant($"{restPerMinute:F0} ({restPerMinute * count:N0})")));
            await streams.DisposeAsync();
            await app.StopAsync();
            await app.DisposeAsync();
        }
        output.WriteLine();
        output.WriteLine("| figure | result |");
        output.WriteLine("| --- | --- |");
        foreach (var (figure, value) in rows) output.WriteLine($"| {figure} | {value} |");
    }

    private static async Task SeedAsync(WebApplication app, SyntheticMesh mesh)
    {
        await app.Services.GetRequiredService<IDesiredStateStore>().PutServicesAsync(mesh.Definitions(), CancellationToken.None);
        var recorder = app.Services.GetRequiredService<EndpointRecorder>();
        foreach (var observation in mesh.Observations()) await recorder.RecordAsync(observation, CancellationToken.None);
        await app.Services.GetRequiredService<FleetPublisher>().PublishAsync(mesh.Definitions().Select(s => s.Fleet), CancellationToken.None);
    }

    /// <summary>Alternates the hot service's balancing, which changes its callers' clusters.</summary>
    private static async Task EditAsync(HttpClient http, int round)
    {
        var path = $"/v1/meshes/{SyntheticMesh.Mesh}/services/{SyntheticMesh.Hot}/policy";
        using var current = await http.GetAsync(path);
        using var request = new HttpRequestMessage(HttpMethod.Put, path)
        {
            Content = JsonContent.Create(new Dictionary<string, string> { ["loadBalancing"] = round % 2 == 0 ? "ROUND_ROBIN" : "LEAST_REQUEST" }),
        };
        request.Headers.TryAddWithoutValidation("If-Match", current.Headers.ETag?.ToString());
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>A REST proxy of the fleet polls each of its subscriptions once per refresh: CDS, LDS, and each RDS and EDS name.</summary>
    private static async Task<double> RestRequestsPerMinuteAsync(WebApplication app)
    {
        var snapshot = await app.Services.GetRequiredService<SnapshotCache>().GetCurrentAsync(Caller, CancellationToken.None);
        var subscriptions = 2 + snapshot![XdsType.Routes].Resources.Length + snapshot[XdsType.Clusters].Resources.Count(c => c.Name.StartsWith("outbound|", StringComparison.Ordinal)) + 1;
        return subscriptions * 60 / new XdsSettings().RefreshDelay.TotalSeconds;
    }

    private static async Task<double> CpuPercentAsync(TimeSpan over)
    {
        var before = Process.GetCurrentProcess().TotalProcessorTime;
        await Task.Delay(over);
        return (Process.GetCurrentProcess().TotalProcessorTime - before).TotalMilliseconds / over.TotalMilliseconds * 100;
    }
}

/// <summary>
/// The second process: N state-of-the-world ADS streams of one fleet, each subscribed to CDS and one EDS name and
/// ACKing every response, as Envoy does. Driven over stdin: "round TYPE" reports, once every stream has ACKed a new
/// version of TYPE, the monotonic timestamp of each ACK (Stopwatch ticks, comparable across processes on one machine).
/// </summary>
public sealed class AdsStreams : IDisposable, IAsyncDisposable
{
    private readonly Process _process;

    private AdsStreams(Process process) => _process = process;

    public static AdsStreams Start(string address, string fleet, int count, string cluster)
    {
        var start = new ProcessStartInfo("dotnet", [typeof(AdsStreams).Assembly.Location, "ads-streams", address, fleet, count.ToString(CultureInfo.InvariantCulture), cluster])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        };
        return new AdsStreams(Process.Start(start)!);
    }

    public async Task WaitReadyAsync(TimeSpan patience)
    {
        using var timeout = new CancellationTokenSource(patience);
        var line = await _process.StandardOutput.ReadLineAsync(timeout.Token);
        if (line != "ready") throw new InvalidOperationException($"the stream process said '{line}'");
    }

    /// <summary>Milliseconds from the change's start to each stream's ACK of the new version.</summary>
    public async Task<IReadOnlyList<double>> RoundAsync(string type, Func<Task> change)
    {
        await _process.StandardInput.WriteLineAsync($"round {type}");
        await _process.StandardInput.FlushAsync();
        if (await _process.StandardOutput.ReadLineAsync() != "armed") throw new InvalidOperationException("the stream process did not arm");
        var started = Stopwatch.GetTimestamp();
        await change();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var line = await _process.StandardOutput.ReadLineAsync(timeout.Token) ?? throw new InvalidOperationException("the stream process ended");
        return [.. JsonSerializer.Deserialize(line, BenchJson.Default.Int64Array)!.Select(t => (t - started) * 1000.0 / Stopwatch.Frequency)];
    }

    public void Dispose() => _process.Dispose();

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await _process.StandardInput.WriteLineAsync("exit");
            await _process.StandardInput.FlushAsync();
            if (!_process.WaitForExit(10_000)) _process.Kill();
        }
    }

    /// <summary>The second process's main.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var (address, fleet, count, cluster) = (args[0], args[1], int.Parse(args[2], CultureInfo.InvariantCulture), args[3]);
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler });
        var client = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(channel);
        var streams = Enumerable.Range(0, count).Select(i => new Stream(client, fleet, $"bench-proxy-{i}", cluster)).ToArray();
        await Task.WhenAll(streams.Select(s => s.StartAsync()));
        Console.WriteLine("ready");
        while (Console.ReadLine() is { } command && command != "exit")
        {
            var type = command.Split(' ')[1] == "clusters" ? XdsType.Clusters : XdsType.Endpoints;
            var waits = streams.Select(s => s.Arm(type)).ToArray();
            Console.WriteLine("armed");
            Console.WriteLine(JsonSerializer.Serialize(await Task.WhenAll(waits), BenchJson.Default.Int64Array));
        }
        return 0;
    }

    private sealed class Stream(AggregatedDiscoveryService.AggregatedDiscoveryServiceClient client, string fleet, string node, string cluster)
    {
        private readonly Grpc.Core.AsyncDuplexStreamingCall<DiscoveryRequest, DiscoveryResponse> _call = client.StreamAggregatedResources();
        private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Lock _gate = new();
        private (XdsType Type, TaskCompletionSource<long> Acked)? _armed;

        public async Task StartAsync()
        {
            var first = new DiscoveryRequest { TypeUrl = XdsType.Clusters.TypeUrl(), Node = new Envoy.Config.Core.V3.Node { Id = node, Cluster = fleet } };
            await _call.RequestStream.WriteAsync(first);
            var endpoints = new DiscoveryRequest { TypeUrl = XdsType.Endpoints.TypeUrl() };
            endpoints.ResourceNames.Add(cluster);
            await _call.RequestStream.WriteAsync(endpoints);
            _ = Task.Run(ReadAsync);
            await _ready.Task;
        }

        public Task<long> Arm(XdsType type)
        {
            var acked = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate) _armed = (type, acked);
            return acked.Task;
        }

        private async Task ReadAsync()
        {
            var seen = new HashSet<XdsType>();
            while (await _call.ResponseStream.MoveNext(CancellationToken.None))
            {
                var response = _call.ResponseStream.Current;
                var type = response.TypeUrl == XdsType.Clusters.TypeUrl() ? XdsType.Clusters : XdsType.Endpoints;
                var ack = new DiscoveryRequest { TypeUrl = response.TypeUrl, VersionInfo = response.VersionInfo, ResponseNonce = response.Nonce };
                if (type == XdsType.Endpoints) ack.ResourceNames.Add(cluster);
                // Only this loop writes after the start, so the ACK goes before the next response is read.
                await _call.RequestStream.WriteAsync(ack);
                var at = Stopwatch.GetTimestamp();
                lock (_gate)
                {
                    if (_armed is { } armed && armed.Type == type)
                    {
                        armed.Acked.TrySetResult(at);
                        _armed = null;
                    }
                }
                if (seen.Add(type) && seen.Count == 2) _ready.TrySetResult();
            }
        }
    }
}
