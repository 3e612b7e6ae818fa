using Mesh.Core.Model;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Compile;

/// <summary>A backend as the compiler sees it: its definition (null if the mesh lacks it) and its recorded endpoints.</summary>
public sealed record BackendInputs(string Name, ServiceDefinition? Definition, IReadOnlyList<Endpoint> Endpoints);

/// <summary>Everything one fleet's configuration depends on: its service, its own endpoints (for zone-aware routing) and its backends.</summary>
public sealed record FleetInputs(ServiceDefinition Service, IReadOnlyList<BackendInputs> Backends)
{
    public IReadOnlyList<Endpoint> OwnEndpoints { get; init; } = [];
    /// <summary>The mesh's settings (egress).</summary>
    public MeshSettings Settings { get; init; } = MeshSettings.Default;
}

public abstract record CompileResult(FleetId Fleet);

public sealed record Compiled(FleetSnapshot Snapshot, IReadOnlyList<string> Warnings) : CompileResult(Snapshot.Fleet);

/// <summary>The inputs cannot make a configuration Envoy would accept; the fleet keeps its last snapshot.</summary>
public sealed record Refused(FleetId Fleet, IReadOnlyList<string> Reasons) : CompileResult(Fleet);
