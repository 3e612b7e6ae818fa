using Mesh.Hosting;

namespace Mesh.XdsServer;

/// <summary>The xDS server's services and routes, so the local host can run it beside Ingest and Api.</summary>
public static class XdsServerHosting
{
    /// <summary>
    /// The xDS server on its own (ECS Fargate in AWS): ADS over HTTP/2 on Ads:Port (default 18000), with TLS and client
    /// certificates when Ads:Tls:* names the files; /healthz over HTTP/1.1 on Ads:HealthPort (default 8081); new heads
    /// learnt from the store by <see cref="HeadPoll"/>, since other processes commit them.
    /// </summary>
    public static WebApplication Build(string[] args, IEnumerable<KeyValuePair<string, string?>>? settings = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        // It only reads: compiling and reconciling are Ingest's and the Api's (its AWS role may not write).
        builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource
        {
            InitialData = [new("Reconcile:AtStartup", "false")],
        });
        if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
        builder.UseMeshLogging();
        builder.WebHost.ConfigureKestrel((context, kestrel) => AdsListener.Configure(kestrel, context.Configuration));
        builder.Services.AddMeshCore(builder.Configuration);
        builder.Services.AddXdsServer();
        builder.Services.AddHostedService<HeadPoll>();
        var app = builder.Build();
        app.UseMeshDefaults();
        app.MapXdsServer();
        return app;
    }

    public static IServiceCollection AddXdsServer(this IServiceCollection services)
    {
        services.AddGrpc(o => o.MaxReceiveMessageSize = 4 * 1024 * 1024);
        services.AddSingleton<StreamReports>();
        services.AddHostedService(sp => sp.GetRequiredService<StreamReports>());
        return services;
    }

    public static IEndpointRouteBuilder MapXdsServer(this IEndpointRouteBuilder app)
    {
        app.MapGrpcService<AdsService>();
        return app;
    }
}
