using System.Collections.Concurrent;
using Mesh.Core.Compile;
using Mesh.Core.Model;
using Mesh.Core.Ports;

namespace Mesh.Core.Serving;

/// <summary>
/// Records what each proxy's polls report and are served, for convergence. A poll is written only when its state
/// changes or its record is older than the heartbeat, so a steady fleet costs a write per subscription per
/// heartbeat, not per poll. Polls are not authenticated, so what they may write is bounded: a subscription is
/// recorded only while what it reports continues what it was served (a first poll reports no version), so a
/// made-up node cannot pose as a proxy that rejects a version; and a fleet tracks at most
/// <see cref="XdsSettings.MaxTrackedProxiesPerFleet"/> live proxies. Records expire with the store's poll lifetime.
/// </summary>
public sealed class ProxyTracker(IProxyStatusStore store, XdsSettings settings, TimeProvider clock)
{
    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(30);

    /// <summary>Envoy's node ids are host names or task ids; a longer one, or one with control characters, is not tracked.</summary>
    public const int MaxNodeIdLength = 256;

    private readonly ConcurrentDictionary<SubscriptionKey, ProxyPoll> _last = new();
    private readonly ConcurrentDictionary<FleetId, TrackedCount> _tracked = new();

    /// <summary>Two refresh intervals: a proxy still reporting no version this long after it was sent one rejected it.</summary>
    public TimeSpan FirstConfigGrace => 2 * settings.RefreshDelay;

    /// <summary>A proxy is live while its records are younger than two heartbeats and two poll intervals.</summary>
    public DateTimeOffset LiveSince => clock.GetUtcNow() - 2 * Heartbeat - 2 * 2 * settings.RefreshDelay;

    /// <summary>Whether the poll was recorded (false: it did not continue a known subscription, or the fleet tracks enough proxies).</summary>
    public async Task<bool> RecordAsync(FleetId fleet, string nodeId, XdsType type, IReadOnlyList<string> names, string reported, string? served, CancellationToken cancellationToken)
    {
        if (!Trackable(nodeId)) return false;
        var key = SubscriptionKey.Of(fleet, nodeId, type, type.IsWildcard() ? [] : names);
        var previous = _last.TryGetValue(key, out var cached) ? cached : await store.GetPollAsync(key, cancellationToken);
        var now = clock.GetUtcNow();
        if (!Continues(previous, reported)) return false;
        if (previous is null && !await HasRoomAsync(fleet, now, cancellationToken)) return false;
        await WriteAsync(previous, ProxyPoll.Next(previous, key, reported, served, now, FirstConfigGrace), now, cancellationToken);
        return true;
    }

    /// <summary>
    /// What an ADS stream knows for certain, unlike a poll: the version the proxy last ACKed, the one last sent, and
    /// a NACKed one with the proxy's error_detail. The stream proved its fleet, so nothing is inferred.
    /// </summary>
    public async Task RecordStreamAsync(FleetId fleet, string nodeId, StreamReport report, string acked, string? sent,
        string? rejected, string? reason, CancellationToken cancellationToken)
    {
        if (!Trackable(nodeId)) return;
        var (type, names) = (report.Type, report.Names);
        if (report.Replaced is { } replaced)
        {
            var gone = SubscriptionKey.Of(fleet, nodeId, type, type.IsWildcard() ? [] : replaced);
            _last.TryRemove(gone, out _);
            await store.ForgetPollAsync(gone, cancellationToken);
        }
        var key = SubscriptionKey.Of(fleet, nodeId, type, type.IsWildcard() ? [] : names);
        var previous = _last.TryGetValue(key, out var cached) ? cached : await store.GetPollAsync(key, cancellationToken);
        var now = clock.GetUtcNow();
        if (previous is null && !await HasRoomAsync(fleet, now, cancellationToken)) return;
        await WriteAsync(previous, new ProxyPoll(key, acked, sent, rejected, now) { RejectionReason = reason }, now, cancellationToken);
    }

    /// <summary>Control characters are U+0000–U+001F and U+007F–U+009F.</summary>
    private static bool Trackable(string nodeId) =>
        nodeId.Length <= MaxNodeIdLength && !nodeId.AsSpan().ContainsAnyInRange('\u0000', '\u001f') && !nodeId.AsSpan().ContainsAnyInRange('\u007f', '\u009f');

    private async Task WriteAsync(ProxyPoll? previous, ProxyPoll next, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (previous is not null && previous.SameState(next) && now - previous.At < Heartbeat)
        {
            // Most polls: nothing new, and already remembered (every poll of a busy fleet writing one entry would contend).
            if (!_last.TryGetValue(next.Key, out var remembered) || !ReferenceEquals(remembered, previous)) _last[next.Key] = previous;
            return;
        }
        await store.RecordPollAsync(next, cancellationToken);
        _last[next.Key] = next;
    }

    public async Task<int> CountProxiesAsync(FleetId fleet, CancellationToken cancellationToken) =>
        (await store.ListPollsAsync(fleet, LiveSince, cancellationToken)).Select(p => p.Key.NodeId).Distinct(StringComparer.Ordinal).Count();

    public async Task<ConvergenceCounts> CountAsync(FleetSnapshot target, CancellationToken cancellationToken) =>
        Convergence.Of(target, await store.ListPollsAsync(target.Fleet, LiveSince, cancellationToken));

    /// <summary>A first poll reports nothing; later ones report what they were served, or what they reported before.</summary>
    private static bool Continues(ProxyPoll? previous, string reported) =>
        reported.Length == 0 || previous is not null && (reported == previous.Served || reported == previous.Reported);

    /// <summary>Counts the fleet's live proxies from the store at most once per heartbeat, and locally in between.</summary>
    private async Task<bool> HasRoomAsync(FleetId fleet, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (!_tracked.TryGetValue(fleet, out var tracked) || now - tracked.CountedAt >= Heartbeat)
            tracked = new TrackedCount(await CountProxiesAsync(fleet, cancellationToken), now);
        if (tracked.Count >= settings.MaxTrackedProxiesPerFleet)
        {
            _tracked[fleet] = tracked;
            return false;
        }
        _tracked[fleet] = tracked with { Count = tracked.Count + 1 };
        return true;
    }

    private readonly record struct TrackedCount(int Count, DateTimeOffset CountedAt);
}
