using System.Text.Json;
using Mesh.Core.Editing;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Serving;
using Mesh.Core.Storage;

namespace Mesh.Api;

/// <summary>One edited resource in a change: its JSON before and after (null where it did not exist).</summary>
public sealed record ResourceChangeView(string Resource, JsonElement? Before, JsonElement? After);

public sealed record ChangeView(string Id, string Mesh, long Revision, DateTimeOffset At, string Actor, string? Reason, string Operation,
    string? RollbackOf, MeshLifecycle Lifecycle, IReadOnlyList<ResourceChangeView> Resources, IReadOnlyList<PublishedVersion> Published)
{
    /// <summary>The change as operators edit it: per resource (service, routes, policy), only those that differ.</summary>
    public static ChangeView From(ChangeRecord change) => new(change.Id, change.Mesh, change.Revision, change.At, change.Actor, change.Reason,
        change.Operation, change.RollbackOf, change.Lifecycle, [.. change.Services.SelectMany(EditedResources)], change.Published);

    private static IEnumerable<ResourceChangeView> EditedResources(ServiceChange change)
    {
        var parts = new (string Resource, Func<StoredService, byte[]> Json)[]
        {
            (MeshValidator.ServiceResource(change.Name), s => JsonSerializer.SerializeToUtf8Bytes(s.Service, StateJson.Default.ServiceDefinition)),
            (MeshValidator.RoutesResource(change.Name), s => JsonSerializer.SerializeToUtf8Bytes(new RouteTable { Routes = s.Routes }, StateJson.Default.RouteTable)),
            (MeshValidator.PolicyResource(change.Name), s => JsonSerializer.SerializeToUtf8Bytes(s.Policy, StateJson.Default.ServicePolicy)),
        };
        foreach (var (resource, json) in parts)
        {
            var before = change.Before is null ? null : json(change.Before);
            var after = change.After is null ? null : json(change.After);
            if (before is not null && after is not null && before.AsSpan().SequenceEqual(after)) continue;
            if (before is null && after is not null && resource != MeshValidator.ServiceResource(change.Name) && IsDefault(after, json)) continue;
            yield return new ResourceChangeView(resource, Element(before), Element(after));
        }
    }

    /// <summary>A new service's empty routes and default policy are not edits of their own.</summary>
    private static bool IsDefault(byte[] after, Func<StoredService, byte[]> json) =>
        after.AsSpan().SequenceEqual(json(new StoredService { Service = new ServiceDefinition() }));

    private static JsonElement? Element(byte[]? json) => json is null ? null : JsonDocument.Parse(json).RootElement.Clone();
}

public sealed record ChangePageView(IReadOnlyList<ChangeView> Items, string? Next);

/// <summary>Per fleet a change published to: its version, and how many proxies run it, run another, or rejected one.</summary>
public sealed record FleetConvergence(string Fleet, string? Version, string? HeadVersion, ConvergenceCounts? Counts);

public sealed record ChangeConvergence(string Change, IReadOnlyList<FleetConvergence> Fleets);

/// <summary>The audit trail: changes (paged, newest first), one change, its convergence, and rollback.</summary>
public static class ChangeEndpoints
{
    public const int MaxPage = 100;

