using System.Collections.Immutable;
using Mesh.Core.Model;

namespace Mesh.Core.Model;

/// <summary>
/// What one event says about one source of endpoints at one version: an ECS task (ordered by the event's
/// detail.version) or an EndpointSlice (ordered by metadata.generation within its uid).
/// </summary>
public sealed record SourceObservation
{
    /// <summary>"ecs-task:{cluster}/{taskId}" or "eks-slice:{uid}".</summary>
    public required string SourceId { get; init; }
    public required WorkloadKey Workload { get; init; }
    public required long Version { get; init; }
    /// <summary>A STOPPED task or a DELETED slice: nothing after it applies.</summary>
    public bool Terminal { get; init; }
    public ImmutableArray<Endpoint> Endpoints { get; init => field = value.IsDefault ? [] : value; } = [];
    /// <summary>The platform's status words, for logs ("RUNNING/STOPPED", "MODIFIED").</summary>
    public string Status { get; init; } = "";
    /// <summary>A slice can be relabelled to another Service (a task cannot): its entries under other workloads are then emptied.</summary>
    public bool CanMove { get; init; }
}

/// <summary>A stored observation and the store's revision of it, the token of its conditional writes.</summary>
public sealed record LedgerEntry(SourceObservation Observation, long Revision);
