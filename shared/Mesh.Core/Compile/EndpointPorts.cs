using Mesh.Core.Model;

namespace Mesh.Core.Compile;

public static class EndpointPorts
{
    /// <summary>Which port of an endpoint carries the service's main port.</summary>
    public static int? Resolve(ServiceDefinition service, Endpoint endpoint) => Resolve(service.Ports.First(), endpoint, main: true);

    /// <summary>
    /// Which port of an endpoint carries <paramref name="port"/>: awsvpc tasks report none (the port itself);
    /// bridge and host tasks map the container port to a host port; slices name their ports. An endpoint with one
    /// unnamed port serves the main port on it.
    /// </summary>
    public static int? Resolve(ServicePort port, Endpoint endpoint, bool main)
    {
        if (endpoint.Ports.IsDefaultOrEmpty) return port.Port;
        if (port.PortName is { } portName)
            return endpoint.Ports.FirstOrDefault(p => p.Name == portName)?.Port;
        if (endpoint.Ports.FirstOrDefault(p => p.ContainerPort == port.Port) is { } binding) return binding.Port;
        if (endpoint.Ports.Any(p => p.ContainerPort is null && p.Port == port.Port)) return port.Port;
        return main && endpoint.Ports is [{ ContainerPort: null } only] ? only.Port : null;
    }
}
