using k8s;
using k8s.Models;

namespace Mesh.EksForwarder;

/// <summary>One event to put on the bus: a slice's watch event with the version labels of the pods behind it.</summary>
public sealed record SliceChange(string SliceUid, string Slice, string WatchEventType, V1EndpointSlice EndpointSlice, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> PodLabels);

/// <summary>
/// What the forwarder knows of the cluster: every slice it has forwarded (its last state, for the DELETED that a
/// relist discovers) and the version labels of pods. Pure: watch events and lists in, changes to forward out.
/// </summary>
public sealed class SliceBook
{
    /// <summary>The pod labels Ingest reads for subsets.</summary>
    public static readonly string[] VersionLabels = ["version", "app.kubernetes.io/version"];

    private readonly Dictionary<string, V1EndpointSlice> _slices = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyDictionary<string, string>> _podLabels = new(StringComparer.Ordinal);

    public int Slices => _slices.Count;

    /// <summary>A slice's watch event: ADDED and MODIFIED forward its state, DELETED its last one; BOOKMARK and ERROR nothing.</summary>
    public SliceChange? Observe(WatchEventType type, V1EndpointSlice slice)
    {
        if (slice.Metadata?.Uid is not { } uid) return null;
        switch (type)
        {
            case WatchEventType.Added or WatchEventType.Modified:
                _slices[uid] = slice;
                return Change(slice, type == WatchEventType.Added ? "ADDED" : "MODIFIED");
            case WatchEventType.Deleted:
                _slices.Remove(uid);
                return Change(slice, "DELETED");
            default:
                return null;
        }
    }

    /// <summary>
    /// A fresh list (at start, or after the watch's resourceVersion expired): every listed slice is forwarded again, so
    /// an event lost before is repaired (Ingest's generation guard makes a repeat harmless), and every slice forwarded
    /// before but no longer listed is forwarded as DELETED with its last state.
    /// </summary>
    /// <param name="scope">The namespace the list covers; null: all of them.</param>
    public IReadOnlyList<SliceChange> Relist(IEnumerable<V1EndpointSlice> listed, string? scope = null)
    {
        var changes = new List<SliceChange>();
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var slice in listed)
        {
            if (slice.Metadata?.Uid is not { } uid) continue;
            present.Add(uid);
            changes.Add(Change(slice, _slices.ContainsKey(uid) ? "MODIFIED" : "ADDED"));
            _slices[uid] = slice;
        }
        foreach (var gone in _slices.Where(s => !present.Contains(s.Key) && (scope is null || s.Value.Metadata.NamespaceProperty == scope)).ToList())
        {
            _slices.Remove(gone.Key);
            changes.Add(Change(gone.Value, "DELETED"));
        }
        return changes;
    }

    /// <summary>A pod's labels, as listed or watched: a version label that changed is forwarded with every slice the pod is behind.</summary>
    public IReadOnlyList<SliceChange> Pod(WatchEventType type, V1Pod pod)
    {
        if (pod.Metadata?.Uid is not { } uid) return [];
        if (type == WatchEventType.Deleted)
        {
            _podLabels.Remove(uid);
            return [];
        }
        var labels = Versions(pod.Metadata.Labels);
        var known = _podLabels.TryGetValue(uid, out var before);
        _podLabels[uid] = labels;
        if (!known || Same(before!, labels)) return [];
        return [.. _slices.Values.Where(s => PodsOf(s).Contains(uid)).Select(s => Change(s, "MODIFIED"))];
    }

    /// <summary>Pods a slice's endpoints point at whose labels this book does not hold yet.</summary>
    public IEnumerable<V1ObjectReference> UnknownPods(V1EndpointSlice slice) =>
        (slice.Endpoints ?? []).Select(e => e.TargetRef).OfType<V1ObjectReference>()
            .Where(r => r.Kind == "Pod" && r.Uid is { } uid && !_podLabels.ContainsKey(uid));

    /// <summary>Labels learnt outside the watch (a pod read when a slice named it first), without forwarding anything.</summary>
    public void Learn(V1Pod pod)
    {
        if (pod.Metadata?.Uid is { } uid) _podLabels[uid] = Versions(pod.Metadata.Labels);
    }

    private SliceChange Change(V1EndpointSlice slice, string type)
    {
        var labels = PodsOf(slice).Where(_podLabels.ContainsKey).Distinct(StringComparer.Ordinal)
            .ToDictionary(uid => uid, uid => _podLabels[uid], StringComparer.Ordinal);
        return new SliceChange(slice.Metadata.Uid, $"{slice.Metadata.NamespaceProperty}/{slice.Metadata.Name}", type, slice, labels);
    }

    private static IEnumerable<string> PodsOf(V1EndpointSlice slice) =>
        (slice.Endpoints ?? []).Select(e => e.TargetRef).Where(r => r?.Kind == "Pod" && r.Uid is not null).Select(r => r!.Uid);

    private static Dictionary<string, string> Versions(IDictionary<string, string>? labels) =>
        VersionLabels.Where(l => labels?.ContainsKey(l) == true).ToDictionary(l => l, l => labels![l], StringComparer.Ordinal);

    private static bool Same(IReadOnlyDictionary<string, string> a, Dictionary<string, string> b) =>
        a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out var v) && v == p.Value);
}
