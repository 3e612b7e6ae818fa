using System.Collections.Concurrent;
using Mesh.Core.Compile;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Serving;
using Mesh.Core.Snapshots;

namespace Mesh.Api;

/// <summary>
/// Records what each proxy's polls report and are served, for convergence. A poll is written only when its state
/// changes or its record is older than the heartbeat, so a steady fleet costs a write per subscription per
/// heartbeat, not per poll. The last record is kept here, and read from the store when this instance has none.
/// </summary>
public sealed class ProxyTracker(IProxyStatusStore store, XdsSettings settings, TimeProvider clock)
{
    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<SubscriptionKey, ProxyPoll> _last = new();

    /// <summary>A proxy is live while its records are younger than two heartbeats and two poll intervals.</summary>
    public DateTimeOffset LiveSince => clock.GetUtcNow() - 2 * Heartbeat - 2 * 2 * settings.RefreshDelay;

    public async Task RecordAsync(FleetId fleet, string nodeId, XdsType type, IReadOnlyList<string> names, string reported, string? served, CancellationToken cancellationToken)
    {
        var key = SubscriptionKey.Of(fleet, nodeId, type, type.IsWildcard() ? [] : names);
        var previous = _last.TryGetValue(key, out var cached) ? cached : await store.GetPollAsync(key, cancellationToken);
        var now = clock.GetUtcNow();
        var next = ProxyPoll.Next(previous, key, reported, served, now);
        if (previous is not null && previous.SameState(next) && now - previous.At < Heartbeat)
        {
            _last[key] = previous;
            return;
        }
        await store.RecordPollAsync(next, cancellationToken);
        _last[key] = next;
    }

    public async Task<int> CountProxiesAsync(FleetId fleet, CancellationToken cancellationToken) =>
        (await store.ListPollsAsync(fleet, LiveSince, cancellationToken)).Select(p => p.Key.NodeId).Distinct(StringComparer.Ordinal).Count();

    public async Task<ConvergenceCounts> CountAsync(FleetSnapshot target, CancellationToken cancellationToken) =>
        Convergence.Of(target, await store.ListPollsAsync(target.Fleet, LiveSince, cancellationToken));
}
