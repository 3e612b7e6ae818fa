using System.Text.Json;
using Mesh.Contracts.State;
using Mesh.Core.Editing;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Serving;
using Mesh.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Mesh.Api;

/// <summary>One edited resource in a change: its JSON before and after (null where it did not exist).</summary>
public sealed record ResourceChangeView(string Resource, JsonElement? Before, JsonElement? After);

public sealed record ChangeView(string Id, string Mesh, string Generation, long Revision, DateTimeOffset At, string Actor, string? Reason, string Operation,
    string? RollbackOf, MeshLifecycle Lifecycle, IReadOnlyList<ResourceChangeView> Resources, IReadOnlyList<PublishedVersion> Published)
{
    public static ChangeView From(ChangeRecord change) => new(change.Id, change.Mesh, change.Generation, change.Revision, change.At, change.Actor, change.Reason,
        change.Operation, change.RollbackOf, change.Lifecycle,
        [.. ChangeDiff.Of(change).Select(r => new ResourceChangeView(r.Resource, Json(r.Before, r.Part), Json(r.After, r.Part))).Concat(Gateways(change)).Concat(Settings(change))],
        change.Published);

    private static IEnumerable<ResourceChangeView> Gateways(ChangeRecord change) =>
        change.Gateways.Select(g => new ResourceChangeView(MeshValidator.GatewayResource(g.Name), Json(g.Before), Json(g.After)));

    private static JsonElement? Json(GatewayDefinition? gateway) =>
        gateway is null ? null : JsonSerializer.SerializeToElement(gateway, StateJson.Default.GatewayDefinition);

    private static IEnumerable<ResourceChangeView> Settings(ChangeRecord change) => change.Settings is { } settings
        ? [new ResourceChangeView(MeshValidator.SettingsResource, JsonSerializer.SerializeToElement(settings.Before, StateJson.Default.MeshSettings),
            JsonSerializer.SerializeToElement(settings.After, StateJson.Default.MeshSettings))]
        : [];

    private static JsonElement? Json(StoredService? service, ServicePart part) => service is null ? null : part switch
    {
        ServicePart.Routes => JsonSerializer.SerializeToElement(new RouteTable { Routes = service.Routes }, StateJson.Default.RouteTable),
        ServicePart.Policy => JsonSerializer.SerializeToElement(service.Policy, StateJson.Default.ServicePolicy),
        _ => JsonSerializer.SerializeToElement(service.Service, StateJson.Default.ServiceDefinition),
    };
}

public sealed record ChangePageView(IReadOnlyList<ChangeView> Items, string? Next);

/// <summary>The audit trail: changes (paged, newest first), one change, its convergence, and rollback.</summary>
public static class ChangeEndpoints
{
    public const int MaxPage = 100;

    public static IEndpointRouteBuilder MapChanges(this IEndpointRouteBuilder app)
    {
        var meshes = app.MapGroup("/v1/meshes").WithTags("changes");
        meshes.MapGet("/{mesh}/changes", ListChanges).Produces<ChangePageView>().WithSummary("Changes, newest first (?limit=1..100, ?after=<next>)");
        meshes.MapGet("/{mesh}/changes/{id}", GetChange).Produces<ChangeView>().WithSummary("One change: actor, reason, resources before and after, versions published");
        meshes.MapGet("/{mesh}/changes/{id}/convergence", ChangeConvergence).Produces<ChangeConvergence>().WithSummary("Per fleet: proxies on the change's version, behind it, or rejecting it");
        meshes.MapGet("/{mesh}/fleets/{service}/convergence", FleetConvergence).Produces<FleetConvergence>().WithSummary("A fleet's proxies against its current snapshot");
        meshes.MapPost("/{mesh}/changes/{id}/rollback", Rollback).RequireAuthorization(Auth.OperatorPolicy)
            .Produces<EditResult>().ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity).ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Restore what a change replaced, as a new change (?dryRun=true for the plan)");
        return app;
    }

    private static async Task<Results<JsonHttpResult<ChangePageView>, ProblemHttpResult>> ListChanges(string mesh, string? limit, string? after,
        IDesiredStateStore desired, CancellationToken ct)
    {
        var size = 20;
        if (limit is not null && (!int.TryParse(limit, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out size) || size is < 1 or > MaxPage))
            return Problems.Invalid(StatusCodes.Status400BadRequest, "Invalid query", [new FieldError("changes", "$.limit", $"must be a whole number between 1 and {MaxPage}")]);
        var page = await desired.ListChangesAsync(mesh, after, size, ct);
        return TypedResults.Json(new ChangePageView([.. page.Items.Select(ChangeView.From)], page.Next), ApiJson.Default.ChangePageView);
    }

    private static async Task<Results<JsonHttpResult<ChangeView>, ProblemHttpResult>> GetChange(string mesh, string id, IDesiredStateStore desired, CancellationToken ct) =>
        await desired.GetChangeAsync(mesh, id, ct) is { } change ? TypedResults.Json(ChangeView.From(change), ApiJson.Default.ChangeView) : NoChange(mesh, id);

    private static async Task<Results<JsonHttpResult<ChangeConvergence>, ProblemHttpResult>> ChangeConvergence(string mesh, string id, IDesiredStateStore desired,
        ConvergenceQueries convergence, CancellationToken ct) =>
        await desired.GetChangeAsync(mesh, id, ct) is { } change
            ? TypedResults.Json(await convergence.OfChangeAsync(change, ct), ApiJson.Default.ChangeConvergence)
            : NoChange(mesh, id);

    private static async Task<Results<JsonHttpResult<FleetConvergence>, ProblemHttpResult>> FleetConvergence(string mesh, string service,
        ConvergenceQueries convergence, CancellationToken ct) =>
        await convergence.OfFleetAsync(new FleetId(mesh, service), ct) is { } fleet
            ? TypedResults.Json(fleet, ApiJson.Default.FleetConvergence)
            : Problems.NotFound("Unknown fleet", $"fleet '{mesh}/{service}' has no compiled configuration");

    private static Task<Results<JsonHttpResult<EditResult>, ProblemHttpResult>> Rollback(string mesh, string id, HttpContext http, EditRunner runner, CancellationToken ct) =>
        runner.RollbackAsync(http, mesh, id, ct);

    private static ProblemHttpResult NoChange(string mesh, string id) => Problems.NotFound("Not found", $"mesh '{mesh}' has no change '{id}'");
}
