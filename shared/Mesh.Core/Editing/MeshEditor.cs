using Mesh.Core.Compile;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Publishing;
using Mesh.Core.Resilience;
using Mesh.Core.Serving;
using Mesh.Core.Snapshots;
using Mesh.Core.Telemetry;

namespace Mesh.Core.Editing;

/// <summary>Who asks for an edit, why, and whether only to see its plan.</summary>
public sealed record EditRequest(string Mesh, string Actor, string? Reason, string Operation, bool DryRun, string? RollbackOf = null);

/// <summary>What an edit makes of the current mesh: a proposed mesh, or a refusal.</summary>
public abstract record EditDecision;

/// <summary>The mesh after the edit (null: the mesh is deleted); <paramref name="Services"/> are the services it touches.</summary>
public sealed record Propose(MeshState? Mesh, IReadOnlyList<string> Services, MeshLifecycle Lifecycle = MeshLifecycle.Edited) : EditDecision
{
    /// <summary>The gateways it touches.</summary>
    public IReadOnlyList<string> Gateways { get; init; } = [];
}

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

/// <summary>Stored and published: the change record, what it did to each affected fleet, and each fleet's publish.</summary>
public sealed record EditApplied(ChangeRecord Change, IReadOnlyList<FleetPlan> Plan, MeshState? Mesh, IReadOnlyList<PublishOutcome> Outcomes) : EditOutcome;

/// <summary>
/// Applies operator edits to a mesh: validates the whole proposed mesh, compiles every affected fleet from it
/// (so an edit Envoy would refuse is refused here), then stores the services, the change record and the new
/// revision in one guarded write, and publishes. Losing the revision race to another operator re-reads the
/// mesh and decides again, so an edit of another resource is kept, and a stale ETag is caught by the decision.
/// </summary>
public sealed class MeshEditor(IDesiredStateStore desired, SnapshotCache snapshots, FleetPublisher publisher, XdsSettings settings, TimeProvider clock, GuardedRetry retry)
{
    public Task<EditOutcome> EditAsync(EditRequest request, Func<MeshState?, EditDecision> decide, CancellationToken cancellationToken) =>
        retry.RunAsync($"mesh '{request.Mesh}'", async _ =>
        {
            using var span = PipelineTracing.Start(PipelineTracing.Edit);
            span?.SetTag("mesh.mesh", request.Mesh);
            span?.SetTag("mesh.operation", request.Operation);
            var current = await desired.GetMeshAsync(request.Mesh, cancellationToken);
            return decide(current) switch
            {
                Refuse refuse => new EditRefused(refuse.Kind, refuse.Detail),
                Propose proposal => await TryProposalAsync(request, current, proposal, cancellationToken),
                _ => throw new InvalidOperationException("unknown edit decision"),
            };
        }, cancellationToken);

    /// <summary>Null when another change got to the mesh first.</summary>
    private async Task<EditOutcome?> TryProposalAsync(EditRequest request, MeshState? current, Propose proposal, CancellationToken cancellationToken)
    {
        var changes = proposal.Services
            .Distinct(StringComparer.Ordinal)
            .Select(name => new ServiceChange(name, Stored(current, name), Stored(proposal.Mesh, name)))
            .Where(c => !StoredService.Same(c.Before, c.After))
            .ToList();
        var gatewayChanges = proposal.Gateways
            .Distinct(StringComparer.Ordinal)
            .Select(name => new GatewayChange(name, current?.Gateways.GetValueOrDefault(name), proposal.Mesh?.Gateways.GetValueOrDefault(name)))
            .Where(c => !GatewayDefinition.Same(c.Before, c.After))
            .ToList();
        var settingsBefore = current?.Settings ?? MeshSettings.Default;
        var settingsAfter = proposal.Mesh?.Settings ?? MeshSettings.Default;
        var settingsChange = SettingsChange.Same(settingsBefore, settingsAfter) ? null : new SettingsChange(settingsBefore, settingsAfter);
        if (changes.Count == 0 && gatewayChanges.Count == 0 && settingsChange is null && proposal.Lifecycle == MeshLifecycle.Edited && current is not null) return new EditUnchanged(current);

        if (changes.Count + gatewayChanges.Count > desired.MaxServicesPerChange)
        {
            return new EditInvalid([new FieldError("spec", "$.services",
                $"changes {changes.Count} services and {gatewayChanges.Count} gateways; this store writes at most {desired.MaxServicesPerChange} in one change: apply it in steps")]);
        }
        if (proposal.Mesh is { } proposed)
        {
            using var validate = PipelineTracing.Start(PipelineTracing.Validate);
            var exceeded = EditLimits.Exceeded(proposed, changes.Select(c => c.Name).Concat(gatewayChanges.Select(g => g.Name)).ToHashSet(StringComparer.Ordinal));
            if (exceeded.Count > 0) return new EditInvalid(exceeded);
            var errors = MeshValidator.NewErrors(current, proposed, settings);
            if (errors.Count > 0) return new EditInvalid(errors);
        }
        var fleets = changes
            .SelectMany(c => (current?.FleetsAffectedByDefinition(c.Name) ?? []).Concat(proposal.Mesh?.FleetsAffectedByDefinition(c.Name) ?? []))
            .Concat(gatewayChanges.Select(g => new FleetId(request.Mesh, g.Name)))
            .Concat(settingsChange is null ? [] : (proposal.Mesh?.Fleets ?? []))
            .Distinct().Order(FleetOrder.Instance).ToList();
        var revision = (current?.Revision ?? 0) + 1;
        var at = clock.GetUtcNow();
        var generation = current is null || proposal.Lifecycle == MeshLifecycle.Created ? MeshGenerations.New(at) : current.Generation;
        var stored = proposal.Mesh?.At(revision, generation);
        var previews = stored is null ? [] : await publisher.PreviewAsync(stored, fleets, cancellationToken);
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

        var change = new ChangeRecord
        {
            Id = ChangeIds.New(at, revision),
            Mesh = request.Mesh,
            Generation = generation,
            Revision = revision,
            At = at,
            Actor = request.Actor,
            Reason = request.Reason,
            Operation = request.Operation,
            RollbackOf = request.RollbackOf,
            Lifecycle = proposal.Lifecycle,
            Services = [.. changes],
            Gateways = [.. gatewayChanges],
            Settings = settingsChange,
        };
        using (PipelineTracing.Start(PipelineTracing.Store))
        {
            if (!await desired.TryApplyAsync(change, cancellationToken)) return null;
        }

        var outcomes = await publisher.CommitAsync(previews, cancellationToken);
        var published = outcomes.Select(o => new PublishedVersion(o.Fleet.ToString(), o.Status.ToString(), o.Version, o.PreviousVersion)).ToList();
        await desired.RecordPublishedAsync(change.Mesh, change.Id, published, cancellationToken);
        var plan = outcomes.Select(o => FleetPlan.Between(o.Fleet, before.GetValueOrDefault(o.Fleet), o.Snapshot)).ToList();
        return new EditApplied(change with { Published = [.. published] }, plan, stored, outcomes);
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
