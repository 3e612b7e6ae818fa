using Mesh.Core.Editing;
using Mesh.Core.Model;
using Mesh.Core.Pipeline;
using Mesh.Hosting;
using Mesh.Hosting.Metrics;
using Microsoft.AspNetCore.Http.HttpResults;
using EditResponse = Microsoft.AspNetCore.Http.HttpResults.Results<Microsoft.AspNetCore.Http.HttpResults.JsonHttpResult<Mesh.Api.EditResult>, Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult>;

namespace Mesh.Api;

/// <summary>The result of a write: the change it recorded (none for a dry run or a no-op) and its plan per fleet.</summary>
public sealed record EditResult(bool DryRun, ChangeView? Change, IReadOnlyList<FleetPlan> Plan);

/// <summary>Runs an edit or a rollback through the core's edit use case for an HTTP request, and maps its outcome to a response.</summary>
public sealed class EditRunner(MeshEdits edits, MetricsSink metricsSink, TimeProvider clock, ILogger<EditRunner> log)
{
    public async Task<EditResponse> RunAsync(HttpContext http, string mesh, Func<MeshState?, EditDecision> decide, Func<MeshState?, string?> tagAfter, bool created,
        CancellationToken ct)
    {
        var started = clock.GetUtcNow();
        if (Request(http, mesh) is not { } request) return DryRunProblem(http);
        return Respond(http, await edits.EditAsync(request, decide, ct), tagAfter, created, started);
    }

    public async Task<EditResponse> RollbackAsync(HttpContext http, string mesh, string changeId, CancellationToken ct)
    {
        var started = clock.GetUtcNow();
        if (Request(http, mesh) is not { } request) return DryRunProblem(http);
        return Respond(http, await edits.RollbackAsync(request, changeId, ct), _ => null, created: false, started);
    }

    private EditResponse Respond(HttpContext http, EditReport report, Func<MeshState?, string?> tagAfter, bool created, DateTimeOffset started)
    {
        Measure(http, report, started);
        foreach (var failure in report.After.Failures)
            log.LogError("after change: {Step} of {Subject} failed: {Reason}", failure.Step, LogText.Safe(failure.Subject), LogText.Safe(failure.Reason));
        switch (report.Outcome)
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
                return TypedResults.Json(new EditResult(false, null, []), ApiJson.Default.EditResult);
            case EditPlanned:
                return TypedResults.Json(new EditResult(true, null, report.Plan), ApiJson.Default.EditResult);
            case EditApplied applied:
                SetTag(http, tagAfter(applied.Mesh));
                var change = applied.Change;
                var createdNow = created && change.Services.All(s => s.Before is null) && change.Gateways.All(g => g.Before is null)
                    && (change.Services.Length + change.Gateways.Length > 0 || change.Lifecycle == MeshLifecycle.Created);
                return TypedResults.Json(new EditResult(false, ChangeView.From(applied.Change), report.Plan), ApiJson.Default.EditResult,
                    statusCode: createdNow ? StatusCodes.Status201Created : StatusCodes.Status200OK);
            default:
                throw new InvalidOperationException("unknown edit outcome");
        }
    }

    /// <summary>One metrics document per applied or refused edit (a dry run or a no-op has none).</summary>
    private void Measure(HttpContext http, EditReport report, DateTimeOffset started)
    {
        var metrics = LambdaContext.Metrics("api", http);
        switch (report.Outcome)
        {
            case EditApplied applied:
                metrics.Count(PipelineMetrics.EditsApplied);
                PipelineMetrics.Published(metrics, applied.Outcomes);
                PipelineMetrics.Latency(metrics, clock.GetUtcNow() - started);
                log.LogInformation("change {ChangeId} by {Actor} to mesh {Mesh} ({Operation}): {Fleets} fleets published",
                    applied.Change.Id, LogText.Safe(applied.Change.Actor), applied.Change.Mesh, LogText.Safe(applied.Change.Operation), applied.Outcomes.Count);
                break;
            case EditRefused or EditInvalid:
                metrics.Count(PipelineMetrics.EditsRefused);
                break;
        }
        metricsSink.Write(metrics);
    }

    private static EditRequest? Request(HttpContext http, string mesh) =>
        DryRun(http) is { } dryRun ? new EditRequest(mesh, http.Actor(), Reason(http), $"{http.Request.Method} {http.Request.Path}", dryRun) : null;

    private static void SetTag(HttpContext http, string? tag)
    {
        if (tag is not null) http.Response.Headers.ETag = tag;
    }

    private static string? Reason(HttpContext http) => http.Request.Headers[EditEndpoints.ReasonHeader].FirstOrDefault() is { Length: > 0 } reason ? reason : null;

    /// <summary>?dryRun is true or false (any case), once; anything else is not a guess at what was meant, but a refusal. Null when invalid.</summary>
    private static bool? DryRun(HttpContext http)
    {
        var values = http.Request.Query["dryRun"];
        if (values.Count == 0) return false;
        return values.Count == 1 && bool.TryParse(values[0], out var parsed) && values[0]!.Trim().Length == values[0]!.Length ? parsed : null;
    }

    private static ProblemHttpResult DryRunProblem(HttpContext http) =>
        Problems.Invalid(StatusCodes.Status400BadRequest, "Invalid query", [new FieldError("query", "$.dryRun",
            $"must be true or false, once (got '{LogText.Safe(http.Request.Query["dryRun"].ToString())}')")]);
}
