using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Publishing;

/// <summary>"Mesh Config Published" events for the fleets a publish moved, with what changed in each.</summary>
public static class ConfigEvents
{
    /// <summary>Names listed per xDS type; the counts are always complete. Keeps an event far below EventBridge's 256 KB.</summary>
    public const int MaxNamesPerType = 20;

    /// <summary>Null unless the outcome moved the fleet's head to a new snapshot.</summary>
    public static ConfigPublished? Of(PublishOutcome outcome, FleetSnapshot? previous, string cause, DateTimeOffset at)
    {
        if (outcome is not { Status: PublishStatus.Published, Snapshot: { } snapshot }) return null;
        var deltas = SnapshotDelta.Between(previous, snapshot).ToList();
        var changes = new List<ResourceTypeChanges>();
        foreach (var type in XdsTypes.All)
        {
            var ofType = deltas.Where(d => d.Type == type).ToList();
            if (ofType.Count == 0) continue;
            changes.Add(new ResourceTypeChanges(type.PathName(),
                ofType.Count(d => d.Kind == DeltaKind.Added), ofType.Count(d => d.Kind == DeltaKind.Changed), ofType.Count(d => d.Kind == DeltaKind.Removed),
                [.. ofType.Take(MaxNamesPerType).Select(d => Sign(d.Kind) + d.Name)]));
        }
        return new ConfigPublished(outcome.Fleet.Mesh, outcome.Fleet.ToString(), snapshot.Version, outcome.PreviousVersion, at, cause, changes);
    }

    private static string Sign(DeltaKind kind) => kind switch
    {
        DeltaKind.Added => "+",
        DeltaKind.Changed => "~",
        _ => "-",
    };
}
