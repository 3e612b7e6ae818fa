namespace Mesh.Core.Ports;

/// <summary>Every port of one store, each implemented on its own over a shared connection or client; both stores pass the same contract tests.</summary>
public sealed record MeshStore(IEndpointStore Endpoints, IDesiredStateStore Desired, ISnapshotStore Snapshots, IProxyStatusStore Proxies);
