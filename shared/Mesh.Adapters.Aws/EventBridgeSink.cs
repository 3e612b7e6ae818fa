using System.Text.Json;
using Mesh.Core.Ports;

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
    private const int MaxResends = 3;

    public async Task PublishAsync(IReadOnlyList<ConfigPublished> events, CancellationToken cancellationToken)
    {
        foreach (var chunk in events.Select(Entry).Chunk(EntriesPerCall))
        {
            IReadOnlyList<PutEventsEntry> pending = chunk;
            for (var resend = 0; pending.Count > 0; resend++)
            {
                var response = await client.CallAsync("PutEvents", new PutEventsRequest(pending),
                    AwsJson.Default.PutEventsRequest, AwsJson.Default.PutEventsResponse, cancellationToken);
                if (response.FailedEntryCount == 0) break;
                var results = response.Entries ?? [];
                var failed = pending.Where((_, i) => i >= results.Count || results[i].ErrorCode is not null).ToList();
                if (resend == MaxResends)
                {
                    var reasons = results.Where(r => r.ErrorCode is not null).Select(r => $"{r.ErrorCode}: {r.ErrorMessage}").Distinct();
                    throw new AwsCallException($"EventBridge PutEvents: {failed.Count} events not accepted after {MaxResends + 1} attempts ({string.Join("; ", reasons)})", null, null);
                }
                pending = failed;
            }
        }
    }

    private PutEventsEntry Entry(ConfigPublished published) => new(source, DetailType,
        JsonSerializer.Serialize(published, EventDetailJson.Default.ConfigPublished), busName, []);
}
