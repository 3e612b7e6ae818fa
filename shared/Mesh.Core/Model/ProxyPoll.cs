namespace Mesh.Core.Model;

/// <summary>One REST subscription of one proxy: CDS or LDS, or one EDS cluster or RDS route table (by its names).</summary>
public readonly record struct SubscriptionKey(FleetId Fleet, string NodeId, XdsType Type, string Names)
{
    public static SubscriptionKey Of(FleetId fleet, string nodeId, XdsType type, IReadOnlyList<string> names) => names.Count switch
    {
        // Most polls: a wildcard type, or one EDS or RDS name.
        0 => new(fleet, nodeId, type, ""),
        1 => new(fleet, nodeId, type, names[0]),
        _ => new(fleet, nodeId, type, string.Join(',', names.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))),
    };
}

/// <summary>
/// A proxy's last poll of a subscription: the version it reported running, the version it was last sent, and,
/// if it kept reporting the same older version after being sent a newer one, that rejected version (REST xDS
/// has no NACK: an unchanged version_info is the only sign).
/// </summary>
public sealed record ProxyPoll(SubscriptionKey Key, string Reported, string? Served, string? Rejected, DateTimeOffset At)
{
    /// <summary>Why the proxy rejected <see cref="Rejected"/>, when it said (an ADS NACK's error_detail); REST polls cannot say.</summary>
    public string? RejectionReason { get; init; }

    /// <summary>
    /// The record after a new poll that reported <paramref name="reported"/> and was answered with <paramref name="served"/>
    /// (null: 304). A proxy that keeps reporting what it ran before it was sent a version rejected that version; one
    /// that rejects its very first configuration keeps reporting nothing, which is told apart from a slow first apply
    /// only by time: it counts as rejecting once <paramref name="firstConfigGrace"/> has passed since it was sent one.
    /// </summary>
    public static ProxyPoll Next(ProxyPoll? previous, SubscriptionKey key, string reported, string? served, DateTimeOffset at, TimeSpan firstConfigGrace)
    {
        var keptOld = previous is { Served: { } sent } && reported != sent && reported == previous.Reported;
        var rejected = keptOld && (reported.Length > 0 || previous!.Rejected is not null || at - previous.At >= firstConfigGrace) ? previous!.Served : null;
        return new ProxyPoll(key, reported, served ?? previous?.Served, rejected, at);
    }

    public bool SameState(ProxyPoll other) =>
        Reported == other.Reported && Served == other.Served && Rejected == other.Rejected && RejectionReason == other.RejectionReason;
}
