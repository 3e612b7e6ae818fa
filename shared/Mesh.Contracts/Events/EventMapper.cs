using System.Text.Json;
using Mesh.Core.Endpoints;
using Mesh.Core.Model;

namespace Mesh.Contracts.Events;

/// <summary>The one place where wire events become core observations.</summary>
public sealed class EventMapper(EcsTaskMapper ecs, EksSliceMapper eks)
{
    public MappedEvent Map(string? body)
    {
        if (string.IsNullOrWhiteSpace(body)) return new MalformedEvent("message body is empty", null);
        EventEnvelope? envelope;
        try
        {
            envelope = JsonSerializer.Deserialize(body, ContractsJson.Default.EventEnvelope);
        }
        catch (JsonException e)
        {
            return new MalformedEvent($"body is not an EventBridge event: {e.Message}", null);
        }
        if (envelope is null || envelope.DetailType is null)
            return new MalformedEvent("body is not an EventBridge event: no detail-type", null);
        var context = new EventContext(envelope.Id, envelope.DetailType, envelope.Resources is [var first, ..] ? first : null, envelope.Time);
        if (envelope.Detail.ValueKind != JsonValueKind.Object)
            return new MalformedEvent("event has no detail object", context);
        try
        {
            return envelope.DetailType switch
            {
                DetailTypes.EcsTaskStateChange when envelope.Source == "aws.ecs" =>
                    ecs.Map(envelope, envelope.Detail.Deserialize(ContractsJson.Default.EcsTaskStateChange)!, context),
                DetailTypes.EcsDeploymentStateChange when envelope.Source == "aws.ecs" =>
                    Deployment(envelope.Detail.Deserialize(ContractsJson.Default.EcsDeploymentStateChange)!, context),
                DetailTypes.EksEndpointSliceChange =>
                    eks.Map(envelope, envelope.Detail.Deserialize(ContractsJson.Default.EksEndpointSliceChange)!, context),
                _ => new AcknowledgedEvent($"event type '{envelope.DetailType}' from '{envelope.Source}' is not one we handle", context),
            };
        }
        catch (JsonException e)
        {
            return new MalformedEvent($"{envelope.DetailType} detail does not parse: {e.Message}", context);
        }
    }

    // Deployments are visible through their tasks' events; the notice itself changes no endpoint.
    private static AcknowledgedEvent Deployment(EcsDeploymentStateChange detail, EventContext context) =>
        new($"deployment {detail.DeploymentId}: {detail.EventName}", context);
}

/// <summary>Where events say where something lives: the last segment of an ARN's resource path.</summary>
internal static class Arn
{
    public static string? LastSegment(string? arn)
    {
        if (string.IsNullOrEmpty(arn)) return null;
        var slash = arn.LastIndexOf('/');
        return slash >= 0 && slash < arn.Length - 1 ? arn[(slash + 1)..] : null;
    }

    /// <summary>The revision of a task-definition ARN ("...:task-definition/checkout-api:57" is "57").</summary>
    public static string Revision(string? taskDefinitionArn)
    {
        var colon = taskDefinitionArn?.LastIndexOf(':') ?? -1;
        return colon >= 0 && taskDefinitionArn!.LastIndexOf('/') < colon ? taskDefinitionArn[(colon + 1)..] : "";
    }
}

internal static class Nulls
{
    /// <summary>The index of the first null in a list an event carried, or null when it holds none.</summary>
    public static int? FirstIndex<T>(IReadOnlyList<T?>? list) where T : class
    {
        for (var i = 0; i < (list?.Count ?? 0); i++)
        {
            if (list![i] is null) return i;
        }
        return null;
    }
}

internal static class Observations
{
    public static SourceObservation Terminal(string sourceId, Mesh.Core.Model.WorkloadKey workload, long version, string status) =>
        new() { SourceId = sourceId, Workload = workload, Version = version, Terminal = true, Status = status };
}
