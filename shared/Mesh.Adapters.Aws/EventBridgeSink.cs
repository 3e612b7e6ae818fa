using System.Text.Json;
using Mesh.Core.Ports;
using Mesh.Core.Resilience;

namespace Mesh.Adapters.Aws;

/// <summary>"Mesh Config Published" events through EventBridge PutEvents (<see cref="EventBridgePublisher"/>).</summary>
public sealed class EventBridgeSink(AwsJsonClient client, string busName, string source) : IConfigEventSink
{
    public const string DetailType = "Mesh Config Published";
    public const string DefaultSource = "mesh-pipeline";
    private readonly EventBridgePublisher _publisher = new(client);
    /// <summary>Entries the service refused (throttled, internal failure) are sent again, after a short back-off.</summary>
    private readonly GuardedRetry _resend = new(4, TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(500), TimeProvider.System);

    public Task PublishAsync(IReadOnlyList<ConfigPublished> events, CancellationToken cancellationToken) =>
        _publisher.PutAsync([.. events.Select(Entry)], _resend, cancellationToken);

    private PutEventsEntry Entry(ConfigPublished published) => new(source, DetailType,
        JsonSerializer.Serialize(published, EventDetailJson.Default.ConfigPublished), busName, []);
}
