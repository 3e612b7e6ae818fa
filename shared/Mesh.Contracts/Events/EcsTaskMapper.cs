using System.Collections.Immutable;
using System.Net;
using Mesh.Core.Endpoints;
using Mesh.Core.Model;

namespace Mesh.Contracts.Events;

/// <summary>
/// ECS task events to observations of one endpoint. Bridge and host mode tasks publish host ports on their
/// container instance, whose address the event does not carry: <paramref name="containerInstanceAddress"/> supplies it.
/// </summary>
public sealed class EcsTaskMapper(Func<string, string?> containerInstanceAddress)
{
    private static readonly HashSet<string> DrainingStatuses = new(StringComparer.OrdinalIgnoreCase) { "DEACTIVATING", "STOPPING", "DEPROVISIONING" };
    private static readonly HashSet<string> StartingStatuses = new(StringComparer.OrdinalIgnoreCase) { "PROVISIONING", "PENDING", "ACTIVATING" };

    public MappedEvent Map(EventEnvelope envelope, EcsTaskStateChange task, EventContext context)
    {
        var taskId = Arn.LastSegment(task.TaskArn);
        var cluster = Arn.LastSegment(task.ClusterArn);
        if (taskId is null) return new MalformedEvent("detail.taskArn is missing or not a task ARN", context);
        if (cluster is null) return new MalformedEvent("detail.clusterArn is missing or not a cluster ARN", context);
        if (task.Version is not { } version) return new MalformedEvent("detail.version is missing; task events cannot be ordered without it", context);
        if (task.LastStatus is not { } lastStatus) return new MalformedEvent("detail.lastStatus is missing", context);
        if (NullIn(task) is { } nullField) return new MalformedEvent($"{nullField} is null: an ECS event never holds one, so this is not one", context);
        if (task.Group is not { } group || !group.StartsWith("service:", StringComparison.Ordinal))
            return new AcknowledgedEvent($"task {taskId} is not part of a service (group '{task.Group}')", context);

        var workload = WorkloadKey.Ecs(cluster, group["service:".Length..]);
        var sourceId = $"ecs-task:{cluster}/{taskId}";
        var status = $"{lastStatus}/{task.DesiredStatus}";
        if (lastStatus.Equals("STOPPED", StringComparison.OrdinalIgnoreCase))
            return new EndpointEvent(Observations.Terminal(sourceId, workload, version, status), context);

        var (address, ports) = Network(task);
        var endpoint = new Endpoint
        {
            Id = taskId,
            Address = address,
            Ports = ports,
            Region = envelope.Region ?? "",
            Zone = task.AvailabilityZone ?? "",
            Version = Arn.Revision(task.TaskDefinitionArn),
            Health = Health(lastStatus, task),
        };
        return new EndpointEvent(new SourceObservation
        {
            SourceId = sourceId,
            Workload = workload,
            Version = version,
            Endpoints = [endpoint],
            Status = status,
        }, context);
    }

    /// <summary>The first list element that is null, by its path; null when there is none.</summary>
    private static string? NullIn(EcsTaskStateChange task)
    {
        for (var a = 0; a < (task.Attachments?.Count ?? 0); a++)
        {
            if (task.Attachments![a] is not { } attachment) return $"detail.attachments[{a}]";
            if (Nulls.FirstIndex(attachment.Details) is { } d) return $"detail.attachments[{a}].details[{d}]";
        }
        for (var c = 0; c < (task.Containers?.Count ?? 0); c++)
        {
            if (task.Containers![c] is not { } container) return $"detail.containers[{c}]";
            if (Nulls.FirstIndex(container.NetworkInterfaces) is { } n) return $"detail.containers[{c}].networkInterfaces[{n}]";
            if (Nulls.FirstIndex(container.NetworkBindings) is { } b) return $"detail.containers[{c}].networkBindings[{b}]";
        }
        return null;
    }

    private static EndpointHealth Health(string lastStatus, EcsTaskStateChange task)
    {
        if ("STOPPED".Equals(task.DesiredStatus, StringComparison.OrdinalIgnoreCase) || DrainingStatuses.Contains(lastStatus))
            return EndpointHealth.Draining;
        if (StartingStatuses.Contains(lastStatus)) return EndpointHealth.Unhealthy;
        return task.HealthStatus?.ToUpperInvariant() switch
        {
            "HEALTHY" => EndpointHealth.Healthy,
            "UNHEALTHY" => EndpointHealth.Unhealthy,
            _ => EndpointHealth.Unknown,
        };
    }

    /// <summary>awsvpc: the ENI's address and no ports (the service's port). Bridge/host: the instance's address and host ports.</summary>
    private (string? Address, ImmutableArray<EndpointPort> Ports) Network(EcsTaskStateChange task)
    {
        var containers = task.Containers?.OfType<EcsContainer>().ToList() ?? [];
        var eniAddress = task.Attachments?.OfType<EcsAttachment>()
            .Where(a => a.Type is not null && (a.Type.Equals("eni", StringComparison.OrdinalIgnoreCase) || a.Type.Equals("ElasticNetworkInterface", StringComparison.OrdinalIgnoreCase)))
            .SelectMany(a => a.Details?.OfType<EcsNameValue>() ?? [])
            .FirstOrDefault(d => "privateIPv4Address".Equals(d.Name, StringComparison.OrdinalIgnoreCase))?.Value
            ?? containers.SelectMany(c => c.NetworkInterfaces?.OfType<EcsNetworkInterface>() ?? []).Select(n => n.PrivateIpv4Address ?? n.Ipv6Address).FirstOrDefault(a => !string.IsNullOrEmpty(a));
        if (!string.IsNullOrEmpty(eniAddress)) return (eniAddress, []);

        var bindings = containers.SelectMany(c => c.NetworkBindings?.OfType<EcsNetworkBinding>() ?? [])
            .Where(b => b.HostPort is > 0 && (b.Protocol is null || b.Protocol.Equals("tcp", StringComparison.OrdinalIgnoreCase)))
            .ToList();
        if (bindings.Count == 0) return (null, []);
        var ports = bindings.Select(b => new EndpointPort(null, b.ContainerPort, b.HostPort!.Value)).Distinct().ToImmutableArray();
        var specific = bindings.Select(b => b.BindIp).FirstOrDefault(ip => IPAddress.TryParse(ip, out var parsed)
            && !parsed.Equals(IPAddress.Any) && !parsed.Equals(IPAddress.IPv6Any));
        var address = specific ?? (task.ContainerInstanceArn is { } instance ? containerInstanceAddress(instance) : null);
        return (address, ports);
    }
}
