using Mesh.Core.Editing;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Serving;

namespace Mesh.Core.Pipeline;

/// <summary>What an edit did, with the steps after its commit (nothing for a dry run, a refusal or a no-op).</summary>
public sealed record EditReport(EditOutcome Outcome, IReadOnlyList<FleetPlan> Plan, AfterCommitReport After);

/// <summary>
/// The edit use case: validate and plan (the MeshEditor), store the change and publish, then the steps after the
/// commit; an edit that changes nothing reconciles the mesh instead, so re-sending a change whose publish was
/// interrupted finishes it. Rollback restores what a change replaced, as a new change of the same mesh generation.
/// Every plan carries the number of live proxies of its fleet.
/// </summary>
public sealed class MeshEdits(MeshEditor editor, IDesiredStateStore desired, AfterCommit afterCommit, Reconciler reconciler, ProxyTracker proxies)
{
    public async Task<EditReport> EditAsync(EditRequest request, Func<MeshState?, EditDecision> decide, CancellationToken cancellationToken)
    {
        var outcome = await editor.EditAsync(request, decide, cancellationToken);
        switch (outcome)
        {
            case EditApplied applied:
                var work = new RegistryWork([], [.. applied.Change.Services.Where(ServiceChanges.RegistrationChanged)
                    .Select(s => (new FleetId(applied.Change.Mesh, s.Name), s.After?.ToDefinition()))]);
                var after = await afterCommit.RunAsync(applied.Outcomes, $"change {applied.Change.Id} by {applied.Change.Actor}", work, cancellationToken);
                return new EditReport(outcome, await WithProxiesAsync(applied.Plan, cancellationToken), after);
            case EditPlanned planned:
                return new EditReport(outcome, await WithProxiesAsync(planned.Plan, cancellationToken), AfterCommitReport.Nothing);
            case EditUnchanged unchanged:
                var reconciled = await reconciler.ReconcileMeshAsync(unchanged.Mesh.Name, cancellationToken);
                return new EditReport(outcome, [], reconciled?.After ?? AfterCommitReport.Nothing);
            default:
                return new EditReport(outcome, [], AfterCommitReport.Nothing);
        }
    }

    /// <summary>
    /// Restores every service and gateway a change touched, and the mesh's settings if it moved them, to what they were before it. Only an edit can be rolled back (not a mesh's
    /// creation or deletion), and only within the mesh generation it was made in: a change of a mesh that was deleted
    /// since is a conflict, never applied to the new mesh of that name.
    /// </summary>
    public async Task<EditReport> RollbackAsync(EditRequest request, string changeId, CancellationToken cancellationToken)
    {
        if (await desired.GetChangeAsync(request.Mesh, changeId, cancellationToken) is not { } change)
            return Refused(RefusalKind.NotFound, $"mesh '{request.Mesh}' has no change '{changeId}'");
        if (change.Lifecycle != MeshLifecycle.Edited)
            return Refused(RefusalKind.Conflict, $"change {changeId} {change.Lifecycle.ToString().ToLowerInvariant()} the mesh; create or delete the mesh instead");
        var services = change.Services.Select(s => s.Name).ToList();
        var gateways = change.Gateways.Select(g => g.Name).ToList();
        return await EditAsync(request with { RollbackOf = changeId }, current =>
        {
            if (current is null) return new Refuse(RefusalKind.Conflict, $"mesh '{request.Mesh}' was deleted after change {changeId}; its changes cannot be rolled back");
            if (current.Generation != change.Generation)
                return new Refuse(RefusalKind.Conflict, $"change {changeId} belongs to an earlier mesh '{request.Mesh}', deleted since; it cannot be rolled back into this one");
            var restored = change.Services.Aggregate(current, (state, s) => state.With(s.Name, s.Before?.ToDefinition()));
            restored = change.Gateways.Aggregate(restored, (state, g) => state.WithGateway(g.Name, g.Before));
            if (change.Settings is { } settings) restored = restored.With(settings.Before);
            return new Propose(restored, services) { Gateways = gateways };
        }, cancellationToken);
    }

    private static EditReport Refused(RefusalKind kind, string detail) => new(new EditRefused(kind, detail), [], AfterCommitReport.Nothing);

    private async Task<IReadOnlyList<FleetPlan>> WithProxiesAsync(IReadOnlyList<FleetPlan> plan, CancellationToken cancellationToken)
    {
        var counted = new List<FleetPlan>();
        foreach (var fleet in plan)
            counted.Add(FleetId.TryParse(fleet.Fleet, out var id) ? fleet with { Proxies = await proxies.CountProxiesAsync(id, cancellationToken) } : fleet);
        return counted;
    }
}
