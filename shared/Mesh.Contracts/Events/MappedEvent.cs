using Mesh.Core.Endpoints;
using Mesh.Core.Model;

namespace Mesh.Contracts.Events;

/// <summary>What an event is, for logs: its id, type and the resource it is about.</summary>
/// <param name="Time">When the event happened, as EventBridge stamped it: where publish latency counts from.</param>
public sealed record EventContext(string? EventId, string? DetailType, string? Resource, DateTimeOffset? Time = null);

public abstract record MappedEvent;

/// <summary>An event that changes a task's or a slice's endpoints.</summary>
public sealed record EndpointEvent(SourceObservation Observation, EventContext Context) : MappedEvent;

/// <summary>A well-formed event that changes no endpoint (a deployment notice, a standalone task, a type we do not handle).</summary>
public sealed record AcknowledgedEvent(string Reason, EventContext Context) : MappedEvent;

/// <summary>An event we cannot read; its message fails alone and is retried, then dead-lettered.</summary>
public sealed record MalformedEvent(string Reason, EventContext? Context) : MappedEvent;
