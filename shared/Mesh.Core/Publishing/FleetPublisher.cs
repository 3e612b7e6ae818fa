using Mesh.Core.Compile;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Resilience;
using Mesh.Core.Snapshots;
using Mesh.Core.Telemetry;

namespace Mesh.Core.Publishing;

public enum PublishStatus
{
    /// <summary>A new snapshot is the fleet's head.</summary>
    Published,
    /// <summary>The inputs compile to the snapshot the fleet already serves.</summary>
    Unchanged,
    /// <summary>The inputs do not make a configuration Envoy would accept; the fleet keeps serving its last snapshot.</summary>
    Refused,
    /// <summary>The fleet's service or gateway is no longer defined.</summary>
    NoSuchFleet,
}

public sealed record PublishOutcome(FleetId Fleet, PublishStatus Status, string? Version, string? PreviousVersion, IReadOnlyList<string> Messages)
{
    /// <summary>The fleet's head after publishing (Published or Unchanged).</summary>
    public FleetSnapshot? Snapshot { get; init; }

    public int SnapshotBytes => Snapshot?.TotalBytes ?? 0;
}

/// <summary>
/// What a fleet would compile to (null when its service would not exist), from inputs read after
/// <paramref name="Head"/>: so a commit guarded by that head is as safe as a publish.
/// </summary>
public sealed record FleetPreview(FleetId Fleet, SnapshotHead? Head, MeshStamp CompiledFrom, CompileResult? Result);

/// <summary>
/// Recompiles fleets and moves their heads. All heads are read before any input, and each commit is guarded by
/// the head's sequence: a commit from inputs older than another writer's commit fails and is compiled again.
/// </summary>
public sealed class FleetPublisher(IDesiredStateStore desired, IEndpointStore endpoints, ISnapshotStore snapshots, XdsSettings settings, TimeProvider clock, GuardedRetry retry)
{
    /// <summary>What this publisher compiled before: a change recompiles only the pieces whose inputs it changed.</summary>
    public CompileMemory Memory { get; } = new();

    /// <summary>The fleets that call any service whose endpoints come from these workloads.</summary>
    public async Task<IReadOnlyList<FleetId>> FleetsCallingAsync(IEnumerable<WorkloadKey> workloads, CancellationToken cancellationToken)
    {
        var fleets = new SortedSet<FleetId>(FleetOrder.Instance);
        var meshes = new Dictionary<string, MeshState?>(StringComparer.Ordinal);
        foreach (var workload in workloads.Distinct())
        {
            foreach (var service in await desired.FindByWorkloadAsync(workload, cancellationToken))
            {
                if (!meshes.TryGetValue(service.Mesh, out var mesh))
                    meshes[service.Mesh] = mesh = await desired.GetMeshAsync(service.Mesh, cancellationToken);
                if (mesh is null) continue;
                fleets.UnionWith(mesh.FleetsCalling(service.Service));
                // Its own fleet too: its proxies learn their own endpoints for zone-aware routing.
                if (mesh.Services.ContainsKey(service.Service)) fleets.Add(service);
            }
        }
        return [.. fleets];
    }

    /// <summary>
    /// Compiles each fleet from the stored inputs and commits it. With <paramref name="onlyLagging"/> a fleet whose head
    /// was compiled from the current mesh and holds what the inputs compile to is left alone (no write): the reconciler's mode.
    /// </summary>
    public async Task<IReadOnlyList<PublishOutcome>> PublishAsync(IEnumerable<FleetId> fleets, CancellationToken cancellationToken, bool onlyLagging = false)
    {
        var outcomes = new List<PublishOutcome>();
        var pending = fleets.Distinct().ToList();
        if (pending.Count == 0) return outcomes;
        using var span = PipelineTracing.Start(PipelineTracing.Publish);
        span?.SetTag("mesh.fleets", pending.Count);
        await retry.RunAsync($"fleets {string.Join(", ", pending)}", async _ =>
        {
            var heads = new Dictionary<FleetId, SnapshotHead?>();
            foreach (var fleet in pending) heads[fleet] = await snapshots.GetHeadAsync(fleet, cancellationToken);
            var inputs = new InputReader(desired, endpoints);
            await inputs.PrefetchAsync(pending, cancellationToken);
            var conflicted = new List<FleetId>();
            foreach (var fleet in pending)
            {
                var outcome = await CompileAndCommitAsync(fleet, heads[fleet], inputs, onlyLagging, cancellationToken);
                if (outcome is null) conflicted.Add(fleet);
                else outcomes.Add(outcome);
            }
            pending = conflicted;
            return pending.Count == 0 ? outcomes : null;
        }, cancellationToken);
        return outcomes;
    }

