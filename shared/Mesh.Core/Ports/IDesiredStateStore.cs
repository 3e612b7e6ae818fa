using Mesh.Core.Model;

namespace Mesh.Core.Ports;

/// <summary>Meshes and their services as operators defined them.</summary>
public interface IDesiredStateStore
{
    Task<IReadOnlyList<string>> ListMeshesAsync(CancellationToken cancellationToken);

    /// <summary>The mesh with all its services, or null when it does not exist.</summary>
    Task<MeshState?> GetMeshAsync(string mesh, CancellationToken cancellationToken);

    Task PutServiceAsync(ServiceDefinition service, CancellationToken cancellationToken);

    /// <summary>Every service, in any mesh, whose endpoints come from <paramref name="workload"/>.</summary>
    Task<IReadOnlyList<FleetId>> FindByWorkloadAsync(WorkloadKey workload, CancellationToken cancellationToken);
}
