using Mesh.Core.Editing;
using Mesh.Core.Model;
using Mesh.Core.Pipeline;
using Mesh.Core.Ports;

namespace Mesh.Api;

/// <summary>The result of a write: the change it recorded (none for a dry run or a no-op) and its plan per fleet.</summary>
public sealed record EditResult(bool DryRun, ChangeView? Change, IReadOnlyList<FleetPlan> Plan);

/// <summary>
/// Runs an edit through the MeshEditor for an HTTP request and turns the outcome into a response. After an applied
/// change it announces the new snapshots and updates the registry for services whose endpoints or port it changed;
/// both are logged when they fail, since the change itself is stored and served (the next endpoint event of the
/// workload registers it again).
/// </summary>
public sealed class EditRunner(MeshEditor editor, ProxyTracker proxies, ILogger<EditRunner> log, RegistrySync? registry = null, IConfigEventSink? configEvents = null)
{
    public async Task<IResult> RunAsync(HttpContext http, string mesh, Func<MeshState?, EditDecision> decide, Func<MeshState?, string?> tagAfter, bool created,
        CancellationToken ct, string? rollbackOf = null)
    {
        var request = new EditRequest(mesh, http.Actor(), Reason(http), $"{http.Request.Method} {http.Request.Path}", DryRun(http), rollbackOf);
        return await RespondAsync(http, await editor.EditAsync(request, decide, ct), tagAfter, created, ct);
    }

    private async Task<IResult> RespondAsync(HttpContext http, EditOutcome outcome, Func<MeshState?, string?> tagAfter, bool created, CancellationToken ct)
    {
        switch (outcome)
        {
            case EditRefused refused:
                return Problems.Status(refused.Kind switch
                {
                    RefusalKind.NotFound => StatusCodes.Status404NotFound,
                    RefusalKind.PreconditionFailed => StatusCodes.Status412PreconditionFailed,
                    RefusalKind.PreconditionRequired => StatusCodes.Status428PreconditionRequired,
                    _ => StatusCodes.Status409Conflict,
                }, refused.Kind.ToString(), refused.Detail);
            case EditInvalid invalid:
                return Problems.Invalid(StatusCodes.Status422UnprocessableEntity, "Invalid change", invalid.Errors);
            case EditUnchanged unchanged:
                SetTag(http, tagAfter(unchanged.Mesh));
                return Results.Json(new EditResult(false, null, []), ApiJson.Default.EditResult);
            case EditPlanned planned:
                return Results.Json(new EditResult(true, null, await WithProxiesAsync(planned.Plan, ct)), ApiJson.Default.EditResult);
            case EditApplied applied:
                await AfterApplyAsync(applied, ct);
                SetTag(http, tagAfter(applied.Mesh));
                var result = new EditResult(false, ChangeView.From(applied.Change), await WithProxiesAsync(applied.Plan, ct));
                var createdNow = created && applied.Change.Services.All(s => s.Before is null) && (applied.Change.Services.Length > 0 || applied.Change.Lifecycle == MeshLifecycle.Created);
                return Results.Json(result, ApiJson.Default.EditResult, statusCode: createdNow ? StatusCodes.Status201Created : StatusCodes.Status200OK);
            default:
                throw new InvalidOperationException("unknown edit outcome");
        }
    }

    private async Task AfterApplyAsync(EditApplied applied, CancellationToken ct)
    {
        try
        {
            if (configEvents is not null && applied.Events.Count > 0) await configEvents.PublishAsync(applied.Events, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogError(e, "config published events of change {ChangeId} not sent: {Reason}", applied.Change.Id, e.Message);
        }
        if (registry is null) return;
        foreach (var service in applied.Change.Services.Where(RegistrationChanged))
        {
            try
            {
                await registry.SyncServiceAsync(new FleetId(applied.Change.Mesh, service.Name), service.After?.Service, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogError(e, "registry sync of {Mesh}/{Service} after change {ChangeId} failed: {Reason}", applied.Change.Mesh, service.Name, applied.Change.Id, e.Message);
            }
        }
    }

    private static bool RegistrationChanged(ServiceChange change) =>
        change.Before?.Service.Workload != change.After?.Service.Workload || change.Before?.Service.Port != change.After?.Service.Port;

    private async Task<IReadOnlyList<FleetPlan>> WithProxiesAsync(IReadOnlyList<FleetPlan> plan, CancellationToken ct)
    {
        var counted = new List<FleetPlan>();
        foreach (var fleet in plan)
            counted.Add(FleetId.TryParse(fleet.Fleet, out var id) ? fleet with { Proxies = await proxies.CountProxiesAsync(id, ct) } : fleet);
        return counted;
    }

    private static void SetTag(HttpContext http, string? tag)
    {
        if (tag is not null) http.Response.Headers.ETag = tag;
    }

    private static string? Reason(HttpContext http) => http.Request.Headers[EditEndpoints.ReasonHeader].FirstOrDefault() is { Length: > 0 } reason ? reason : null;

    internal static bool DryRun(HttpContext http) =>
        http.Request.Query["dryRun"].FirstOrDefault() is { } value && (value.Length == 0 || bool.TryParse(value, out var parsed) && parsed);
}
