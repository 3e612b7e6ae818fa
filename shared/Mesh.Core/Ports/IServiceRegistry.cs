namespace Mesh.Core.Ports;

/// <summary>An instance as a service registry holds it: its id (task id or pod uid) and its attributes.</summary>
public sealed record RegistryInstance(string Id, IReadOnlyDictionary<string, string> Attributes);

/// <summary>
/// Where endpoints are published for clients outside the mesh (AWS Cloud Map in production). Services are named;
/// the adapter finds or creates them. Every call is idempotent: registering an instance again replaces its
/// attributes, deregistering one that is gone succeeds.
/// </summary>
public interface IServiceRegistry
{
    Task<IReadOnlyList<RegistryInstance>> ListInstancesAsync(string service, CancellationToken cancellationToken);

    Task RegisterAsync(string service, RegistryInstance instance, CancellationToken cancellationToken);

    Task DeregisterAsync(string service, string instanceId, CancellationToken cancellationToken);
}