    /// <summary>Compiles fleets as they would be if <paramref name="mesh"/> were stored, with the endpoints recorded now; commits nothing.</summary>
    public async Task<IReadOnlyList<FleetPreview>> PreviewAsync(MeshState mesh, IReadOnlyList<FleetId> fleets, CancellationToken cancellationToken)
    {
        var heads = new List<SnapshotHead?>();
        foreach (var fleet in fleets) heads.Add(await snapshots.GetHeadAsync(fleet, cancellationToken));
        var inputs = new InputReader(desired, endpoints, mesh);
        await inputs.PrefetchAsync(fleets, cancellationToken);
        var previews = new List<FleetPreview>();
        for (var i = 0; i < fleets.Count; i++)
        {
            var fleetInputs = await inputs.ReadAsync(fleets[i], cancellationToken);
            previews.Add(new FleetPreview(fleets[i], heads[i], mesh.Stamp, fleetInputs is null ? null : Compile(fleets[i], fleetInputs)));
        }
        return previews;
    }

    /// <summary>
    /// Commits previews once the mesh they were compiled from is stored, each guarded by the head read before its
    /// inputs; a fleet another writer committed in between is published again from fresh inputs.
    /// </summary>
    public async Task<IReadOnlyList<PublishOutcome>> CommitAsync(IReadOnlyList<FleetPreview> previews, CancellationToken cancellationToken)
    {
        using var span = PipelineTracing.Start(PipelineTracing.Commit);
        span?.SetTag("mesh.fleets", previews.Count);
        var outcomes = new List<PublishOutcome>();
        var stale = new List<FleetId>();
        foreach (var preview in previews)
        {
            var outcome = preview.Result switch
            {
                null => new PublishOutcome(preview.Fleet, PublishStatus.NoSuchFleet, null, preview.Head?.Version, []),
                Refused refused => new PublishOutcome(preview.Fleet, PublishStatus.Refused, null, preview.Head?.Version, refused.Reasons),
                Compiled compiled => await TryCommitAsync(compiled, preview.Head, preview.CompiledFrom, cancellationToken),
                _ => throw new InvalidOperationException("unknown compile result"),
            };
            if (outcome is null) stale.Add(preview.Fleet);
            else outcomes.Add(outcome);
        }
        outcomes.AddRange(await PublishAsync(stale, cancellationToken));
        return outcomes;
    }

    private async Task<PublishOutcome?> CompileAndCommitAsync(FleetId fleet, SnapshotHead? head, InputReader inputs, bool onlyLagging, CancellationToken cancellationToken)
    {
        var fleetInputs = await inputs.ReadAsync(fleet, cancellationToken);
        if (fleetInputs is null) return new PublishOutcome(fleet, PublishStatus.NoSuchFleet, null, head?.Version, []);
        switch (Compile(fleet, fleetInputs))
        {
            case Refused refused:
                return new PublishOutcome(fleet, PublishStatus.Refused, null, head?.Version, refused.Reasons);
            case Compiled compiled when onlyLagging && head is not null && head.CompiledFrom == inputs.StampOf(fleet.Mesh) && head.Version == compiled.Snapshot.Version:
                return new PublishOutcome(fleet, PublishStatus.Unchanged, head.Version, head.Version, compiled.Warnings) { Snapshot = compiled.Snapshot };
            case Compiled compiled:
                return await TryCommitAsync(compiled, head, inputs.StampOf(fleet.Mesh), cancellationToken);
            default:
                throw new InvalidOperationException("unknown compile result");
        }
    }

    private CompileResult Compile(FleetId fleet, CompileInputs fleetInputs)
    {
        using var span = PipelineTracing.Start(PipelineTracing.Compile);
        span?.SetTag("mesh.fleet", fleet.ToString());
        return fleetInputs.Compile(settings, Memory);
    }

    /// <summary>Null when another writer moved the head first.</summary>
    private async Task<PublishOutcome?> TryCommitAsync(Compiled compiled, SnapshotHead? head, MeshStamp compiledFrom, CancellationToken cancellationToken)
    {
        using var span = PipelineTracing.Start(PipelineTracing.Commit);
        span?.SetTag("mesh.fleet", compiled.Snapshot.Fleet.ToString());
        var snapshot = compiled.Snapshot;
        if (!await snapshots.TryCommitAsync(snapshot, head?.Sequence ?? 0, compiledFrom, clock.GetUtcNow(), cancellationToken)) return null;
        var status = snapshot.Version == head?.Version ? PublishStatus.Unchanged : PublishStatus.Published;
        return new PublishOutcome(snapshot.Fleet, status, snapshot.Version, head?.Version, compiled.Warnings) { Snapshot = snapshot };
    }

