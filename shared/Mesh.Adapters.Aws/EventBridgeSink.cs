using System.Text.Json;
using Mesh.Core.Ports;
using Mesh.Core.Resilience;

namespace Mesh.Adapters.Aws;

/// <summary>
/// "Mesh Config Published" events through EventBridge PutEvents, ten entries a call (the API's limit). Entries the
/// service reports as failed are sent again, up to the client's attempts; what still fails is an error naming them.
/// </summary>
public sealed class EventBridgeSink(AwsJsonClient client, string busName, string source) : IConfigEventSink
{
    public const string DetailType = "Mesh Config Published";
    public const string DefaultSource = "mesh-pipeline";
    private const int EntriesPerCall = 10;
    /// <summary>Entries the service refused (throttled, internal failure) are sent again, after a short back-off.</summary>
    private readonly GuardedRetry _resend = new(4, TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(500), TimeProvider.System);

    public async Task PublishAsync(IReadOnlyList<ConfigPublished> events, CancellationToken cancellationToken)
    {
        foreach (var chunk in events.Select(Entry).Chunk(EntriesPerCall))
        {
            var pending = chunk;
            var reasons = new List<string>();
            try
            {
                await _resend.RunAsync("EventBridge PutEvents", async _ =>
                {
                    var response = await client.CallAsync("PutEvents", new PutEventsRequest(pending),
                        AwsJson.Default.PutEventsRequest, AwsJson.Default.PutEventsResponse, cancellationToken);
                    if (response.FailedEntryCount == 0) return true;
                    var results = response.Entries ?? [];
                    reasons = [.. results.Where(r => r.ErrorCode is not null).Select(r => $"{r.ErrorCode}: {r.ErrorMessage}").Distinct()];
                    pending = [.. pending.Where((_, i) => i >= results.Count || results[i].ErrorCode is not null)];
                    return false;
                }, cancellationToken);
            }
            catch (ConcurrencyConflictException)
            {
                throw new AwsCallException($"EventBridge PutEvents: {pending.Length} events not accepted after {_resend.MaxAttempts} attempts ({string.Join("; ", reasons)})", null, null);
            }
        }
    }

    private PutEventsEntry Entry(ConfigPublished published) => new(source, DetailType,
        JsonSerializer.Serialize(published, EventDetailJson.Default.ConfigPublished), busName, []);
}
