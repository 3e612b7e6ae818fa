using System.Text.Json;
using Mesh.Contracts;
using Mesh.Contracts.Events;
using Mesh.Contracts.Sqs;
using Mesh.Core.Pipeline;
using Mesh.Core.Serving;
using Mesh.Hosting;
using Mesh.Hosting.Metrics;

namespace Mesh.Ingest;

/// <summary>The Ingest function's services and its one route, so the local host can run it beside the Api.</summary>
public static class IngestFunction
{
    /// <summary>An SQS batch holds at most 10 messages of 256 KB; a larger body is not one Lambda sends.</summary>
    public const int MaxBodyBytes = 6 * 1024 * 1024;

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
        services.AddMeshAuth();
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Add(ContractsJson.Default));
        return services;
    }

    /// <summary>
    /// POST /events: what the Lambda Web Adapter delivers for a non-HTTP invocation. An SQS batch is ingested and
    /// answered with its partial batch response; the scheduled rule's event runs the reconciler. In Lambda only the
    /// adapter reaches this route; anywhere else (the local host) it needs an operator's token.
    /// </summary>
    public static IEndpointRouteBuilder MapIngestFunction(this IEndpointRouteBuilder app, IConfiguration configuration)
    {
        var route = app.MapPost("/events", HandleEventsAsync).WithTags("ingest");
        if (configuration["AWS_LAMBDA_FUNCTION_NAME"] is null) route.RequireAuthorization(Auth.OperatorPolicy);
        return app;
    }

    /// <summary>
    /// One record, read on its own so that a record of the wrong shape fails alone: one with a messageId but a body that
    /// is not a string is refused by the mapper (and reported); one without a messageId cannot be reported, and is skipped.
    /// </summary>
    private static SqsMessage Record(JsonElement record) =>
        record.ValueKind == JsonValueKind.Object && record.TryGetProperty("messageId", out var id) && id.ValueKind == JsonValueKind.String
            ? new SqsMessage(id.GetString(), record.TryGetProperty("body", out var body) ? body.ValueKind == JsonValueKind.String ? body.GetString() : body.GetRawText() : null)
            : new SqsMessage(null, null);

    private static async Task<IResult> HandleEventsAsync(HttpRequest request, BatchProcessor processor, Reconciler reconciler, ConvergenceQueries convergence,
        MetricsSink metricsSink, TimeProvider clock, ILogger<BatchProcessor> log, CancellationToken cancellationToken)
    {
        var metrics = LambdaContext.Metrics("ingest", request.HttpContext);
        if (request.ContentLength > MaxBodyBytes)
            return Problems.Status(StatusCodes.Status413PayloadTooLarge, "Body too large", $"an event may be at most {MaxBodyBytes} bytes");
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(new LimitedStream(request.Body, MaxBodyBytes), cancellationToken: cancellationToken);
        }
        catch (JsonException e)
        {
            return Problems.Status(StatusCodes.Status400BadRequest, "Not an SQS event", e.Message);
        }
        catch (LimitedStream.TooLargeException)
        {
            return Problems.Status(StatusCodes.Status413PayloadTooLarge, "Body too large", $"an event may be at most {MaxBodyBytes} bytes");
        }
        using (document)
        {
            if (ScheduledEvent.Is(document.RootElement))
            {
                var reconciled = await reconciler.ReconcileAsync(cancellationToken);
                ReconcileLog.Write(log, reconciled);
                PipelineMetrics.Published(metrics, [.. reconciled.SelectMany(m => m.Outcomes)]);
                PipelineMetrics.Converging(metrics, await convergence.SummarizeAsync(reconciled.Select(m => m.Mesh), clock.GetUtcNow(), cancellationToken));
                metricsSink.Write(metrics);
                return TypedResults.Ok();
            }
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("Records", out var records) || records.ValueKind != JsonValueKind.Array)
                return Problems.Status(StatusCodes.Status400BadRequest, "Not an SQS event", "the body has no Records array");
            var batch = new SqsEvent([.. records.EnumerateArray().Select(Record)]);
            var response = await processor.ProcessAsync(batch, metrics, cancellationToken);
            metricsSink.Write(metrics);
            return TypedResults.Json(response, ContractsJson.Default.SqsBatchResponse);
        }
    }
}
