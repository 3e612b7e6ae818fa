using Mesh.Core.Model;

namespace Mesh.Core.Compile;

public static class EndpointPorts
{
    /// <summary>
    /// Which port of an endpoint carries the service: awsvpc tasks report none (the service's port);
    /// bridge and host tasks map the container port to a host port; slices name their ports.
    /// </summary>
    public static int? Resolve(ServiceDefinition service, Endpoint endpoint)
    {
        if (endpoint.Ports.IsDefaultOrEmpty) return service.Port;
        if (service.Workload?.PortName is { } portName)
            return endpoint.Ports.FirstOrDefault(p => p.Name == portName)?.Port;
        if (endpoint.Ports.FirstOrDefault(p => p.ContainerPort == service.Port) is { } binding) return binding.Port;
        if (endpoint.Ports.Any(p => p.ContainerPort is null && p.Port == service.Port)) return service.Port;
        return endpoint.Ports is [{ ContainerPort: null } only] ? only.Port : null;
    }
}
