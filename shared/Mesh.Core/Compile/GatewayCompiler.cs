using Mesh.Core.Model;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Compile;

/// <summary>
/// Compiles a gateway's fleet: a listener and a route table per gateway listener, and the clusters and endpoints of
/// every service its routes send to, shared with the sidecar fleets that call the same services (so mTLS to a
/// service, its balancing and its limits are the same from a gateway as from a sidecar). Pure, like <see cref="FleetCompiler"/>.
/// </summary>
public static class GatewayCompiler
{
    public static CompileResult Compile(GatewayInputs inputs, XdsSettings settings, CompileMemory? memory = null)
    {
        var gateway = inputs.Gateway;
        var baseSettings = settings;
        settings = settings.ForMesh(inputs.Settings);
        var observe = FleetObservability.Of(gateway.Fleet, gateway.Observability, inputs.Settings.Observability);
        var problems = new List<string>();
        var warnings = new List<string>();
        var services = inputs.Targets.Where(t => t.Definition is not null).ToDictionary(t => t.Name, t => t.Definition!, StringComparer.Ordinal);
        foreach (var route in gateway.Routes)
        {
            if (!services.TryGetValue(route.Target.Service, out var service))
                problems.Add($"route '{route.Name}' targets '{route.Target.Service}', which is not a service of mesh '{gateway.Mesh}'");
            else if (route.Target.Port is { } port && !service.Ports.Any(p => p.Port == port))
                problems.Add($"route '{route.Name}' targets port {port}, which service '{service.Name}' does not listen on");
        }
        if (problems.Count > 0) return new Refused(gateway.Fleet, problems);

        using var json = new EnvoyJson();
        var clusters = new List<XdsResource>();
        if (ObservabilityResources.Collector(json, observe, settings) is { } collector) clusters.Add(collector);
        var loadAssignments = new List<XdsResource>();
        foreach (var target in inputs.Targets.Where(t => t.Definition is not null).DistinctBy(t => t.Name, StringComparer.Ordinal).OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            var compiled = FleetCompiler.Backend(json, target, baseSettings, inputs.Settings, memory);
            clusters.AddRange(compiled.Clusters);
            loadAssignments.AddRange(compiled.LoadAssignments);
            warnings.AddRange(compiled.Warnings);
        }
        // The bootstrap's local cluster: a gateway has no endpoints of its own to balance by zone against.
        loadAssignments.Add(EndpointResources.LoadAssignment(json, ResourceNames.LocalCluster(gateway.Name), []));
        var listeners = gateway.Listeners.Select(l => ListenerResources.Gateway(json, l, settings, observe)).ToList();
        var routes = gateway.Listeners
            .Select(l => RouteResources.Gateway(json, l, GatewayRouting.RoutesOn(gateway, l), services))
            .ToList();

        var snapshot = new FleetSnapshot(gateway.Fleet,
        [
            new ResourceSet(XdsType.Clusters, clusters),
            new ResourceSet(XdsType.Endpoints, loadAssignments),
            new ResourceSet(XdsType.Listeners, listeners),
            new ResourceSet(XdsType.Routes, routes),
        ]);
        problems.AddRange(FleetCompiler.ConsistencyProblems(snapshot));
        return problems.Count == 0 ? new Compiled(snapshot, warnings) : new Refused(gateway.Fleet, problems);
    }
}
