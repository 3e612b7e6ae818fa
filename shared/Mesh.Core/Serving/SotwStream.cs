using Mesh.Core.Model;

namespace Mesh.Core.Serving;

/// <summary>A DiscoveryResponse to send on an ADS stream: every resource of a wildcard type, or the named ones.</summary>
public sealed record SotwPush(XdsType Type, string Version, string Nonce, IReadOnlyList<XdsResource> Resources);

/// <summary>What a request told about the proxy: it applied a version (ACK) or refused one (NACK, with Envoy's reason).</summary>
public abstract record StreamReport(XdsType Type, IReadOnlyList<string> Names);

public sealed record Acked(XdsType Type, IReadOnlyList<string> Names, string Version, string? Sent) : StreamReport(Type, Names);

public sealed record Nacked(XdsType Type, IReadOnlyList<string> Names, string RejectedVersion, string RunningVersion, string Reason) : StreamReport(Type, Names);

/// <summary>What to do after a request: the report to record (none for a first or stale request) and what to send.</summary>
public sealed record StreamStep<TPush>(StreamReport? Report, IReadOnlyList<TPush> Pushes);

/// <summary>
/// One state-of-the-world ADS stream, as the xDS protocol has it: a response per type only when its version
/// moves or the names asked for change; nonces tie ACKs and NACKs to a response, and a request carrying an older
/// nonce is ignored; a NACKed version is never sent again (Envoy keeps its last good one), but the next one is.
/// CDS and LDS are wildcards; EDS and RDS are asked for by name, and a name the snapshot lacks is answered with
/// its empty resource, as over REST. Not thread-safe: one stream, one caller.
/// </summary>
public sealed class SotwStream
{
    private readonly Subscription[] _types = [.. XdsTypes.All.Select(_ => new Subscription())];
    private long _nonce;

    public StreamStep<SotwPush> OnRequest(FleetSnapshot snapshot, XdsType type, string versionInfo, string responseNonce, IReadOnlyList<string> names, string? errorDetail)
    {
        var state = _types[(int)type];
        var requested = type.IsWildcard() ? [] : Distinct(names);
        if (responseNonce.Length > 0 && responseNonce != state.SentNonce) return new(null, []);
        if (responseNonce.Length > 0 && errorDetail is not null)
        {
            state.Rejected = state.SentVersion;
            state.Names = requested;
            return new(new Nacked(type, requested, state.SentVersion ?? "", versionInfo, errorDetail), []);
        }
        var namesChanged = !state.Subscribed || !state.Names.SequenceEqual(requested, StringComparer.Ordinal);
        var report = responseNonce.Length > 0 ? new Acked(type, requested, versionInfo, state.SentVersion) : null;
        state.Known = versionInfo;
        state.Subscribed = true;
        state.Names = requested;
        var pushes = new List<SotwPush>();
        if (Reply(snapshot, type, state) is { } reply && (namesChanged && reply.Version != state.Known || reply.Version != state.SentVersion && reply.Version != state.Rejected))
            pushes.Add(Send(type, state, reply));
        return new(report, pushes);
    }

    /// <summary>The fleet's head moved: a response for every subscribed type whose version moved, clusters first, then endpoints, listeners, routes.</summary>
    public IReadOnlyList<SotwPush> OnSnapshot(FleetSnapshot snapshot)
    {
        var pushes = new List<SotwPush>();
        foreach (var type in XdsTypes.All)
        {
            var state = _types[(int)type];
            if (!state.Subscribed || Reply(snapshot, type, state) is not { } reply) continue;
            if (reply.Version != state.SentVersion && reply.Version != state.Rejected && reply.Version != state.Known) pushes.Add(Send(type, state, reply));
        }
        return pushes;
    }

    private SotwPush Send(XdsType type, Subscription state, Resources reply)
    {
        state.SentVersion = reply.Version;
        state.SentNonce = (++_nonce).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new SotwPush(type, reply.Version, state.SentNonce, reply.Items);
    }

    /// <summary>Null for EDS or RDS with no names: an unsubscribed type is sent nothing.</summary>
    private static Resources? Reply(FleetSnapshot snapshot, XdsType type, Subscription state) =>
        !type.IsWildcard() && state.Names.Count == 0 ? null : XdsResponder.Respond(snapshot, type, "", state.Names) as Resources;

    internal static IReadOnlyList<string> Distinct(IReadOnlyList<string> names) =>
        [.. names.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    private sealed class Subscription
    {
        public bool Subscribed;
        public IReadOnlyList<string> Names = [];
        public string? SentVersion;
        public string? SentNonce;
        /// <summary>The version the proxy runs, as its last ACK (or first request) said.</summary>
        public string? Known;
        public string? Rejected;
    }
}