    public static IEndpointRouteBuilder MapChanges(this IEndpointRouteBuilder app)
    {
        var meshes = app.MapGroup("/v1/meshes").WithTags("changes");

        meshes.MapGet("/{mesh}/changes", async Task<IResult> (string mesh, int? limit, string? after, IDesiredStateStore desired, CancellationToken ct) =>
        {
            if (limit is < 1 or > MaxPage)
                return Problems.Invalid(StatusCodes.Status400BadRequest, "Invalid query", [new FieldError("changes", "$.limit", $"must be between 1 and {MaxPage}")]);
            var page = await desired.ListChangesAsync(mesh, after, limit ?? 20, ct);
            return Results.Json(new ChangePageView([.. page.Items.Select(ChangeView.From)], page.Next), ApiJson.Default.ChangePageView);
        }).Produces<ChangePageView>().WithSummary("Changes, newest first (?limit=1..100, ?after=<next>)");

        meshes.MapGet("/{mesh}/changes/{id}", async Task<IResult> (string mesh, string id, IDesiredStateStore desired, CancellationToken ct) =>
            await desired.GetChangeAsync(mesh, id, ct) is { } change
                ? Results.Json(ChangeView.From(change), ApiJson.Default.ChangeView)
                : NoChange(mesh, id))
            .Produces<ChangeView>().WithSummary("One change: actor, reason, resources before and after, versions published");

        meshes.MapGet("/{mesh}/changes/{id}/convergence", async Task<IResult> (string mesh, string id, IDesiredStateStore desired, ISnapshotStore snapshots, ProxyTracker proxies, CancellationToken ct) =>
        {
            if (await desired.GetChangeAsync(mesh, id, ct) is not { } change) return NoChange(mesh, id);
            var fleets = new List<FleetConvergence>();
            foreach (var published in change.Published)
            {
                if (!FleetId.TryParse(published.Fleet, out var fleet)) continue;
                var head = await snapshots.GetHeadAsync(fleet, ct);
                var target = published.Version is null ? null : await snapshots.GetAsync(fleet, published.Version, ct);
                fleets.Add(new FleetConvergence(published.Fleet, published.Version, head?.Version, target is null ? null : await proxies.CountAsync(target, ct)));
            }
            return Results.Json(new ChangeConvergence(change.Id, fleets), ApiJson.Default.ChangeConvergence);
        }).Produces<ChangeConvergence>().WithSummary("Per fleet: proxies on the change's version, behind it, or rejecting it");

        meshes.MapGet("/{mesh}/fleets/{service}/convergence", async Task<IResult> (string mesh, string service, SnapshotCache cache, ProxyTracker proxies, CancellationToken ct) =>
        {
            var fleet = new FleetId(mesh, service);
            if (await cache.GetCurrentAsync(fleet, ct) is not { } head)
                return Problems.Status(StatusCodes.Status404NotFound, "Unknown fleet", $"fleet '{fleet}' has no compiled configuration");
            return Results.Json(new FleetConvergence(fleet.ToString(), head.Version, head.Version, await proxies.CountAsync(head, ct)), ApiJson.Default.FleetConvergence);
        }).Produces<FleetConvergence>().WithSummary("A fleet's proxies against its current snapshot");

        meshes.MapPost("/{mesh}/changes/{id}/rollback", async Task<IResult> (string mesh, string id, HttpContext http, IDesiredStateStore desired, EditRunner runner, CancellationToken ct) =>
        {
            if (await desired.GetChangeAsync(mesh, id, ct) is not { } change) return NoChange(mesh, id);
            if (change.Lifecycle != MeshLifecycle.Edited)
                return Problems.Status(StatusCodes.Status409Conflict, "Conflict", $"change {id} {change.Lifecycle.ToString().ToLowerInvariant()} the mesh; create or delete the mesh instead");
            var services = change.Services.Select(s => s.Name).ToList();
            return await runner.RunAsync(http, mesh, current =>
            {
                if (current is null) return new Refuse(RefusalKind.NotFound, $"mesh '{mesh}' does not exist");
                var restored = change.Services.Aggregate(current, (state, s) => state.With(s.Name, s.Before?.ToDefinition()));
                return new Propose(restored, services);
            }, _ => null, created: false, ct, rollbackOf: id);
        }).RequireAuthorization(Auth.OperatorPolicy).Produces<EditResult>().ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .WithSummary("Restore what a change replaced, as a new change (?dryRun=true for the plan)");

        return app;
    }

    private static IResult NoChange(string mesh, string id) =>
        Problems.Status(StatusCodes.Status404NotFound, "Not found", $"mesh '{mesh}' has no change '{id}'");
}
