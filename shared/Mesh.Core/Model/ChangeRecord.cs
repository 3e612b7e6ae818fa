using System.Collections.Immutable;
using System.Text.Json;
using Mesh.Core.Model;

namespace Mesh.Core.Model;

/// <summary>A service as stored and as recorded in changes: its definition with the routes and policy edited beside it.</summary>
public sealed record StoredService
{
    public required ServiceDefinition Service { get; init; }
    public ImmutableArray<RouteRule> Routes { get; init => field = value.IsDefault ? [] : value; } = [];
    public ServicePolicy Policy { get; init => field = value ?? new(); } = new();

    public ServiceDefinition ToDefinition() => Service with { Routes = Routes, Policy = Policy };

    public static StoredService From(ServiceDefinition definition) => new() { Service = definition, Routes = definition.Routes, Policy = definition.Policy };

    /// <summary>Equal content (records compare arrays by reference, so this compares the stored JSON).</summary>
    public static bool Same(StoredService? a, StoredService? b) => ToJson(a) == ToJson(b);

    private static string ToJson(StoredService? service) =>
        service is null ? "" : JsonSerializer.Serialize(service, CanonicalJson.Default.StoredService);
}

/// <summary>The mesh's settings before and after a change that moved them.</summary>
public sealed record SettingsChange(MeshSettings Before, MeshSettings After)
{
    /// <summary>Equal content (records compare arrays by reference, so this compares the canonical JSON).</summary>
    public static bool Same(MeshSettings a, MeshSettings b) =>
        JsonSerializer.Serialize(a, CanonicalJson.Default.MeshSettings) == JsonSerializer.Serialize(b, CanonicalJson.Default.MeshSettings);
}

/// <summary>One service before and after a change; null where it did not exist.</summary>
public sealed record ServiceChange(string Name, StoredService? Before, StoredService? After);

/// <summary>One gateway before and after a change; null where it did not exist.</summary>
public sealed record GatewayChange(string Name, GatewayDefinition? Before, GatewayDefinition? After);

public enum MeshLifecycle { Edited, Created, Deleted }

/// <summary>What a fleet's head became when a change was published.</summary>
public sealed record PublishedVersion(string Fleet, string Status, string? Version, string? PreviousVersion);

/// <summary>
/// An applied change to one mesh, stored with the mesh's new revision in one write: who made it, why, what each
/// service was before and after, and (once published) the snapshot versions it produced.
/// </summary>
public sealed record ChangeRecord
{
    public required string Id { get; init; }
    public required string Mesh { get; init; }
    /// <summary>
    /// The life of the mesh this change belongs to: a mesh deleted and created again starts a new generation (and its
    /// revisions start again at 1), so nothing of the old one is taken for the new one.
    /// </summary>
    public required string Generation { get; init; }
    /// <summary>The mesh's revision after this change; the store applies it only over revision - 1.</summary>
    public required long Revision { get; init; }
    public required DateTimeOffset At { get; init; }
    public required string Actor { get; init; }
    public string? Reason { get; init; }
    /// <summary>The request that made it, e.g. "PUT services/checkout-api/routes".</summary>
    public required string Operation { get; init; }
    public string? RollbackOf { get; init; }
    public MeshLifecycle Lifecycle { get; init; } = MeshLifecycle.Edited;
    public ImmutableArray<ServiceChange> Services { get; init => field = value.IsDefault ? [] : value; } = [];
    public ImmutableArray<GatewayChange> Gateways { get; init => field = value.IsDefault ? [] : value; } = [];
    /// <summary>Null when the change left the mesh's settings as they were.</summary>
    public SettingsChange? Settings { get; init; }
    public ImmutableArray<PublishedVersion> Published { get; init => field = value.IsDefault ? [] : value; } = [];
}

/// <summary>One page of a mesh's changes, newest first; <see cref="Next"/> continues after the last one.</summary>
public sealed record ChangePage(IReadOnlyList<ChangeRecord> Items, string? Next);

public static class MeshGenerations
{
    /// <summary>A generation that never repeats: a version 7 UUID (time-ordered, random below the millisecond).</summary>
    public static string New(DateTimeOffset at) => Guid.CreateVersion7(at).ToString("N");
}

public static class ServiceChanges
{
    /// <summary>Whether the change moves what the service registry holds for the service: its endpoints' source or its port.</summary>
    public static bool RegistrationChanged(ServiceChange change) =>
        change.Before?.Service.Workload != change.After?.Service.Workload || change.Before?.Service.Port != change.After?.Service.Port;
}
