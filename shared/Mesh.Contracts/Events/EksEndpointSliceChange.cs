namespace Mesh.Contracts.Events;

/// <summary>
/// The detail of our "EKS EndpointSlice Change" event, published by the in-cluster forwarder for each watch
/// event on a discovery.k8s.io/v1 EndpointSlice. The schema is ours; the README documents it.
/// </summary>
public sealed record EksEndpointSliceChange
{
    public string? SchemaVersion { get; init; }
    public string? ClusterName { get; init; }
    /// <summary>ADDED, MODIFIED or DELETED.</summary>
    public string? WatchEventType { get; init; }
    public K8sEndpointSlice? EndpointSlice { get; init; }
    /// <summary>Optional: labels of the pods behind the slice, by pod uid, for version subsets.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>? PodLabels { get; init; }
}

public sealed record K8sEndpointSlice
{
    public K8sObjectMeta? Metadata { get; init; }
    public string? AddressType { get; init; }
    public IReadOnlyList<K8sEndpointPort>? Ports { get; init; }
    public IReadOnlyList<K8sEndpoint>? Endpoints { get; init; }
}

public sealed record K8sObjectMeta
{
    public string? Name { get; init; }
    public string? Namespace { get; init; }
    public string? Uid { get; init; }
    public long? Generation { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
}

public sealed record K8sEndpointPort(string? Name, string? Protocol, int? Port, string? AppProtocol);

public sealed record K8sEndpoint
{
    public IReadOnlyList<string>? Addresses { get; init; }
    public K8sEndpointConditions? Conditions { get; init; }
    public string? Zone { get; init; }
    public string? NodeName { get; init; }
    public K8sObjectReference? TargetRef { get; init; }
}

/// <summary>Kubernetes: a null ready means unknown, which consumers treat as ready.</summary>
public sealed record K8sEndpointConditions(bool? Ready, bool? Serving, bool? Terminating);

public sealed record K8sObjectReference(string? Kind, string? Namespace, string? Name, string? Uid);
