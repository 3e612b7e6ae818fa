using Mesh.Contracts.State;
using Mesh.Core.Editing;
using Mesh.Core.Serving;
using Mesh.Hosting;

namespace Mesh.Api;

/// <summary>The Api function's services and routes, so the local host can run it beside Ingest.</summary>
public static class ApiFunction
{
    public static IServiceCollection AddApiFunction(this IServiceCollection services)
    {
        services.AddSingleton<EditRunner>();
        services.AddMeshAuth();
        services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new() { Title = "Mesh Pipeline API", Version = "v1", Description = "REST xDS for Envoy proxies, and the policy API for operators." };
            return Task.CompletedTask;
        }));
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJson.Default);
            o.SerializerOptions.TypeInfoResolverChain.Add(StateJson.Default);
        });
        return services;
    }

    public static IEndpointRouteBuilder MapApiFunction(this IEndpointRouteBuilder app)
    {
        app.MapXds();
        app.MapViews();
        app.MapEdits();
        app.MapChanges();
        app.MapOpenApi("/openapi/{documentName}.json");
        return app;
    }
}
