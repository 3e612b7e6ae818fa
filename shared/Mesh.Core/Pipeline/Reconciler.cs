using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Publishing;
using Mesh.Core.Telemetry;

namespace Mesh.Core.Pipeline;

/// <summary>What reconciling one mesh did: each fleet's publish (Unchanged where nothing lagged), and the steps after.</summary>
public sealed record MeshReconciled(string Mesh, IReadOnlyList<PublishOutcome> Outcomes, AfterCommitReport After)
{
    public IEnumerable<PublishOutcome> Republished => Outcomes.Where(o => o.Status == PublishStatus.Published);
}

/// <summary>
/// Heals what a crash between two writes left behind: a change stored but not (or not wholly) published, an event
/// recorded but not published. Every fleet of a mesh is compiled from the stored inputs, and a fleet whose head was
/// compiled from an older mesh revision, or holds something else than the inputs compile to, is published again;
/// the others are not written. The newest change gets the versions it produced if it was stored without them, and
/// its services are synced with the registry again. It runs at start-up, on a schedule, and when an edit that
/// changes nothing is sent again (an operator retrying a change that seemed to fail).
/// </summary>
public sealed class Reconciler(IDesiredStateStore desired, FleetPublisher publisher, AfterCommit afterCommit)
{
    public async Task<IReadOnlyList<MeshReconciled>> ReconcileAsync(CancellationToken cancellationToken)
    {
        using var span = PipelineTracing.Start(PipelineTracing.Reconcile);
        var results = new List<MeshReconciled>();
        foreach (var mesh in await desired.ListMeshesAsync(cancellationToken))
        {
            if (await ReconcileMeshAsync(mesh, cancellationToken) is { } reconciled) results.Add(reconciled);
        }
        return results;
    }

    public async Task<MeshReconciled?> ReconcileMeshAsync(string mesh, CancellationToken cancellationToken)
    {
        if (await desired.GetMeshAsync(mesh, cancellationToken) is not { } state) return null;
        var fleets = state.Fleets.ToList();
        var outcomes = await publisher.PublishAsync(fleets, cancellationToken, onlyLagging: true);
        var registry = await CompleteNewestChangeAsync(state, outcomes, cancellationToken);
        var after = await afterCommit.RunAsync(outcomes, $"reconcile of mesh {mesh}", registry, cancellationToken);
        return new MeshReconciled(mesh, outcomes, after);
    }

    /// <summary>The newest change, if it was stored but its publish was never recorded: records it, and returns its services to sync.</summary>
    private async Task<RegistryWork> CompleteNewestChangeAsync(MeshState state, IReadOnlyList<PublishOutcome> outcomes, CancellationToken cancellationToken)
    {
        var newest = (await desired.ListChangesAsync(state.Name, null, 1, cancellationToken)).Items is [var first, ..] ? first : null;
        if (newest is null || (newest.Services.IsEmpty && newest.Gateways.IsEmpty) || !newest.Published.IsEmpty || newest.Generation != state.Generation || newest.Revision != state.Revision)
            return RegistryWork.None;
        var affected = newest.Services.SelectMany(s => state.FleetsAffectedByDefinition(s.Name))
            .Concat(newest.Gateways.Select(g => new FleetId(state.Name, g.Name))).ToHashSet();
        var published = outcomes.Where(o => affected.Contains(o.Fleet))
            .Select(o => new PublishedVersion(o.Fleet.ToString(), o.Status.ToString(), o.Version, o.PreviousVersion)).ToList();
        await desired.RecordPublishedAsync(state.Name, newest.Id, published, cancellationToken);
        return new RegistryWork([], [.. newest.Services.Where(ServiceChanges.RegistrationChanged)
            .Select(s => (new FleetId(state.Name, s.Name), s.After?.ToDefinition()))]);
    }
}
