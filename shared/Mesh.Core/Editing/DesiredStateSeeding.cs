using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Resilience;

namespace Mesh.Core.Editing;

/// <summary>Puts services in as one recorded change per mesh, without validating or publishing: for seeding a store from a file.</summary>
public static class DesiredStateSeeding
{
    public const string Actor = "seed";

    public static Task PutServicesAsync(this IDesiredStateStore store, IEnumerable<ServiceDefinition> services, CancellationToken cancellationToken) =>
        store.PutServicesAsync(services, GuardedRetry.Default(TimeProvider.System), TimeProvider.System, cancellationToken);

    public static async Task PutServicesAsync(this IDesiredStateStore store, IEnumerable<ServiceDefinition> services, GuardedRetry retry, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        foreach (var mesh in services.GroupBy(s => s.Mesh, StringComparer.Ordinal).SelectMany(g => g.Chunk(store.MaxServicesPerChange)))
        {
            await retry.RunAsync($"seeding mesh '{mesh[0].Mesh}'", async _ =>
            {
                var current = await store.GetMeshAsync(mesh[0].Mesh, cancellationToken);
                var revision = (current?.Revision ?? 0) + 1;
                var at = clock.GetUtcNow();
                var change = new ChangeRecord
                {
                    Id = ChangeIds.New(at, revision),
                    Mesh = mesh[0].Mesh,
                    Generation = current?.Generation ?? MeshGenerations.New(at),
                    Revision = revision,
                    At = at,
                    Actor = Actor,
                    Operation = "seed",
                    Lifecycle = current is null ? MeshLifecycle.Created : MeshLifecycle.Edited,
                    Services = [.. mesh.Select(s => new ServiceChange(s.Name,
                        current?.Services.GetValueOrDefault(s.Name) is { } before ? StoredService.From(before) : null, StoredService.From(s)))],
                };
                return await store.TryApplyAsync(change, cancellationToken) ? change : null;
            }, cancellationToken);
        }
    }
}
