using Mesh.Api;
using Mesh.Hosting;
using Mesh.Ingest;

namespace Mesh.LocalHost;

/// <summary>Ingest and Api in one process on the embedded store: the whole pipeline on one machine.</summary>
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
        builder.Services.AddMeshCore(builder.Configuration);
        builder.Services.AddIngestFunction(builder.Configuration);
        builder.Services.AddApiFunction();

        var app = builder.Build();
        app.UseMeshDefaults();
        app.UseStatusCodePages();
        app.MapIngestFunction(app.Configuration);
        app.MapApiFunction();
        return app;
    }

    /// <summary>Settings that put the samples' container instances into configuration.</summary>
    public static IEnumerable<KeyValuePair<string, string?>> ContainerInstanceSettings(SampleFile samples) =>
        samples.ContainerInstances.SelectMany((instance, i) => new[]
        {
            new KeyValuePair<string, string?>($"ContainerInstances:{i}:Arn", instance.Arn),
            new KeyValuePair<string, string?>($"ContainerInstances:{i}:Address", instance.Address),
        });
}
