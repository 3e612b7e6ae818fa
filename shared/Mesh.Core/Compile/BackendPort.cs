using Mesh.Core.Model;

namespace Mesh.Core.Compile;

/// <summary>One port of a backend as a caller reaches it, through that port's cluster.</summary>
internal sealed record BackendPort(ServiceDefinition Backend, ServicePort Port, bool Main)
{
    public string Cluster => Main ? ResourceNames.OutboundCluster(Backend.Name) : ResourceNames.OutboundCluster(Backend.Name, Port.Port);

    public bool IsTcp => Port.Protocol == ServiceProtocol.Tcp;

    public static IEnumerable<BackendPort> Of(ServiceDefinition backend) => backend.Ports.Select((port, i) => new BackendPort(backend, port, i == 0));
}
