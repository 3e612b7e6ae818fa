using System.Collections.Immutable;
using Mesh.Core.Endpoints;
using Mesh.Core.Model;

namespace Mesh.Contracts.Events;

/// <summary>
/// EndpointSlice watch events to observations of the slice's endpoints. A slice is ordered by its generation
/// within its uid; a service's endpoints are the union of its slices. Terminating and not-ready endpoints stay,
/// marked draining or unhealthy, so Envoy finishes their requests instead of losing them.
/// </summary>
public sealed class EksSliceMapper
{
    public const string ServiceNameLabel = "kubernetes.io/service-name";

    public MappedEvent Map(EventEnvelope envelope, EksEndpointSliceChange change, EventContext context)
    {
        var kind = change.WatchEventType?.ToUpperInvariant();
        // A watch's BOOKMARK and ERROR carry no slice: nothing to record, and nothing wrong with the event.
        if (kind is "BOOKMARK" or "ERROR")
            return new AcknowledgedEvent($"watch event type '{change.WatchEventType}' carries no endpoints", context);
        var slice = change.EndpointSlice;
        var meta = slice?.Metadata;
        if (string.IsNullOrEmpty(change.ClusterName)) return new MalformedEvent("detail.clusterName is missing", context);
        if (slice is null || meta is null) return new MalformedEvent("detail.endpointSlice.metadata is missing", context);
        if (string.IsNullOrEmpty(meta.Uid)) return new MalformedEvent("detail.endpointSlice.metadata.uid is missing", context);
        if (meta.Generation is not { } generation) return new MalformedEvent("detail.endpointSlice.metadata.generation is missing; slice updates cannot be ordered without it", context);
        var sliceContext = context with { Resource = $"{change.ClusterName}/{meta.Namespace}/{meta.Name}" };
        if (kind is not ("ADDED" or "MODIFIED" or "DELETED"))
            return new MalformedEvent($"watch event type '{change.WatchEventType}' is not ADDED, MODIFIED, DELETED, BOOKMARK or ERROR", sliceContext);
        if (meta.Labels?.GetValueOrDefault(ServiceNameLabel) is not { Length: > 0 } service)
            return new AcknowledgedEvent($"slice {meta.Name} has no {ServiceNameLabel} label", sliceContext);
        if (slice.AddressType is { } type && type is not ("IPv4" or "IPv6"))
            return new AcknowledgedEvent($"slice {meta.Name} holds {type} addresses, which Envoy cannot dial as endpoints", sliceContext);

        if (Nulls.FirstIndex(slice.Endpoints) is { } e) return new MalformedEvent($"detail.endpointSlice.endpoints[{e}] is null", sliceContext);
        if (Nulls.FirstIndex(slice.Ports) is { } p) return new MalformedEvent($"detail.endpointSlice.ports[{p}] is null", sliceContext);
        if (slice.Endpoints?.Select((endpoint, i) => (endpoint, i)).FirstOrDefault(x => x.endpoint!.Addresses?.Contains(null) == true) is { endpoint: not null } withNull)
            return new MalformedEvent($"detail.endpointSlice.endpoints[{withNull.i}].addresses holds a null", sliceContext);
        var workload = WorkloadKey.Eks(change.ClusterName, meta.Namespace ?? "default", service);
        var sourceId = $"eks-slice:{meta.Uid}";
        if (kind == "DELETED")
            return new EndpointEvent(Observations.Terminal(sourceId, workload, generation, kind) with { CanMove = true }, sliceContext);

        var ports = (slice.Ports ?? []).Where(p => p.Port is > 0 && (p.Protocol is null or "TCP"))
            .Select(p => new EndpointPort(p.Name, null, p.Port!.Value)).ToImmutableArray();
        // Kubernetes: a slice with no ports has no endpoints a client can reach (it is "no endpoints", not "every port").
        var endpoints = ports.IsEmpty ? [] : (slice.Endpoints ?? [])
            .Where(e => e.Addresses is { Count: > 0 })
            .Select(e => new Endpoint
            {
                // Addresses of one endpoint are fungible; Kubernetes lets consumers use the first.
                Id = e.TargetRef?.Uid ?? $"{meta.Uid}/{e.Addresses![0]}",
                Address = e.Addresses![0],
                Ports = ports,
                Region = envelope.Region ?? "",
                Zone = e.Zone ?? "",
                Version = Version(change, e.TargetRef?.Uid),
                Health = Health(e.Conditions),
            })
            .ToImmutableArray();
        return new EndpointEvent(new SourceObservation
        {
            SourceId = sourceId,
            Workload = workload,
            Version = generation,
            Endpoints = endpoints,
            Status = kind,
            CanMove = true,
        }, sliceContext);
    }

    private static EndpointHealth Health(K8sEndpointConditions? conditions) => conditions switch
    {
        { Terminating: true } => EndpointHealth.Draining,
        null or { Ready: null or true } => EndpointHealth.Healthy,
        _ => EndpointHealth.Unhealthy,
    };

    private static string Version(EksEndpointSliceChange change, string? podUid)
    {
        if (podUid is null || change.PodLabels?.GetValueOrDefault(podUid) is not { } labels) return "";
        return labels.GetValueOrDefault("version") ?? labels.GetValueOrDefault("app.kubernetes.io/version") ?? "";
    }
}
