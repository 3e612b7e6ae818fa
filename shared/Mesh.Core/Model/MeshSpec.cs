using System.Collections.Immutable;

namespace Mesh.Core.Model;

/// <summary>
/// A whole mesh as one declarative document: its settings, every service with its routes and policy, and every
/// gateway. Applying it makes the mesh exactly this (services and gateways it leaves out are deleted), as one change; exporting a mesh gives the
/// document that applies to no change.
/// </summary>
public sealed record MeshSpec
{
    public string Mesh { get; init => field = value ?? ""; } = "";
    public MeshSettings Settings { get; init => field = value ?? new(); } = new();
    public ImmutableArray<StoredService> Services { get; init => field = value.IsDefault ? [] : value; } = [];
    public ImmutableArray<GatewayDefinition> Gateways { get; init => field = value.IsDefault ? [] : value; } = [];

    /// <summary>The document of a mesh, its services and gateways by name.</summary>
    public static MeshSpec Of(MeshState mesh) => new()
    {
        Mesh = mesh.Name,
        Settings = mesh.Settings,
        Services = [.. mesh.Services.Values.Select(StoredService.From)],
        Gateways = [.. mesh.Gateways.Values],
    };

    /// <summary>The mesh this document describes, as a proposal over <paramref name="current"/> (null: a new mesh).</summary>
    public MeshState ToState(string mesh, MeshState? current) =>
        new(mesh, Services.Select(s => s.ToDefinition() with { Mesh = mesh }), current?.Revision ?? 0, current?.Generation ?? "", Settings,
            Gateways.Select(g => g with { Mesh = mesh }));
}
