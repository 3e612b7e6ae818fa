using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Mesh.Core.Model;

namespace Mesh.Core.Compile;

/// <summary>
/// What a publisher compiled before, kept between publishes so that a change recompiles only what it touches: a
/// backend's clusters and load assignments are kept while its definition, the mesh's settings and its endpoints are
/// unchanged (an endpoint change recompiles that backend's EDS, not its callers' other backends); a sidecar fleet's
/// listeners, routes and own clusters are kept while its service, its backends' definitions and the mesh's settings
/// are unchanged (an endpoint change reassembles them, an edit recompiles only the fleets it touches). Inputs are
/// compared by content, never by version numbers, so a reuse is exactly what a full compile would have made.
/// Safe for concurrent publishes: entries are immutable and replaced whole.
/// </summary>
public sealed class CompileMemory
{
    private readonly ConcurrentDictionary<FleetId, BackendEntry> _backends = new();
    private readonly ConcurrentDictionary<FleetId, FrameEntry> _frames = new();
    private readonly ConditionalWeakTable<object, string> _prints = new();

    /// <summary>How many pieces were compiled and reused since the memory was made (for the benchmark and tests).</summary>
    public CompileCounts Counts => new(Volatile.Read(ref _backendsCompiled), Volatile.Read(ref _backendsReused), Volatile.Read(ref _framesCompiled), Volatile.Read(ref _framesReused));

    private long _backendsCompiled, _backendsReused, _framesCompiled, _framesReused;

    internal BackendResources Backend(BackendInputs backend, XdsSettings settings, MeshSettings mesh, Func<BackendResources> compile)
    {
        var definition = backend.Definition!;
        var key = new BackendKey(Print(definition), settings, Print(mesh));
        if (_backends.TryGetValue(definition.Fleet, out var entry) && entry.Key == key && SameEndpoints(entry.Endpoints, backend.Endpoints))
        {
            Interlocked.Increment(ref _backendsReused);
            return entry.Resources;
        }
        Interlocked.Increment(ref _backendsCompiled);
        var resources = compile();
        _backends[definition.Fleet] = new BackendEntry(key, backend.Endpoints, resources);
        return resources;
    }

    internal FleetFrame Frame(FleetInputs inputs, IReadOnlyList<BackendInputs> backends, XdsSettings settings, Func<FleetFrame> compile)
    {
        var key = new FrameKey(Print(inputs.Service), string.Join('\n', backends.Select(b => b.Definition is null ? b.Name : $"{b.Name} {Print(b.Definition)}")), settings, Print(inputs.Settings));
        if (_frames.TryGetValue(inputs.Service.Fleet, out var entry) && entry.Key == key)
        {
            Interlocked.Increment(ref _framesReused);
            return entry.Frame;
        }
        Interlocked.Increment(ref _framesCompiled);
        var frame = compile();
        _frames[inputs.Service.Fleet] = new FrameEntry(key, frame);
        return frame;
    }

    /// <summary>A content hash of a definition (routes and policy included) or of mesh settings, once per instance.</summary>
    private string Print(ServiceDefinition definition) =>
        _prints.GetValue(definition, d => ContentHash.Of(JsonSerializer.SerializeToUtf8Bytes(StoredService.From((ServiceDefinition)d), CanonicalJson.Default.StoredService)));

    private string Print(MeshSettings settings) =>
        _prints.GetValue(settings, s => ContentHash.Of(JsonSerializer.SerializeToUtf8Bytes((MeshSettings)s, CanonicalJson.Default.MeshSettings)));

    private static bool SameEndpoints(IReadOnlyList<Endpoint> kept, IReadOnlyList<Endpoint> now)
    {
        if (ReferenceEquals(kept, now)) return true;
        if (kept.Count != now.Count) return false;
        for (var i = 0; i < kept.Count; i++)
        {
            var (a, b) = (kept[i], now[i]);
            if (a == b) continue;
            // Records compare their port arrays by reference: compare those by content.
            if (!a.Ports.SequenceEqual(b.Ports) || a with { Ports = b.Ports } != b) return false;
        }
        return true;
    }

    private readonly record struct BackendKey(string Definition, XdsSettings Settings, string Mesh);

    private sealed record BackendEntry(BackendKey Key, IReadOnlyList<Endpoint> Endpoints, BackendResources Resources);

    private readonly record struct FrameKey(string Service, string Backends, XdsSettings Settings, string Mesh);

    private sealed record FrameEntry(FrameKey Key, FleetFrame Frame);
}

public readonly record struct CompileCounts(long BackendsCompiled, long BackendsReused, long FramesCompiled, long FramesReused);

/// <summary>
/// A sidecar fleet's resources that do not depend on any endpoint: its own clusters, its listeners, its route table,
/// and what is wrong with them.
/// </summary>
internal sealed record FleetFrame(IReadOnlyList<XdsResource> OwnClusters, IReadOnlyList<XdsResource> Listeners, XdsResource Routes, IReadOnlyList<string> Problems);
