using Mesh.Core.Model;

namespace Mesh.Core.Snapshots;

public enum DeltaKind { Added, Changed, Removed }

/// <summary>One resource that differs between two snapshots of a fleet, by name and content hash.</summary>
public sealed record ResourceDelta(XdsType Type, DeltaKind Kind, XdsResource? Before, XdsResource? After)
{
    public string Name => (After ?? Before)!.Name;
}

public static class SnapshotDelta
{
    /// <summary>Resources added, changed and removed going from <paramref name="before"/> to <paramref name="after"/>, type by type.</summary>
    public static IEnumerable<ResourceDelta> Between(FleetSnapshot? before, FleetSnapshot? after)
    {
        foreach (var type in XdsTypes.All)
        {
            var old = before?[type];
            var @new = after?[type];
            foreach (var resource in @new?.Resources ?? [])
            {
                var previous = old?.Find(resource.Name);
                if (previous is null) yield return new ResourceDelta(type, DeltaKind.Added, null, resource);
                else if (previous.Hash != resource.Hash) yield return new ResourceDelta(type, DeltaKind.Changed, previous, resource);
            }
            foreach (var resource in old?.Resources ?? [])
            {
                if (@new?.Find(resource.Name) is null) yield return new ResourceDelta(type, DeltaKind.Removed, resource, null);
            }
        }
    }
}
