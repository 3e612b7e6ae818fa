using Mesh.Core.Resilience;

namespace Mesh.Adapters.Aws;

/// <summary>
/// EventBridge PutEvents, ten entries a call (the API's limit). Entries the service reports as failed (throttled,
/// internal failure) are sent again, alone, after a back-off; what still fails after the attempts is an error naming them.
/// </summary>
public sealed class EventBridgePublisher(AwsJsonClient client)
{
    public const int EntriesPerCall = 10;

    public async Task PutAsync(IReadOnlyList<PutEventsEntry> entries, GuardedRetry resend, CancellationToken cancellationToken)
    {
        foreach (var chunk in entries.Chunk(EntriesPerCall))
        {
            var pending = chunk;
            var reasons = new List<string>();
            try
            {
                await resend.RunAsync("EventBridge PutEvents", async _ =>
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
                throw new AwsCallException($"EventBridge PutEvents: {pending.Length} events not accepted after {resend.MaxAttempts} attempts ({string.Join("; ", reasons)})", null, null);
            }
        }
    }
}
