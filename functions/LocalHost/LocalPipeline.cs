using Mesh.Api;
using Mesh.Hosting;
using Mesh.Ingest;
using Mesh.XdsServer;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Mesh.LocalHost;

/// <summary>
/// Ingest, Api and the xDS server in one process on the embedded store: the whole pipeline on one machine. The xDS
/// server's ADS streams listen on Xds:AdsListen (HTTP/2, cleartext) beside the HTTP/1.1 "urls", and are pushed each
/// snapshot the moment this process commits it.
/// </summary>
public static class LocalPipeline
{
    public static WebApplication Build(string[] args, IEnumerable<KeyValuePair<string, string?>>? settings = null, TextWriter? log = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
        builder.UseMeshLogging();
        if (log is not null)
        {
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(new LineLoggerProvider(log));
        }
        if (builder.Configuration["Xds:AdsListen"] is { Length: > 0 } adsListen)
        {
            var urls = (builder.Configuration["urls"] ?? "http://127.0.0.1:8080").Split(';', StringSplitOptions.RemoveEmptyEntries);
            // Kestrel binds them itself (below), beside the ADS port.
            builder.WebHost.UseSetting("urls", "");
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                foreach (var url in urls) Listen(kestrel, new Uri(url), HttpProtocols.Http1);
                // Last, so it is the last of the server's addresses (see AdsAddress).
                Listen(kestrel, new Uri(adsListen), HttpProtocols.Http2);
            });
        }
        builder.Services.AddMeshCore(builder.Configuration);
        builder.Services.AddIngestFunction(builder.Configuration);
        builder.Services.AddApiFunction();
        builder.Services.AddXdsServer();

        var app = builder.Build();
        app.UseMeshDefaults();
        app.UseStatusCodePages();
        app.MapIngestFunction(app.Configuration);
        app.MapApiFunction();
        app.MapXdsServer();
        return app;
    }

    /// <summary>The address the ADS port was bound to (its port chosen by the system when configured as 0).</summary>
    public static Uri AdsAddress(WebApplication app) => new(app.Urls.Last());

    private static void Listen(KestrelServerOptions kestrel, Uri url, HttpProtocols protocols)
    {
        if (url.Host is "+" or "*" or "0.0.0.0") kestrel.ListenAnyIP(url.Port, l => l.Protocols = protocols);
        else if (url.IsLoopback && !System.Net.IPAddress.TryParse(url.Host, out _)) kestrel.ListenLocalhost(url.Port, l => l.Protocols = protocols);
        else kestrel.Listen(System.Net.IPAddress.Parse(url.Host.Trim('[', ']')), url.Port, l => l.Protocols = protocols);
    }

    /// <summary>Settings that put the samples' container instances into configuration.</summary>
    public static IEnumerable<KeyValuePair<string, string?>> ContainerInstanceSettings(SampleFile samples) =>
        samples.ContainerInstances.SelectMany((instance, i) => new[]
        {
            new KeyValuePair<string, string?>($"ContainerInstances:{i}:Arn", instance.Arn),
            new KeyValuePair<string, string?>($"ContainerInstances:{i}:Address", instance.Address),
        });
}
