using Mesh.Core.Model;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Compile;

/// <summary>
/// Compiles one fleet: a pure function from its service, its backends and their endpoints to a checked
/// snapshot of Envoy v3 resources. Same inputs, same bytes, same version.
/// </summary>
public static class FleetCompiler
{
    /// <param name="backends">Shares each backend's clusters and load assignments between fleets compiled from the same inputs.</param>
    public static CompileResult Compile(FleetInputs inputs, XdsSettings settings, BackendResourceCache? backends = null)
    {
        if (inputs.Service.DataPlane == DataPlane.ProxylessGrpc) return ProxylessCompiler.Compile(inputs, settings.ForMesh(inputs.Settings));
        var service = inputs.Service;
        var egress = inputs.Settings.Egress;
        settings = settings.ForMesh(inputs.Settings);
        var observe = FleetObservability.Of(service, inputs.Settings.Observability);
        var problems = new List<string>();
        var warnings = new List<string>();
        using var json = new EnvoyJson();
        var clusters = service.Ports.Select(p => ClusterResources.Inbound(json, p, settings)).Append(ClusterResources.Passthrough(json, settings)).ToList();
        if (egress.Mode == EgressMode.DropAll) clusters.Add(ClusterResources.Blackhole(json, settings));
        if (ObservabilityResources.Collector(json, observe, settings) is { } collector) clusters.Add(collector);
        var loadAssignments = new List<XdsResource>();
        var listeners = new List<XdsResource> { ListenerResources.Inbound(json, service, settings, observe) };
        var backendPorts = new List<BackendPort>();

        foreach (var backend in inputs.Backends.DistinctBy(b => b.Name, StringComparer.Ordinal).OrderBy(b => b.Name, StringComparer.Ordinal))
        {
            if (backend.Definition is not { } definition)
            {
                problems.Add($"backend '{backend.Name}' is not a service of mesh '{service.Mesh}'");
                continue;
            }
            var compiled = backends is null ? CompileBackend(json, backend, settings) : backends.GetOrAdd(backend, b => CompileBackend(json, b, settings));
            clusters.AddRange(compiled.Clusters);
            loadAssignments.AddRange(compiled.LoadAssignments);
            warnings.AddRange(compiled.Warnings);
            backendPorts.AddRange(BackendPort.Of(definition));
            if (definition.Protocol == ServiceProtocol.Tcp) listeners.Add(ListenerResources.OutboundTcp(json, definition, observe));
        }
        var chains = OutboundChains.Plan(backendPorts, egress, settings);
        problems.AddRange(chains.GroupBy(c => c.Key).Where(g => g.Count() > 1)
            .Select(g => $"two outbound filter chains match the same connections ({g.Key}): {string.Join(", ", g.Select(c => c.Cluster ?? "http"))}"));
        listeners.Insert(1, ListenerResources.Outbound(json, chains, egress, settings, observe));
        var routes = RouteResources.Outbound(json, [.. backendPorts.Where(p => !p.IsTcp)], egress, problems);
        // The fleet's own endpoints, for the bootstrap's local cluster (zone-aware routing needs them).
        loadAssignments.Add(EndpointResources.LoadAssignment(json, ResourceNames.LocalCluster(service.Name), EndpointResources.Select(service, inputs.OwnEndpoints, [])));

        var snapshot = new FleetSnapshot(service.Fleet,
        [
            new ResourceSet(XdsType.Clusters, clusters),
            new ResourceSet(XdsType.Endpoints, loadAssignments),
            new ResourceSet(XdsType.Listeners, listeners),
            new ResourceSet(XdsType.Routes, [routes]),
        ]);
        problems.AddRange(ConsistencyProblems(snapshot));
        return problems.Count == 0 ? new Compiled(snapshot, warnings) : new Refused(service.Fleet, problems);
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

/// <summary>
/// Compiled backend resources by backend, valid for one set of inputs (one publish attempt): the caller
/// guarantees every fleet compiled with it saw the same definitions and endpoints.
/// </summary>
public sealed class BackendResourceCache
{
    private readonly Dictionary<FleetId, BackendResources> _byBackend = [];

    /// <summary>Keyed by mesh and name: one attempt may publish fleets of several meshes that each have a service of that name.</summary>
    internal BackendResources GetOrAdd(BackendInputs backend, Func<BackendInputs, BackendResources> compile)
    {
        var key = backend.Definition!.Fleet;
        if (!_byBackend.TryGetValue(key, out var resources)) _byBackend[key] = resources = compile(backend);
        return resources;
    }
}
