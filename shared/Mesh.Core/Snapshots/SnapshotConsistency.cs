using Mesh.Core.Model;

namespace Mesh.Core.Snapshots;

/// <summary>
/// The checks a snapshot must pass before it is published, so that Envoy never receives a set it would warm
/// forever or reject: names unique, every reference resolved, no orphan EDS or RDS resource, no two listeners on one port.
/// </summary>
public static class SnapshotConsistency
{
    /// <param name="namedOutside">EDS names a cluster outside the snapshot names (the bootstrap's local cluster).</param>
    public static IReadOnlyList<string> Check(FleetSnapshot snapshot, IReadOnlySet<string>? namedOutside = null)
    {
        var problems = new List<string>();
        var referenced = new HashSet<ResourceReference>();
        foreach (var set in snapshot.Sets)
        {
            foreach (var duplicate in set.Resources.GroupBy(r => r.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
                problems.Add($"{set.Type} name '{duplicate.Key}' is used {duplicate.Count()} times");
            foreach (var resource in set.Resources)
            {
                foreach (var reference in resource.References)
                {
                    referenced.Add(reference);
                    if (snapshot[reference.Type].Find(reference.Name) is null)
                        problems.Add($"{set.Type} '{resource.Name}' refers to {reference.Type} '{reference.Name}', which the snapshot does not hold");
                }
            }
        }
        foreach (var type in new[] { XdsType.Endpoints, XdsType.Routes })
        {
            foreach (var resource in snapshot[type].Resources)
            {
                if (type == XdsType.Endpoints && namedOutside?.Contains(resource.Name) == true) continue;
                if (!referenced.Contains(new ResourceReference(type, resource.Name)))
                    problems.Add($"{type} '{resource.Name}' is named by no {(type == XdsType.Endpoints ? "cluster" : "listener")}");
            }
        }
        foreach (var clash in snapshot[XdsType.Listeners].Resources.Where(l => l.ListenPort is not null)
                     .GroupBy(l => l.ListenPort).Where(g => g.Count() > 1))
            problems.Add($"listeners {string.Join(", ", clash.Select(l => $"'{l.Name}'"))} all bind port {clash.Key}");
        return problems;
    }
}
