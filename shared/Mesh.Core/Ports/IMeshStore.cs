namespace Mesh.Core.Ports;

/// <summary>A store that keeps all of the pipeline's state: each implementation passes the same contract tests.</summary>
public interface IMeshStore : IEndpointStore, IDesiredStateStore, ISnapshotStore, IProxyStatusStore;
