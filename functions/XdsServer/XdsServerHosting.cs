namespace Mesh.XdsServer;

/// <summary>The xDS server's services and routes, so the local host can run it beside Ingest and Api.</summary>
public static class XdsServerHosting
{
    public static IServiceCollection AddXdsServer(this IServiceCollection services)
    {
        services.AddGrpc(o => o.MaxReceiveMessageSize = 4 * 1024 * 1024);
        return services;
    }

    public static IEndpointRouteBuilder MapXdsServer(this IEndpointRouteBuilder app)
    {
        app.MapGrpcService<AdsService>();
        return app;
    }
}
