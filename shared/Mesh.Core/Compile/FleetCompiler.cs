using Mesh.Core.Model;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Compile;

/// <summary>
/// Compiles one fleet: a pure function from its service, its backends and their endpoints to a checked
/// snapshot of Envoy v3 resources. Same inputs, same bytes, same version.
/// </summary>
public static class FleetCompiler
{
    /// <param name="memory">Keeps compiled pieces between calls, so that unchanged inputs are not compiled again (same bytes either way).</param>
    public static CompileResult Compile(FleetInputs inputs, XdsSettings settings, CompileMemory? memory = null)
    {
        if (inputs.Service.DataPlane == DataPlane.ProxylessGrpc) return ProxylessCompiler.Compile(inputs, settings.ForMesh(inputs.Settings));
        var service = inputs.Service;
        var meshSettings = settings.ForMesh(inputs.Settings);
        using var json = new EnvoyJson();
        var backends = inputs.Backends.DistinctBy(b => b.Name, StringComparer.Ordinal).OrderBy(b => b.Name, StringComparer.Ordinal).ToList();
        var frame = memory is null
            ? CompileFrame(json, inputs, backends, meshSettings)
            : memory.Frame(inputs, backends, settings, () => CompileFrame(json, inputs, backends, meshSettings));
        var clusters = new List<XdsResource>(frame.OwnClusters);
        var loadAssignments = new List<XdsResource>();
        var warnings = new List<string>();
        foreach (var backend in backends.Where(b => b.Definition is not null))
        {
            var compiled = Backend(json, backend, settings, inputs.Settings, memory);
            clusters.AddRange(compiled.Clusters);
            loadAssignments.AddRange(compiled.LoadAssignments);
            warnings.AddRange(compiled.Warnings);
        }
        // The fleet's own endpoints, for the bootstrap's local cluster (zone-aware routing needs them).
        loadAssignments.Add(EndpointResources.LoadAssignment(json, ResourceNames.LocalCluster(service.Name), EndpointResources.Select(service, inputs.OwnEndpoints, [])));

        var snapshot = new FleetSnapshot(service.Fleet,
        [
            new ResourceSet(XdsType.Clusters, clusters),
            new ResourceSet(XdsType.Endpoints, loadAssignments),
            new ResourceSet(XdsType.Listeners, frame.Listeners),
            new ResourceSet(XdsType.Routes, [frame.Routes]),
        ]);
        var problems = frame.Problems.Concat(ConsistencyProblems(snapshot)).ToList();
        return problems.Count == 0 ? new Compiled(snapshot, warnings) : new Refused(service.Fleet, problems);
    }

    /// <summary>What of a sidecar fleet depends on definitions and settings only: its own clusters, its listeners and routes.</summary>
    private static FleetFrame CompileFrame(EnvoyJson json, FleetInputs inputs, IReadOnlyList<BackendInputs> backends, XdsSettings settings)
    {
        var service = inputs.Service;
        var egress = inputs.Settings.Egress;
        var observe = FleetObservability.Of(service, inputs.Settings.Observability);
        var problems = new List<string>();
        var clusters = service.Ports.Select(p => ClusterResources.Inbound(json, p, settings)).Append(ClusterResources.Passthrough(json, settings)).ToList();
        if (egress.Mode == EgressMode.DropAll) clusters.Add(ClusterResources.Blackhole(json, settings));
        if (ObservabilityResources.Collector(json, observe, settings) is { } collector) clusters.Add(collector);
        var listeners = new List<XdsResource> { ListenerResources.Inbound(json, service, settings, observe) };
        var backendPorts = new List<BackendPort>();
        foreach (var backend in backends)
        {
            if (backend.Definition is not { } definition)
            {
                problems.Add($"backend '{backend.Name}' is not a service of mesh '{service.Mesh}'");
                continue;
            }
            backendPorts.AddRange(BackendPort.Of(definition));
            if (definition.Protocol == ServiceProtocol.Tcp) listeners.Add(ListenerResources.OutboundTcp(json, definition, observe));
        }
        var chains = OutboundChains.Plan(backendPorts, egress, settings);
        problems.AddRange(chains.GroupBy(c => c.Key).Where(g => g.Count() > 1)
            .Select(g => $"two outbound filter chains match the same connections ({g.Key}): {string.Join(", ", g.Select(c => c.Cluster ?? "http"))}"));
        listeners.Insert(1, ListenerResources.Outbound(json, chains, egress, settings, observe));
        var routes = RouteResources.Outbound(json, [.. backendPorts.Where(p => !p.IsTcp)], egress, problems);
        return new FleetFrame(clusters, listeners, routes, problems);
    }

    /// <summary>A backend's resources, from memory when its inputs are unchanged.</summary>
    internal static BackendResources Backend(EnvoyJson json, BackendInputs backend, XdsSettings settings, MeshSettings mesh, CompileMemory? memory)
    {
        return memory is null
            ? CompileBackend(json, backend, settings.ForMesh(mesh))
            : memory.Backend(backend, settings, mesh, () => CompileBackend(json, backend, settings.ForMesh(mesh)));
    }

    /// <summary>The consistency check of a fleet's snapshot: its own endpoints are named by its bootstrap's local cluster, not by a cluster of the snapshot.</summary>
    public static IReadOnlyList<string> ConsistencyProblems(FleetSnapshot snapshot) =>
        SnapshotConsistency.Check(snapshot, new HashSet<string>(StringComparer.Ordinal) { ResourceNames.LocalCluster(snapshot.Fleet.Service) });

    /// <summary>A backend's clusters and load assignments: the same in every fleet that calls it.</summary>
    internal static BackendResources CompileBackend(EnvoyJson json, BackendInputs backend, XdsSettings settings)
    {
        var definition = backend.Definition!;
        var warnings = new List<string>();
        var clusters = new List<XdsResource>();
        var loadAssignments = new List<XdsResource>();
        foreach (var port in BackendPort.Of(definition))
        {
            var served = EndpointResources.Select(definition, port.Port, port.Main, backend.Endpoints, warnings);
            AddCluster(port, port.Cluster, served);
            if (!port.Main) continue;
            foreach (var subset in definition.Subsets.OrderBy(s => s.Name, StringComparer.Ordinal))
                AddCluster(port, ResourceNames.OutboundCluster(definition.Name, subset.Name), served.Where(e => e.Version == subset.Version));
        }
        return new BackendResources(clusters, loadAssignments, warnings);

        void AddCluster(BackendPort port, string name, IEnumerable<ServedEndpoint> endpoints)
        {
            clusters.Add(ClusterResources.Outbound(json, name, definition, port.Port, port.Main, settings));
            loadAssignments.Add(EndpointResources.LoadAssignment(json, name, endpoints));
        }
    }
}

public sealed record BackendResources(IReadOnlyList<XdsResource> Clusters, IReadOnlyList<XdsResource> LoadAssignments, IReadOnlyList<string> Warnings);
