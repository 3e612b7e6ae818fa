namespace Mesh.Core.Model;

/// <summary>
/// Where a service's endpoints come from on its platform: an ECS service in a cluster, or a Kubernetes
/// Service in a namespace of an EKS cluster. Endpoints are recorded by workload, independent of any mesh,
/// so a service definition can be created before or after its first events.
/// </summary>
public readonly record struct WorkloadKey(string Value)
{
    public static WorkloadKey Ecs(string cluster, string service) => new($"ecs:{cluster}/{service}");

    public static WorkloadKey Eks(string cluster, string @namespace, string service) => new($"eks:{cluster}/{@namespace}/{service}");

    public override string ToString() => Value;
}
