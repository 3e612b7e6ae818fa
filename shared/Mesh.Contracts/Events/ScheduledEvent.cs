using System.Text.Json;

namespace Mesh.Contracts.Events;

/// <summary>EventBridge Scheduler's and scheduled rules' event: source aws.events (or aws.scheduler), detail-type "Scheduled Event".</summary>
public static class ScheduledEvent
{
    public static bool Is(JsonElement body) =>
        body.ValueKind == JsonValueKind.Object
        && body.TryGetProperty("detail-type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "Scheduled Event"
        && body.TryGetProperty("source", out var source) && source.ValueKind == JsonValueKind.String && source.GetString() is "aws.events" or "aws.scheduler";
}
