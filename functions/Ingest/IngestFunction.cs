using System.Text.Json;
using Mesh.Contracts;
using Mesh.Contracts.Events;
using Mesh.Contracts.Sqs;

namespace Mesh.Ingest;

/// <summary>The Ingest function's services and its one route, so the local host can run it beside the Api.</summary>
public static class IngestFunction
{
    public static IServiceCollection AddIngestFunction(this IServiceCollection services, IConfiguration configuration)
    {
        // Bridge and host mode tasks publish ports on their container instance, whose address ECS events do not carry.
        // ContainerInstances:N:Arn and :Address list them (ARNs hold colons, so they cannot be configuration keys).
        var instances = configuration.GetSection("ContainerInstances").GetChildren()
            .Where(c => c["Arn"] is not null && c["Address"] is not null)
            .ToDictionary(c => c["Arn"]!, c => c["Address"], StringComparer.Ordinal);
        services.AddSingleton(new EcsTaskMapper(arn => instances.GetValueOrDefault(arn)));
        services.AddSingleton<EksSliceMapper>();
        services.AddSingleton<EventMapper>();
        services.AddSingleton<BatchProcessor>();
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Add(ContractsJson.Default));
        return services;
    }

    /// <summary>POST /events: the SQS event as the Lambda Web Adapter delivers it; the partial batch response back.</summary>
    public static IEndpointRouteBuilder MapIngestFunction(this IEndpointRouteBuilder app)
    {
        app.MapPost("/events", async (HttpRequest request, BatchProcessor processor, CancellationToken cancellationToken) =>
        {
            SqsEvent? batch;
            try
            {
                batch = await JsonSerializer.DeserializeAsync(request.Body, ContractsJson.Default.SqsEvent, cancellationToken);
            }
            catch (JsonException e)
            {
                return Results.Problem(title: "Not an SQS event", detail: e.Message, statusCode: StatusCodes.Status400BadRequest);
            }
            if (batch?.Records is null)
                return Results.Problem(title: "Not an SQS event", detail: "the body has no Records array", statusCode: StatusCodes.Status400BadRequest);
            var response = await processor.ProcessAsync(batch, cancellationToken);
            return Results.Json(response, ContractsJson.Default.SqsBatchResponse);
        });
        return app;
    }
}
