using Mesh.Core.Model;
using Mesh.Core.Ports;

namespace Mesh.Core.Editing;

/// <summary>Puts services in as one recorded change per mesh, without validating or publishing: for seeding a store from a file.</summary>
public static class DesiredStateSeeding
{
    public const string Actor = "seed";

    public static async Task PutServicesAsync(this IDesiredStateStore store, IEnumerable<ServiceDefinition> services, CancellationToken cancellationToken)
    {
        // DynamoDB transactions take at most 100 items: a change carries at most 50 services.
        foreach (var mesh in services.GroupBy(s => s.Mesh, StringComparer.Ordinal).SelectMany(g => g.Chunk(50)))
        {
            while (true)
            {
                var current = await store.GetMeshAsync(mesh[0].Mesh, cancellationToken);
                var revision = (current?.Revision ?? 0) + 1;
                var at = DateTimeOffset.UtcNow;
                var change = new ChangeRecord
                {
                    Id = ChangeIds.New(at, revision),
                    Mesh = mesh[0].Mesh,
                    Revision = revision,
                    At = at,
                    Actor = Actor,
                    Operation = "seed",
                    Lifecycle = current is null ? MeshLifecycle.Created : MeshLifecycle.Edited,
                    Services = [.. mesh.Select(s => new ServiceChange(s.Name,
                        current?.Services.GetValueOrDefault(s.Name) is { } before ? StoredService.From(before) : null, StoredService.From(s)))],
                };
                if (await store.TryApplyAsync(change, cancellationToken)) break;
            }
        }
    }
}
