using Mesh.Core.Model;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Compile;

/// <summary>A backend as the compiler sees it: its definition (null if the mesh lacks it) and its recorded endpoints.</summary>
public sealed record BackendInputs(string Name, ServiceDefinition? Definition, IReadOnlyList<Endpoint> Endpoints);

/// <summary>Everything one fleet's configuration depends on, of a service's sidecars or of a gateway.</summary>
public abstract record CompileInputs
{
    /// <summary>The mesh's settings (egress, certificates, observability).</summary>
    public MeshSettings Settings { get; init; } = MeshSettings.Default;

    /// <summary>What the fleet compiles to.</summary>
    public abstract CompileResult Compile(XdsSettings settings, CompileMemory? memory = null);
}

/// <summary>A service's sidecars: its service, its own endpoints (for zone-aware routing) and its backends.</summary>
public sealed record FleetInputs(ServiceDefinition Service, IReadOnlyList<BackendInputs> Backends) : CompileInputs
{
    public IReadOnlyList<Endpoint> OwnEndpoints { get; init; } = [];

    public override CompileResult Compile(XdsSettings settings, CompileMemory? memory = null) => FleetCompiler.Compile(this, settings, memory);
}

/// <summary>A gateway: its listeners and routes, and the services they send to.</summary>
public sealed record GatewayInputs(GatewayDefinition Gateway, IReadOnlyList<BackendInputs> Targets) : CompileInputs
{
    public override CompileResult Compile(XdsSettings settings, CompileMemory? memory = null) => GatewayCompiler.Compile(this, settings, memory);
}

public abstract record CompileResult(FleetId Fleet);

public sealed record Compiled(FleetSnapshot Snapshot, IReadOnlyList<string> Warnings) : CompileResult(Snapshot.Fleet);

/// <summary>The inputs cannot make a configuration Envoy would accept; the fleet keeps its last snapshot.</summary>
public sealed record Refused(FleetId Fleet, IReadOnlyList<string> Reasons) : CompileResult(Fleet);
