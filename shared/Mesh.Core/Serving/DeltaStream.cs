using Mesh.Core.Model;

namespace Mesh.Core.Serving;

/// <summary>A DeltaDiscoveryResponse: the resources that changed for the proxy (each with its version) and the names it must drop.</summary>
public sealed record DeltaPush(XdsType Type, string SystemVersion, string Nonce, IReadOnlyList<XdsResource> Resources, IReadOnlyList<string> Removed);

/// <summary>
/// One incremental (delta) ADS stream. Per type the stream knows which names the proxy subscribed to (or that it
/// takes all of them: "*", or a first request naming none for CDS and LDS) and which version of each resource it
/// holds, starting from the initial_resource_versions of a reconnect; it sends only resources whose version
/// differs, and names the proxy holds that no longer exist (or never did) as removed. Subscribe and unsubscribe
/// are honoured whatever the nonce. A NACK leaves the proxy on its last good resources: the rejected ones count as
/// sent, so they are not sent again until they change. A resource's version is its content hash. Not thread-safe: one stream, one caller.
/// </summary>
public sealed class DeltaStream
{
    private const string Wildcard = "*";
    private readonly Subscription[] _types = [.. XdsTypes.All.Select(_ => new Subscription())];
    private long _nonce;

    public StreamStep<DeltaPush> OnRequest(FleetSnapshot snapshot, XdsType type, IReadOnlyList<string> subscribe, IReadOnlyList<string> unsubscribe,
        IReadOnlyDictionary<string, string> initialVersions, string responseNonce, string? errorDetail)
    {
        var state = _types[(int)type];
        if (!state.Started)
        {
            state.Started = true;
            foreach (var (name, version) in initialVersions) state.Held[name] = version;
            // A first request naming nothing is the legacy wildcard, for the types that are wildcards.
            state.Wildcard = type.IsWildcard() && subscribe.Count == 0 && unsubscribe.Count == 0;
        }
        foreach (var name in subscribe)
        {
            if (name == Wildcard) state.Wildcard = true;
            // A name subscribed (again) is always sent, unless a reconnect said which version the proxy holds.
            else if (state.Subscribed.Add(name) && !initialVersions.ContainsKey(name)) state.Held.Remove(name);
        }
        foreach (var name in unsubscribe)
        {
            if (name == Wildcard) state.Wildcard = false;
            else if (state.Subscribed.Remove(name)) state.Held.Remove(name);
        }
        StreamReport? report = null;
        // Envoy's later requests answer a NACKed response's nonce again without error_detail: they are no ACK.
        if (responseNonce.Length > 0 && responseNonce == state.SentNonce && responseNonce != state.NackedNonce)
        {
            var names = state.Wildcard || type.IsWildcard() ? [] : SotwStream.Distinct([.. state.Subscribed]);
            if (errorDetail is null)
            {
                report = SotwStream.Track(ref state.ReportedNames, new Acked(type, names, state.SentVersion ?? "", state.SentVersion));
            }
            else
            {
                state.NackedNonce = responseNonce;
                report = SotwStream.Track(ref state.ReportedNames, new Nacked(type, names, state.SentVersion ?? "", state.AckedVersion ?? "", errorDetail));
            }
            if (errorDetail is null) state.AckedVersion = state.SentVersion;
        }
        return new(report, Diff(snapshot, type, state) is { } push ? [push] : []);
    }

    /// <summary>The fleet's head moved: what changed for each type, clusters first, then endpoints, listeners, routes.</summary>
    public IReadOnlyList<DeltaPush> OnSnapshot(FleetSnapshot snapshot) =>
        [.. XdsTypes.All.Where(t => _types[(int)t].Started).Select(t => Diff(snapshot, t, _types[(int)t])).OfType<DeltaPush>()];

    private DeltaPush? Diff(FleetSnapshot snapshot, XdsType type, Subscription state)
    {
        if (!state.Started) return null;
        var set = snapshot[type];
        var wanted = state.Wildcard ? set.Resources.Select(r => r.Name).Concat(state.Subscribed) : state.Subscribed;
        var changed = new List<XdsResource>();
        var removed = new List<string>();
        var live = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in wanted.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            if (set.Find(name) is { } resource)
            {
                live.Add(name);
                if (!state.Held.TryGetValue(name, out var held) || held != resource.Hash) changed.Add(resource);
            }
            else if (!state.Held.TryGetValue(name, out var held) || held.Length > 0)
            {
                removed.Add(name);
            }
        }
        // Held names the proxy no longer gets (deleted from a wildcard set) are removed too.
        removed.AddRange(state.Held.Where(h => h.Value.Length > 0 && !live.Contains(h.Key) && !removed.Contains(h.Key)).Select(h => h.Key).Order(StringComparer.Ordinal));
        if (changed.Count == 0 && removed.Count == 0) return null;
        // The version REST would report for the same names, so convergence reads both transports alike.
        var version = XdsResponder.VersionOf(snapshot, type, state.Wildcard || type.IsWildcard() ? [] : SotwStream.Distinct([.. state.Subscribed])) ?? snapshot.Version;
        foreach (var resource in changed) state.Held[resource.Name] = resource.Hash;
        foreach (var name in removed)
        {
            // A subscribed name that does not exist stays known as absent, so it is not reported again.
            if (state.Subscribed.Contains(name)) state.Held[name] = "";
            else state.Held.Remove(name);
        }
        state.SentVersion = version;
        state.SentNonce = (++_nonce).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new DeltaPush(type, version, state.SentNonce, changed, removed);
    }

    private sealed class Subscription
    {
        public bool Started;
        public bool Wildcard;
        public readonly HashSet<string> Subscribed = new(StringComparer.Ordinal);
        /// <summary>Name → version of what the proxy holds; "" for a subscribed name it was told does not exist.</summary>
        public readonly Dictionary<string, string> Held = new(StringComparer.Ordinal);
        public string? SentVersion;
        public string? SentNonce;
        public string? AckedVersion;
        public string? NackedNonce;
        public IReadOnlyList<string>? ReportedNames;
    }
}