    /// <summary>
    /// Reads each mesh and each workload's endpoints once per attempt, however many fleets share them; so every
    /// fleet of the attempt sees the same backends.
    /// </summary>
    private sealed class InputReader(IDesiredStateStore desired, IEndpointStore endpoints, MeshState? proposed = null)
    {
        private readonly Dictionary<string, MeshState?> _meshes = proposed is null ? new(StringComparer.Ordinal) : new(StringComparer.Ordinal) { [proposed.Name] = proposed };
        private readonly Dictionary<WorkloadKey, IReadOnlyList<Endpoint>> _endpoints = [];

        /// <summary>Reads the meshes of these fleets and, in one call, the endpoints of every backend they call.</summary>
        public async Task PrefetchAsync(IEnumerable<FleetId> fleets, CancellationToken cancellationToken)
        {
            var workloads = new HashSet<WorkloadKey>();
            foreach (var fleet in fleets)
            {
                if (await MeshAsync(fleet.Mesh, cancellationToken) is not { } mesh) continue;
                IEnumerable<string> backends;
                if (mesh.Services.TryGetValue(fleet.Service, out var service))
                {
                    if (service.Workload is { } own && !_endpoints.ContainsKey(own.Key)) workloads.Add(own.Key);
                    backends = service.Backends;
                }
                else if (mesh.Gateways.TryGetValue(fleet.Service, out var gateway))
                {
                    backends = gateway.Targets;
                }
                else
                {
                    continue;
                }
                foreach (var backend in backends)
                {
                    if (mesh.Services.GetValueOrDefault(backend)?.Workload is { } source && !_endpoints.ContainsKey(source.Key)) workloads.Add(source.Key);
                }
            }
            if (workloads.Count == 0) return;
            foreach (var (workload, live) in await endpoints.ListLiveAsync(workloads, cancellationToken))
                _endpoints[workload] = [.. live.SelectMany(o => o.Endpoints)];
        }

        /// <summary>A service's or a gateway's inputs; null when the mesh has no fleet of that name.</summary>
        public async Task<CompileInputs?> ReadAsync(FleetId fleet, CancellationToken cancellationToken)
        {
            var mesh = await MeshAsync(fleet.Mesh, cancellationToken);
            if (mesh is null) return null;
            if (mesh.Gateways.TryGetValue(fleet.Service, out var gateway))
                return new GatewayInputs(gateway, await BackendsAsync(mesh, gateway.Targets, cancellationToken)) { Settings = mesh.Settings };
            if (!mesh.Services.TryGetValue(fleet.Service, out var service)) return null;
            var own = service.Workload is { } ownSource ? await EndpointsAsync(ownSource.Key, cancellationToken) : [];
            return new FleetInputs(service, await BackendsAsync(mesh, service.Backends, cancellationToken)) { OwnEndpoints = own, Settings = mesh.Settings };
        }

        private async Task<List<BackendInputs>> BackendsAsync(MeshState mesh, IEnumerable<string> names, CancellationToken cancellationToken)
        {
            var backends = new List<BackendInputs>();
            foreach (var name in names)
            {
                var definition = mesh.Services.GetValueOrDefault(name);
                var recorded = definition?.Workload is { } source ? await EndpointsAsync(source.Key, cancellationToken) : [];
                backends.Add(new BackendInputs(name, definition, recorded));
            }
            return backends;
        }

        /// <summary>The stamp of a mesh this reader has read (a fleet it read inputs for).</summary>
        public MeshStamp StampOf(string mesh) => _meshes[mesh]!.Stamp;

        private async Task<MeshState?> MeshAsync(string name, CancellationToken cancellationToken)
        {
            if (!_meshes.TryGetValue(name, out var mesh)) _meshes[name] = mesh = await desired.GetMeshAsync(name, cancellationToken);
            return mesh;
        }

        private async Task<IReadOnlyList<Endpoint>> EndpointsAsync(WorkloadKey workload, CancellationToken cancellationToken)
        {
            if (!_endpoints.TryGetValue(workload, out var list))
            {
                var live = await endpoints.ListLiveAsync(workload, cancellationToken);
                _endpoints[workload] = list = [.. live.SelectMany(o => o.Endpoints)];
            }
            return list;
        }
    }
}

/// <summary>Orders fleets by mesh, then service, ordinally.</summary>
public sealed class FleetOrder : IComparer<FleetId>
{
    public static FleetOrder Instance { get; } = new();

    public int Compare(FleetId x, FleetId y)
    {
        var byMesh = string.CompareOrdinal(x.Mesh, y.Mesh);
        return byMesh != 0 ? byMesh : string.CompareOrdinal(x.Service, y.Service);
    }
}
