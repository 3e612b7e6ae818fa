namespace Mesh.Core.Ports;

/// <summary>How many resources of one xDS type a commit added, changed and removed, with their names (at most a few).</summary>
public sealed record ResourceTypeChanges(string Type, int Added, int Changed, int Removed, IReadOnlyList<string> Names);

/// <summary>A fleet's head moved to a new snapshot ("Mesh Config Published"); Cause names the change or the workload whose endpoints moved.</summary>
public sealed record ConfigPublished(string Mesh, string Fleet, string Version, string? PreviousVersion, DateTimeOffset PublishedAt, string Cause,
    IReadOnlyList<ResourceTypeChanges> Changes);

/// <summary>Where "Mesh Config Published" events go after each commit (Amazon EventBridge in production).</summary>
public interface IConfigEventSink
{
    Task PublishAsync(IReadOnlyList<ConfigPublished> events, CancellationToken cancellationToken);
}
