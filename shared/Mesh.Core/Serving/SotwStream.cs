using Mesh.Core.Model;

namespace Mesh.Core.Serving;

/// <summary>A DiscoveryResponse to send on an ADS stream: every resource of a wildcard type, or the named ones.</summary>
public sealed record SotwPush(XdsType Type, string Version, string Nonce, IReadOnlyList<XdsResource> Resources);

/// <summary>What a request told about the proxy: it applied a version (ACK) or refused one (NACK, with Envoy's reason).</summary>
public abstract record StreamReport(XdsType Type, IReadOnlyList<string> Names)
{
    /// <summary>The names the stream's previous report of this type carried, when they differ: that subscription is gone.</summary>
    public IReadOnlyList<string>? Replaced { get; init; }
}

public sealed record Acked(XdsType Type, IReadOnlyList<string> Names, string Version, string? Sent) : StreamReport(Type, Names);

public sealed record Nacked(XdsType Type, IReadOnlyList<string> Names, string RejectedVersion, string RunningVersion, string Reason) : StreamReport(Type, Names);

/// <summary>What to do after a request: the report to record (none for a first or stale request) and what to send.</summary>
public sealed record StreamStep<TPush>(StreamReport? Report, IReadOnlyList<TPush> Pushes);

/// <summary>
/// One state-of-the-world ADS stream, as the xDS protocol has it: a response per type only when its version
/// moves or the names asked for change; nonces tie ACKs and NACKs to a response, and a request carrying an older
/// nonce is ignored; a NACKed version is never sent again (Envoy keeps its last good one), but the next one is.
/// CDS and LDS are answered with every resource (a client naming some, as gRPC does, gets a response when its
/// names change); EDS and RDS are asked for by name, and a name the snapshot lacks is answered with its empty
/// resource, as over REST. Not thread-safe: one stream, one caller.
/// </summary>
public sealed class SotwStream
{
    private readonly Subscription[] _types = [.. XdsTypes.All.Select(_ => new Subscription())];
    private long _nonce;

    public StreamStep<SotwPush> OnRequest(FleetSnapshot snapshot, XdsType type, string versionInfo, string responseNonce, IReadOnlyList<string> names, string? errorDetail)
    {
        var state = _types[(int)type];
        var requested = Distinct(names);
        if (responseNonce.Length > 0 && responseNonce != state.SentNonce) return new(null, []);
        if (responseNonce.Length > 0 && errorDetail is not null)
        {
            state.Rejected = state.SentVersion;
            state.NackedNonce = responseNonce;
            state.Names = requested;
            return new(Track(state, new Nacked(type, Reported(type, requested), state.SentVersion ?? "", versionInfo, errorDetail)), []);
        }
        var first = !state.Subscribed;
        var namesChanged = !state.Names.SequenceEqual(requested, StringComparer.Ordinal);
        // Envoy's later requests answer the NACKed response's nonce again without error_detail: they are no ACK.
        var report = first || responseNonce == state.NackedNonce ? null : Track(state, new Acked(type, Reported(type, requested), versionInfo, state.SentVersion));
        state.Known = versionInfo;
        state.Subscribed = true;
        state.Names = requested;
        var pushes = new List<SotwPush>();
        // A first request (a reconnect) is answered unless it already runs the version; later, a change of names is
        // answered even with an unchanged version (the newly named must come), and a moved version unless it was refused.
        if (Reply(snapshot, type, state) is { } reply
            && (first ? reply.Version != versionInfo : namesChanged || reply.Version != state.SentVersion && reply.Version != state.Rejected))
            pushes.Add(Send(type, state, reply));
        return new(report, pushes);
    }

    /// <summary>Notes the names a report carries, and which it replaces.</summary>
    internal static StreamReport Track(ref IReadOnlyList<string>? reported, StreamReport report)
    {
        var replaced = reported is not null && !reported.SequenceEqual(report.Names, StringComparer.Ordinal) ? reported : null;
        reported = report.Names;
        return report with { Replaced = replaced };
    }

    private static StreamReport Track(Subscription state, StreamReport report) => Track(ref state.ReportedNames, report);

    /// <summary>CDS and LDS answer with every resource whatever a client names, so their names do not key convergence.</summary>
    private static IReadOnlyList<string> Reported(XdsType type, IReadOnlyList<string> names) => type.IsWildcard() ? [] : names;

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

    /// <summary>
    /// Null for EDS or RDS with no names: an unsubscribed type is sent nothing. CDS and LDS always carry every resource:
    /// Envoy subscribes to all of them; gRPC names the ones it wants and ignores the rest.
    /// </summary>
    private static Resources? Reply(FleetSnapshot snapshot, XdsType type, Subscription state) =>
        type.IsWildcard() ? XdsResponder.Respond(snapshot, type, "", []) as Resources
        : state.Names.Count == 0 ? null : XdsResponder.Respond(snapshot, type, "", state.Names) as Resources;

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
        public string? NackedNonce;
        public IReadOnlyList<string>? ReportedNames;
    }
}
