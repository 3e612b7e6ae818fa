using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace Mesh.Core.Model;

public enum ServiceProtocol
{
    [JsonStringEnumMemberName("http")] Http,
    [JsonStringEnumMemberName("http2")] Http2,
    [JsonStringEnumMemberName("grpc")] Grpc,
    [JsonStringEnumMemberName("tcp")] Tcp,
}

/// <summary>A named group of a service's endpoints selected by their version label (ECS task-definition revision, Kubernetes "version" label).</summary>
public sealed record Subset(string Name, string Version);

/// <summary>
/// A further port the application listens on, with its own protocol (App Mesh: a virtual node's further listeners).
/// Callers reach it by its port; the service's routes and subsets apply to its main port only.
/// </summary>
public sealed record ServicePort
{
    public int Port { get; init; }
    public ServiceProtocol Protocol { get; init; } = ServiceProtocol.Http;
    /// <summary>For EKS slices with several ports: the name of this one.</summary>
    public string? PortName { get; init; }
}

/// <summary>The platform identity a service's endpoints are recorded under.</summary>
public sealed record WorkloadSource
{
    public string Platform { get; init => field = value ?? ""; } = "";   // "ecs" or "eks"
    public string Cluster { get; init => field = value ?? ""; } = "";
    public string? Namespace { get; init; }       // eks only
    public string Service { get; init => field = value ?? ""; } = "";
    /// <summary>For EKS slices with several ports: the port name that carries this service's traffic.</summary>
    public string? PortName { get; init; }

    [JsonIgnore]
    public WorkloadKey Key => Platform == "eks"
        ? WorkloadKey.Eks(Cluster, Namespace ?? "default", Service)
        : WorkloadKey.Ecs(Cluster, Service);
}

/// <summary>
/// A service of the mesh: what it listens on, whom it may call, where its endpoints come from, and its routes
/// and policy. Fields have defaults rather than being required so that validation, not the parser, names
/// what is missing.
/// </summary>
public sealed record ServiceDefinition
{
    public string Mesh { get; init => field = value ?? ""; } = "";
    public string Name { get; init => field = value ?? ""; } = "";
    /// <summary>The port the application listens on inside its task or pod.</summary>
    public int Port { get; init; }
    public ServiceProtocol Protocol { get; init; } = ServiceProtocol.Http;
    /// <summary>Ports besides <see cref="Port"/> the application listens on.</summary>
    public ImmutableArray<ServicePort> AdditionalPorts { get; init => field = value.IsDefault ? [] : value; } = [];
    public ImmutableArray<string> Backends { get; init => field = value.IsDefault ? [] : value; } = [];
    public ImmutableArray<Subset> Subsets { get; init => field = value.IsDefault ? [] : value; } = [];
    /// <summary>Extra DNS names clients use for this service; the name and name:port are always routed.</summary>
    public ImmutableArray<string> Hostnames { get; init => field = value.IsDefault ? [] : value; } = [];
    public WorkloadSource? Workload { get; init; }
    public HealthCheck? HealthCheck { get; init; }
    /// <summary>
    /// Envoy (the default), or proxyless gRPC: the service's workloads are gRPC applications with gRPC's own xDS client,
    /// so its fleet is compiled for that client (a listener per backend with an api_listener, served over ADS only).
    /// </summary>
    public DataPlane DataPlane { get; init; } = DataPlane.Envoy;
    /// <summary>Who may fetch this fleet's configuration besides its own certificate's holder (see <see cref="Model.ProxyIdentities"/>).</summary>
    public ProxyIdentities ProxyIdentities { get; init => field = value ?? new(); } = new();

    /// <summary>Edited as its own resource (…/routes), so it is not part of the service's JSON; see StoredService.</summary>
    [JsonIgnore]
    public ImmutableArray<RouteRule> Routes { get; init => field = value.IsDefault ? [] : value; } = [];

    /// <summary>Edited as its own resource (…/policy), so it is not part of the service's JSON; see StoredService.</summary>
    [JsonIgnore]
    public ServicePolicy Policy { get; init => field = value ?? new(); } = new();

    [JsonIgnore]
    public FleetId Fleet => new(Mesh, Name);

    /// <summary>Every port the application listens on, its main port first.</summary>
    [JsonIgnore]
    public IEnumerable<ServicePort> Ports =>
        AdditionalPorts.Prepend(new ServicePort { Port = Port, Protocol = Protocol, PortName = Workload?.PortName });
}
