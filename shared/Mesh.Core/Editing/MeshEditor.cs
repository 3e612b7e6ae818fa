using Mesh.Core.Compile;
using Mesh.Core.Model;
using Mesh.Core.Pipeline;
using Mesh.Core.Ports;
using Mesh.Core.Serving;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Editing;

/// <summary>Who asks for an edit, why, and whether only to see its plan.</summary>
public sealed record EditRequest(string Mesh, string Actor, string? Reason, string Operation, bool DryRun, string? RollbackOf = null);

/// <summary>What an edit makes of the current mesh: a proposed mesh, or a refusal.</summary>
public abstract record EditDecision;

/// <summary>The mesh after the edit (null: the mesh is deleted); <paramref name="Services"/> are the services it touches.</summary>
public sealed record Propose(MeshState? Mesh, IReadOnlyList<string> Services, MeshLifecycle Lifecycle = MeshLifecycle.Edited) : EditDecision;

public enum RefusalKind { NotFound, PreconditionFailed, PreconditionRequired, Conflict }

public sealed record Refuse(RefusalKind Kind, string Detail) : EditDecision;

public abstract record EditOutcome;

public sealed record EditRefused(RefusalKind Kind, string Detail) : EditOutcome;

/// <summary>The change would add these errors; nothing was stored.</summary>
public sealed record EditInvalid(IReadOnlyList<FieldError> Errors) : EditOutcome;

/// <summary>The mesh would stay as it is: nothing to store or publish.</summary>
public sealed record EditUnchanged(MeshState Mesh) : EditOutcome;

/// <summary>A dry run: what applying would do to each affected fleet.</summary>
public sealed record EditPlanned(IReadOnlyList<FleetPlan> Plan) : EditOutcome;

/// <summary>Stored and published: the change record, what it did to each affected fleet, and the "Mesh Config Published" events of its commits.</summary>
public sealed record EditApplied(ChangeRecord Change, IReadOnlyList<FleetPlan> Plan, MeshState? Mesh, IReadOnlyList<ConfigPublished> Events) : EditOutcome;

/// <summary>
/// Applies operator edits to a mesh: validates the whole proposed mesh, compiles every affected fleet from it
/// (so an edit Envoy would refuse is refused here), then stores the services, the change record and the new
/// revision in one guarded write, and publishes. Losing the revision race to another operator re-reads the
/// mesh and decides again, so an edit of another resource is kept, and a stale ETag is caught by the decision.
/// </summary>
public sealed class MeshEditor(IDesiredStateStore desired, SnapshotCache snapshots, FleetPublisher publisher, TimeProvider clock)
{
    private const int MaxAttempts = 8;

    public async Task<EditOutcome> EditAsync(EditRequest request, Func<MeshState?, EditDecision> decide, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var current = await desired.GetMeshAsync(request.Mesh, cancellationToken);
            switch (decide(current))
            {
                case Refuse refuse:
                    return new EditRefused(refuse.Kind, refuse.Detail);
                case Propose proposal:
                    var outcome = await TryProposalAsync(request, current, proposal, cancellationToken);
                    if (outcome is not null) return outcome;
                    if (attempt == MaxAttempts)
                        throw new ConcurrencyConflictException($"mesh '{request.Mesh}' kept changing under this edit for {MaxAttempts} attempts");
                    await Backoff.DelayAsync(attempt + 1, clock, cancellationToken);
                    break;
                default:
                    throw new InvalidOperationException("unknown edit decision");
            }
        }
    }

    /// <summary>Null when another change got to the mesh first.</summary>
    private async Task<EditOutcome?> TryProposalAsync(EditRequest request, MeshState? current, Propose proposal, CancellationToken cancellationToken)
    {
        var changes = proposal.Services
            .Distinct(StringComparer.Ordinal)
            .Select(name => new ServiceChange(name, Stored(current, name), Stored(proposal.Mesh, name)))
            .Where(c => !StoredService.Same(c.Before, c.After))
            .ToList();
        if (changes.Count == 0 && proposal.Lifecycle == MeshLifecycle.Edited && current is not null) return new EditUnchanged(current);

        if (proposal.Mesh is { } proposed)
        {
            var errors = MeshValidator.NewErrors(current, proposed);
            if (errors.Count > 0) return new EditInvalid(errors);
        }
        var fleets = changes
            .SelectMany(c => (current?.FleetsAffectedByDefinition(c.Name) ?? []).Concat(proposal.Mesh?.FleetsAffectedByDefinition(c.Name) ?? []))
            .Distinct().Order(FleetOrder.Instance).ToList();
        var previews = proposal.Mesh is null ? [] : await publisher.PreviewAsync(proposal.Mesh, fleets, cancellationToken);
        var before = new Dictionary<FleetId, FleetSnapshot?>();
        foreach (var preview in previews)
            before[preview.Fleet] = preview.Head is { } head ? await snapshots.GetAsync(preview.Fleet, head.Version, cancellationToken) : null;
        var refusals = previews.Select(p => p.Result).OfType<Refused>().ToList();
        if (refusals.Count > 0)
        {
            return new EditInvalid([.. refusals.SelectMany(r => r.Reasons.Select(reason =>
                new FieldError($"fleets/{r.Fleet.Service}", "$", $"Envoy would reject this fleet's configuration: {reason}")))]);
        }
        if (request.DryRun)
            return new EditPlanned([.. previews.Select(p => FleetPlan.Between(p.Fleet, before[p.Fleet], (p.Result as Compiled)?.Snapshot))]);

        var revision = (current?.Revision ?? 0) + 1;
        var at = clock.GetUtcNow();
        var change = new ChangeRecord
        {
            Id = ChangeIds.New(at, revision),
            Mesh = request.Mesh,
            Revision = revision,
            At = at,
            Actor = request.Actor,
            Reason = request.Reason,
            Operation = request.Operation,
            RollbackOf = request.RollbackOf,
            Lifecycle = proposal.Lifecycle,
            Services = [.. changes],
        };
        if (!await desired.TryApplyAsync(change, cancellationToken)) return null;

        var outcomes = await publisher.CommitAsync(previews, cancellationToken);
        foreach (var outcome in outcomes)
        {
            if (outcome.Snapshot is { } committed) snapshots.Remember(committed);
        }
        var published = outcomes.Select(o => new PublishedVersion(o.Fleet.ToString(), o.Status.ToString(), o.Version, o.PreviousVersion)).ToList();
        await desired.RecordPublishedAsync(change.Mesh, change.Id, published, cancellationToken);
        var plan = outcomes.Select(o => FleetPlan.Between(o.Fleet, before.GetValueOrDefault(o.Fleet), o.Snapshot)).ToList();
        var stored = proposal.Mesh is null ? null : new MeshState(request.Mesh, proposal.Mesh.Services.Values, revision);
        var events = outcomes.Select(o => ConfigEvents.Of(o, before.GetValueOrDefault(o.Fleet), $"change {change.Id} by {change.Actor}", at)).OfType<ConfigPublished>().ToList();
        return new EditApplied(change with { Published = [.. published] }, plan, stored, events);
    }

    private static StoredService? Stored(MeshState? mesh, string service) =>
        mesh is not null && mesh.Services.TryGetValue(service, out var definition) ? StoredService.From(definition) : null;
}

public static class ChangeIds
{
    /// <summary>Sorts by time, then revision: "20261124T190000123Z-000042".</summary>
    public static string New(DateTimeOffset at, long revision) =>
        $"{at.UtcDateTime:yyyyMMdd'T'HHmmssfff'Z'}-{revision:D6}";
}
