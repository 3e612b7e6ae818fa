using Mesh.Core.Model;

namespace Mesh.Core.Ports;

/// <summary>What a proxy's last poll of one subscription reported and was served.</summary>
public interface IProxyStatusStore
{
    /// <summary>How long a poll record is kept after its last write; stores expire older ones.</summary>
    static readonly TimeSpan PollLifetime = TimeSpan.FromDays(1);

    Task<ProxyPoll?> GetPollAsync(SubscriptionKey key, CancellationToken cancellationToken);

    Task RecordPollAsync(ProxyPoll poll, CancellationToken cancellationToken);

    /// <summary>Drops a subscription its proxy replaced (an ADS stream that now names other resources).</summary>
    Task ForgetPollAsync(SubscriptionKey key, CancellationToken cancellationToken);

    /// <summary>The fleet's subscriptions polled at or after <paramref name="since"/>.</summary>
    Task<IReadOnlyList<ProxyPoll>> ListPollsAsync(FleetId fleet, DateTimeOffset since, CancellationToken cancellationToken);
}
