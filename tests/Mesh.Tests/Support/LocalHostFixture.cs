using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Mesh.Core.Editing;
using Mesh.Core.Pipeline;
using Mesh.Core.Ports;
using Mesh.Core.Publishing;
using Mesh.Hosting;
using Mesh.LocalHost;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Mesh.Tests.Support;

/// <summary>The local host (Ingest and Api in one process) on Kestrel, on a free loopback port, over a fresh store seeded with the samples' services.</summary>
public sealed class LocalHostFixture : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("mesh-http-").FullName;
    private WebApplication? _app;

    public HttpClient Http { get; private set; } = null!;
    public IServiceProvider Services => _app!.Services;
    public WebApplication App => _app!;
    public SampleFile Samples { get; } = Repo.Samples;

    public static async Task<LocalHostFixture> StartAsync(params KeyValuePair<string, string?>[] extraSettings)
    {
        var fixture = new LocalHostFixture();
        var settings = LocalPipeline.ContainerInstanceSettings(fixture.Samples)
            .Append(new("Store:SqlitePath", Path.Combine(fixture._directory, "mesh.db")))
            .Append(new("urls", "http://127.0.0.1:0"))
            .Append(new("Logging:LogLevel:Default", "Warning"))
            .Concat(Operators.Select(o => new KeyValuePair<string, string?>($"Auth:Tokens:{o}", Token(o))))
            .Concat(extraSettings);
        fixture._app = LocalPipeline.Build([], settings);
        await fixture._app.StartAsync();
        // The start-up reconcile runs in the background; on a fresh store it has nothing to do, and it must not
        // interleave with what a test does next.
        foreach (var reconcile in fixture._app.Services.GetServices<IHostedService>().OfType<ReconcileAtStartup>())
            await reconcile.ExecuteTask!;
        fixture.Http = new HttpClient { BaseAddress = new Uri(fixture._app.Urls.First()) };
        var desired = fixture._app.Services.GetRequiredService<IDesiredStateStore>();
        await desired.PutServicesAsync(fixture.Samples.DesiredState.Services, CancellationToken.None);
        await fixture._app.Services.GetRequiredService<Mesh.Core.Publishing.FleetPublisher>().PublishAsync(SampleEvents.Fleets(fixture.Samples), CancellationToken.None);
        return fixture;
    }

    /// <summary>Principals with a bearer token in this host's configuration.</summary>
    public static readonly string[] Operators = ["alice", "bob"];

    public static string Token(string principal) => $"{principal}-token-for-tests";

    /// <summary>A client that authenticates as <paramref name="principal"/>.</summary>
    public HttpClient As(string principal)
    {
        var client = new HttpClient { BaseAddress = Http.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token(principal));
        return client;
    }

    /// <summary>Outside Lambda /events needs an operator's token, as any write does.</summary>
    public async Task<HttpResponseMessage> PostEventsAsync(string sqsEventJson)
    {
        using var client = As(Operators[0]);
        return await client.PostAsync("/events", new StringContent(sqsEventJson, Encoding.UTF8, "application/json"));
    }

    /// <summary>Posts each sample's whole SQS event, in story order.</summary>
    public async Task ReplayStoryAsync()
    {
        foreach (var sample in Samples.Samples)
        {
            using var response = await PostEventsAsync(sample.Event.GetRawText());
            response.EnsureSuccessStatusCode();
        }
    }

    /// <summary>Polls like Envoy's REST subscription does.</summary>
    public Task<HttpResponseMessage> PollAsync(string fleet, string type, string versionInfo, params string[] resourceNames) =>
        PollAsAsync("test-proxy-1", fleet, type, versionInfo, resourceNames);

    /// <summary>Polls as a proxy of the fleet; where the host issues fleet tokens, with the fleet's token, as its bootstrap would carry it.</summary>
    public async Task<HttpResponseMessage> PollAsAsync(string node, string fleet, string type, string versionInfo, params string[] resourceNames)
    {
        var nodeJson = new Dictionary<string, object> { ["id"] = node, ["cluster"] = fleet };
        if (Services.GetService<Mesh.Core.Serving.FleetTokens>() is { } tokens && Mesh.Core.Model.FleetId.TryParse(fleet, out var id))
            nodeJson["metadata"] = new Dictionary<string, string> { [Mesh.Core.Serving.FleetTokens.MetadataKey] = tokens.Issue(id) };
        return await Http.PostAsJsonAsync($"/v3/discovery:{type}", new Dictionary<string, object>
        {
            ["node"] = nodeJson,
            ["version_info"] = versionInfo,
            ["resource_names"] = resourceNames,
        });
    }

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Left to the OS temp cleaner.
        }
    }
}
