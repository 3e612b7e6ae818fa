using Mesh.Core.Model;

namespace Mesh.Core.Ports;

/// <summary>Meshes and their services as operators defined them, and the record of every change to them.</summary>
public interface IDesiredStateStore
{
    /// <summary>How many services one change may write at once (a store's transaction limit).</summary>
    int MaxServicesPerChange { get; }

    Task<IReadOnlyList<string>> ListMeshesAsync(CancellationToken cancellationToken);

    /// <summary>The mesh with all its services at its current revision, or null when it does not exist.</summary>
    Task<MeshState?> GetMeshAsync(string mesh, CancellationToken cancellationToken);

    /// <summary>Every service, in any mesh, whose endpoints come from <paramref name="workload"/>.</summary>
    Task<IReadOnlyList<FleetId>> FindByWorkloadAsync(WorkloadKey workload, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the change's services, the change record and the mesh's new revision at once, if the mesh is still at
    /// revision - 1 (revision 1: the mesh does not exist). Returns false, writing nothing, otherwise.
    /// </summary>
    Task<bool> TryApplyAsync(ChangeRecord change, CancellationToken cancellationToken);

    Task<ChangeRecord?> GetChangeAsync(string mesh, string id, CancellationToken cancellationToken);

    /// <summary>Changes newest first, starting after the change <paramref name="after"/> (null: the newest).</summary>
    Task<ChangePage> ListChangesAsync(string mesh, string? after, int limit, CancellationToken cancellationToken);

    /// <summary>Adds the snapshot versions a change produced to its record (idempotent: the last call wins).</summary>
    Task RecordPublishedAsync(string mesh, string id, IReadOnlyList<PublishedVersion> published, CancellationToken cancellationToken);
}
