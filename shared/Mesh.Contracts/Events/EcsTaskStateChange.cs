using System.Text.Json.Serialization;

namespace Mesh.Contracts.Events;

/// <summary>
/// The detail of an "ECS Task State Change" event, as far as endpoints need it. Unknown fields are ignored,
/// as ECS asks. Names are matched case-insensitively: ECS spells the same address privateIPv4Address in
/// attachment details and privateIpv4Address in container network interfaces.
/// </summary>
public sealed record EcsTaskStateChange
{
    public string? TaskArn { get; init; }
    public string? ClusterArn { get; init; }
    public string? Group { get; init; }
    public string? LastStatus { get; init; }
    public string? DesiredStatus { get; init; }
    public string? HealthStatus { get; init; }
    public string? AvailabilityZone { get; init; }
    public string? TaskDefinitionArn { get; init; }
    public string? ContainerInstanceArn { get; init; }
    public string? StoppedReason { get; init; }
    /// <summary>Orders the events of one task; required.</summary>
    public long? Version { get; init; }
    public IReadOnlyList<EcsAttachment>? Attachments { get; init; }
    public IReadOnlyList<EcsContainer>? Containers { get; init; }
}

public sealed record EcsAttachment
{
    public string? Id { get; init; }
    public string? Type { get; init; }
    public string? Status { get; init; }
    public IReadOnlyList<EcsNameValue>? Details { get; init; }
}

public sealed record EcsNameValue(string? Name, string? Value);

public sealed record EcsContainer
{
    public string? Name { get; init; }
    public string? LastStatus { get; init; }
    public string? HealthStatus { get; init; }
    public IReadOnlyList<EcsNetworkInterface>? NetworkInterfaces { get; init; }
    public IReadOnlyList<EcsNetworkBinding>? NetworkBindings { get; init; }
}

public sealed record EcsNetworkInterface
{
    public string? AttachmentId { get; init; }
    public string? PrivateIpv4Address { get; init; }
    public string? Ipv6Address { get; init; }
}

/// <summary>Bridge and host network modes: the container port published on the container instance.</summary>
public sealed record EcsNetworkBinding
{
    [JsonPropertyName("bindIP")] public string? BindIp { get; init; }
    public int? ContainerPort { get; init; }
    public int? HostPort { get; init; }
    public string? Protocol { get; init; }
}

/// <summary>The detail of an "ECS Deployment State Change" event.</summary>
public sealed record EcsDeploymentStateChange
{
    public string? EventType { get; init; }
    public string? EventName { get; init; }
    public string? DeploymentId { get; init; }
    public string? Reason { get; init; }
}
