using System.Collections.Immutable;

namespace Mesh.Core.Model;

/// <summary>How an endpoint may take traffic. Maps one to one onto Envoy's HealthStatus.</summary>
public enum EndpointHealth { Unknown, Healthy, Unhealthy, Draining }

/// <summary>
/// A port an endpoint exposes, as its platform reports it: an ECS bridge/host network binding
/// (container port to host port) or an EndpointSlice port (name and port).
/// </summary>
public sealed record EndpointPort(string? Name, int? ContainerPort, int Port);

/// <summary>One task or pod that serves a workload.</summary>
public sealed record Endpoint
{
    /// <summary>Task id or pod uid; also the Cloud Map instance id.</summary>
    public required string Id { get; init; }
    /// <summary>Null while the platform has not assigned one (a PENDING task) or it could not be resolved.</summary>
    public string? Address { get; init; }
    /// <summary>Empty when the endpoint serves on the service's own port (awsvpc tasks).</summary>
    public ImmutableArray<EndpointPort> Ports { get; init => field = value.IsDefault ? [] : value; } = [];
    public string Region { get; init; } = "";
    public string Zone { get; init; } = "";
    /// <summary>Version label: ECS task-definition revision or the pod's version label.</summary>
    public string Version { get; init; } = "";
    public EndpointHealth Health { get; init; }
}
