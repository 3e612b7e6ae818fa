using System.Globalization;
using Mesh.Core.Compile;
using Mesh.Core.Endpoints;
using Mesh.Core.Model;
using Mesh.Core.Ports;

namespace Mesh.Core.Pipeline;

/// <summary>How a mesh service and its endpoints appear in the service registry.</summary>
public static class RegistryInstances
{
    /// <summary>Marks the instances this control plane registered (the value is the task or slice they came from); only those are ever deregistered.</summary>
    public const string SourceAttribute = "MESH_SOURCE";
    public const string RevisionAttribute = "MESH_REVISION";
    public const string ZoneAttribute = "AVAILABILITY_ZONE";

    /// <summary>"checkout-api.shop": one registry service per mesh service, so two meshes can both have a checkout-api.</summary>
    public static string ServiceName(FleetId service) => $"{service.Service}.{service.Mesh}";

    /// <summary>
    /// The instances a service should have: every endpoint that can take traffic (an address, a port that resolves,
    /// healthy or not yet checked), by endpoint id. Draining and unhealthy endpoints are left out, so they are deregistered.
    /// </summary>
    public static IReadOnlyList<RegistryInstance> For(ServiceDefinition service, IEnumerable<SourceObservation> live)
    {
        var instances = new SortedDictionary<string, RegistryInstance>(StringComparer.Ordinal);
        foreach (var observation in live)
        {
            foreach (var endpoint in observation.Endpoints)
            {
                if (endpoint is not { Address: { } address, Health: EndpointHealth.Healthy or EndpointHealth.Unknown }) continue;
                if (EndpointPorts.Resolve(service, endpoint) is not { } port) continue;
                var attributes = new SortedDictionary<string, string>(StringComparer.Ordinal)
                {
                    [address.Contains(':', StringComparison.Ordinal) ? "AWS_INSTANCE_IPV6" : "AWS_INSTANCE_IPV4"] = address,
                    ["AWS_INSTANCE_PORT"] = port.ToString(CultureInfo.InvariantCulture),
                    [SourceAttribute] = observation.SourceId,
                };
                // Cloud Map refuses empty attribute values: an unlabelled pod or an unknown zone is left out.
                if (endpoint.Version.Length > 0) attributes[RevisionAttribute] = endpoint.Version;
                if (endpoint.Zone.Length > 0) attributes[ZoneAttribute] = endpoint.Zone;
                instances[endpoint.Id] = new RegistryInstance(endpoint.Id, attributes);
            }
        }
        return [.. instances.Values];
    }
}

/// <summary>What to register and deregister to make a registry service hold exactly the desired instances.</summary>
public sealed record RegistryPlan(IReadOnlyList<RegistryInstance> Register, IReadOnlyList<string> Deregister)
{
    public bool IsEmpty => Register.Count == 0 && Deregister.Count == 0;

    /// <summary>Instances registered by anyone else (no <see cref="RegistryInstances.SourceAttribute"/>) are never deregistered.</summary>
    public static RegistryPlan Between(IReadOnlyList<RegistryInstance> desired, IReadOnlyList<RegistryInstance> registered)
    {
        var current = registered.ToDictionary(i => i.Id, StringComparer.Ordinal);
        var wanted = desired.Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
        var register = desired.Where(i => !current.TryGetValue(i.Id, out var existing) || !SameAttributes(i, existing)).ToList();
        var deregister = registered
            .Where(i => !wanted.Contains(i.Id) && i.Attributes.ContainsKey(RegistryInstances.SourceAttribute))
            .Select(i => i.Id).Order(StringComparer.Ordinal).ToList();
        return new RegistryPlan(register, deregister);
    }

    private static bool SameAttributes(RegistryInstance a, RegistryInstance b) =>
        a.Attributes.Count == b.Attributes.Count && a.Attributes.All(p => b.Attributes.TryGetValue(p.Key, out var value) && value == p.Value);
}

/// <summary>What one registry service needed: how many instances were registered and deregistered.</summary>
public sealed record RegistrySyncResult(string Service, int Registered, int Deregistered);

/// <summary>
/// Makes the registry agree with the ledger. It compares with what the registry holds rather than applying the event's
/// delta, so redeliveries, reordering and a sync that failed half-way all converge on the next run.
/// </summary>
public sealed class RegistrySync(IServiceRegistry registry, IDesiredStateStore desired, IEndpointStore endpoints)
{
    /// <summary>Every mesh service whose endpoints come from <paramref name="workload"/>.</summary>
    public async Task<IReadOnlyList<RegistrySyncResult>> SyncWorkloadAsync(WorkloadKey workload, CancellationToken cancellationToken)
    {
        var services = await desired.FindByWorkloadAsync(workload, cancellationToken);
        if (services.Count == 0) return [];
        var live = await endpoints.ListLiveAsync(workload, cancellationToken);
        var results = new List<RegistrySyncResult>();
        foreach (var service in services)
        {
            var mesh = await desired.GetMeshAsync(service.Mesh, cancellationToken);
            if (mesh?.Services.GetValueOrDefault(service.Service) is not { } definition) continue;
            results.Add(await ApplyAsync(service, RegistryInstances.For(definition, live), cancellationToken));
        }
        return results;
    }

    /// <summary>A service as an edit left it: its workload's endpoints, or none if it was deleted or lost its workload.</summary>
    public async Task<RegistrySyncResult> SyncServiceAsync(FleetId service, ServiceDefinition? definition, CancellationToken cancellationToken)
    {
        var live = definition?.Workload is { } source ? await endpoints.ListLiveAsync(source.Key, cancellationToken) : [];
        return await ApplyAsync(service, definition is null ? [] : RegistryInstances.For(definition, live), cancellationToken);
    }

    private async Task<RegistrySyncResult> ApplyAsync(FleetId service, IReadOnlyList<RegistryInstance> desiredInstances, CancellationToken cancellationToken)
    {
        var name = RegistryInstances.ServiceName(service);
        var plan = RegistryPlan.Between(desiredInstances, await registry.ListInstancesAsync(name, cancellationToken));
        foreach (var instance in plan.Register) await registry.RegisterAsync(name, instance, cancellationToken);
        foreach (var id in plan.Deregister) await registry.DeregisterAsync(name, id, cancellationToken);
        return new RegistrySyncResult(name, plan.Register.Count, plan.Deregister.Count);
    }
}
