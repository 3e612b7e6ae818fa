using System.Collections.Immutable;
using System.Text.Json;
using Mesh.Core.Model;
using Mesh.Core.Storage;

namespace Mesh.Core.Editing;

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
        service is null ? "" : JsonSerializer.Serialize(service, StateJson.Default.StoredService);
}

/// <summary>One service before and after a change; null where it did not exist.</summary>
public sealed record ServiceChange(string Name, StoredService? Before, StoredService? After);

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
    public ImmutableArray<PublishedVersion> Published { get; init => field = value.IsDefault ? [] : value; } = [];
}

/// <summary>One page of a mesh's changes, newest first; <see cref="Next"/> continues after the last one.</summary>
public sealed record ChangePage(IReadOnlyList<ChangeRecord> Items, string? Next);
