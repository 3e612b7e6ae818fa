using System.Text.Json;
using Mesh.Contracts.State;
using Mesh.Core.Editing;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using EditResponse = Microsoft.AspNetCore.Http.HttpResults.Results<Microsoft.AspNetCore.Http.HttpResults.JsonHttpResult<Mesh.Api.EditResult>, Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult>;

namespace Mesh.Api;

/// <summary>
/// The policy API: meshes, services, routes and policies, each with an ETag. Writes need an authenticated caller
/// and, for an existing resource, If-Match; ?dryRun=true returns the plan and stores nothing.
/// </summary>
public static class EditEndpoints
{
    public const string ReasonHeader = "X-Change-Reason";

    public static IEndpointRouteBuilder MapEdits(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/schemas/mesh-spec.json", () => TypedResults.Text(MeshSpecSchema.Text, "application/schema+json"))
            .WithTags("policy").WithSummary("JSON Schema of the declarative mesh document, for editors and CI checks");
        var meshes = app.MapGroup("/v1/meshes").WithTags("policy").ProducesProblem(StatusCodes.Status404NotFound);
        meshes.MapGet("/{mesh}", GetMesh).Produces<MeshView>().WithSummary("A mesh: its revision (ETag) and services");
        meshes.MapPut("/{mesh}", PutMesh).RequireAuthorization(Auth.OperatorPolicy).WithSummary("Create a mesh (idempotent)").Produces<EditResult>(StatusCodes.Status201Created);
        meshes.MapDelete("/{mesh}", DeleteMesh).RequireAuthorization(Auth.OperatorPolicy).WithSummary("Delete an empty mesh (If-Match required)")
            .Produces<EditResult>().ProducesProblem(StatusCodes.Status409Conflict);
        meshes.MapGet("/{mesh}/spec", GetSpec).Produces<MeshSpec>().WithSummary("The whole mesh as one declarative document (?format=yaml); ETag: the mesh's revision");
        meshes.MapPut("/{mesh}/spec", PutSpec).RequireAuthorization(Auth.OperatorPolicy)
            .WithEditMetadata<MeshSpec>(["application/json", "application/yaml"], "Make the mesh exactly this document (JSON or YAML), as one change; services it leaves out are deleted (If-Match: the mesh's ETag, when it exists)");
        meshes.MapGet("/{mesh}/settings", GetSettings).Produces<MeshSettings>().WithSummary("The mesh's settings: egress (ETag in the response)");
        meshes.MapPut("/{mesh}/settings", PutSettings).RequireAuthorization(Auth.OperatorPolicy)
            .WithEditMetadata<MeshSettings>("Replace the mesh's settings, compiled into every fleet (If-Match required)");
        meshes.MapGet("/{mesh}/gateways/{gateway}", GetGateway).Produces<GatewayDefinition>().WithSummary("An ingress gateway: its listeners and routes (ETag in the response)");
        meshes.MapPut("/{mesh}/gateways/{gateway}", PutGateway).RequireAuthorization(Auth.OperatorPolicy)
            .WithEditMetadata<GatewayDefinition>("Create or replace an ingress gateway, a fleet of its own (If-Match to replace)");
        meshes.MapDelete("/{mesh}/gateways/{gateway}", DeleteGateway).RequireAuthorization(Auth.OperatorPolicy)
            .WithSummary("Delete a gateway no service names among its allowed callers (If-Match required)").Produces<EditResult>();
        meshes.MapGet("/{mesh}/services/{service}", GetService).Produces<ServiceDefinition>().WithSummary("A service (ETag in the response)");
        meshes.MapPut("/{mesh}/services/{service}", PutService).RequireAuthorization(Auth.OperatorPolicy)
            .WithEditMetadata<ServiceDefinition>("Create or replace a service (If-Match to replace)");
        meshes.MapDelete("/{mesh}/services/{service}", DeleteService).RequireAuthorization(Auth.OperatorPolicy)
            .WithSummary("Delete a service no other service calls (If-Match required)").Produces<EditResult>();
        meshes.MapGet("/{mesh}/services/{service}/routes", GetRoutes).Produces<RouteTable>().WithSummary("A service's ordered routes (ETag in the response)");
        meshes.MapPut("/{mesh}/services/{service}/routes", PutRoutes).RequireAuthorization(Auth.OperatorPolicy)
            .WithEditMetadata<RouteTable>("Replace a service's routes (If-Match required)");
        meshes.MapGet("/{mesh}/services/{service}/policy", GetPolicy).Produces<ServicePolicy>().WithSummary("A service's policy (ETag in the response)");
        meshes.MapPut("/{mesh}/services/{service}/policy", PutPolicy).RequireAuthorization(Auth.OperatorPolicy)
            .WithEditMetadata<ServicePolicy>("Replace a service's policy (If-Match required)");
        return app;
    }

    private static async Task<Results<JsonHttpResult<MeshView>, ProblemHttpResult>> GetMesh(string mesh, HttpContext http, IDesiredStateStore desired, CancellationToken ct)
    {
        if (await desired.GetMeshAsync(mesh, ct) is not { } state) return NotFound($"mesh '{mesh}' does not exist");
        http.Response.Headers.ETag = ResourceTags.Mesh(state);
        return TypedResults.Json(new MeshView(state.Name, state.Revision, [.. state.Services.Keys], [.. state.Gateways.Keys]), ApiJson.Default.MeshView);
    }

    private static Task<EditResponse> PutMesh(string mesh, HttpContext http, EditRunner runner, CancellationToken ct) =>
        runner.RunAsync(http, mesh, current => current is null
            ? new Propose(new MeshState(mesh, []), [], MeshLifecycle.Created)
            : new Propose(current, []), s => s is null ? null : ResourceTags.Mesh(s), created: true, ct);

    private static Task<EditResponse> DeleteMesh(string mesh, HttpContext http, EditRunner runner, CancellationToken ct) =>
        runner.RunAsync(http, mesh, current =>
        {
            if (current is null) return new Refuse(RefusalKind.NotFound, $"mesh '{mesh}' does not exist");
            if (Precondition(http, $"mesh '{mesh}'", ResourceTags.Mesh(current)) is { } refused) return refused;
            if (!current.Services.IsEmpty || !current.Gateways.IsEmpty)
                return new Refuse(RefusalKind.Conflict,
                    $"mesh '{mesh}' still has services or gateways ({string.Join(", ", current.Services.Keys.Concat(current.Gateways.Keys))}); delete them first");
            return new Propose(null, [], MeshLifecycle.Deleted);
        }, _ => null, created: false, ct);

    private static async Task<Results<FileContentHttpResult, ContentHttpResult, ProblemHttpResult>> GetSpec(string mesh, string? format, HttpContext http, IDesiredStateStore desired,
        CancellationToken ct)
    {
        if (format is not (null or "json" or "yaml"))
            return Problems.Invalid(StatusCodes.Status400BadRequest, "Invalid query", [new FieldError("spec", "$.format", "must be json or yaml")]);
        if (await desired.GetMeshAsync(mesh, ct) is not { } state) return NotFound($"mesh '{mesh}' does not exist");
        http.Response.Headers.ETag = ResourceTags.Mesh(state);
        var json = JsonSerializer.SerializeToUtf8Bytes(MeshSpec.Of(state), StateJson.Default.MeshSpec);
        return format == "yaml" ? TypedResults.Text(JsonToYaml.Convert(json), "application/yaml") : TypedResults.Bytes(json, "application/json");
    }

    /// <summary>
    /// The whole mesh at once: every service of the document created or replaced, every other one deleted, the
    /// settings replaced, and so every gateway, all in one change (one record, one rollback), or nothing when any of it is refused.
    /// </summary>
    private static async Task<EditResponse> PutSpec(string mesh, HttpContext http, EditRunner runner, CancellationToken ct)
    {
        var body = await RequestBodies.ReadAsync(http.Request, EditJson.Default.MeshSpec, "spec", ct, RequestBodies.MaxSpecBytes, yaml: true);
        if (body.Problem is not null) return body.Problem;
        var spec = body.Value!;
        var errors = SpecErrors(mesh, spec);
        if (errors.Count > 0) return Problems.Invalid(StatusCodes.Status422UnprocessableEntity, "Invalid change", errors);
        return await runner.RunAsync(http, mesh, current =>
        {
            if (Precondition(http, $"mesh '{mesh}'", current is null ? null : ResourceTags.Mesh(current)) is { } refused) return refused;
            var proposed = spec.ToState(mesh, current);
            var touched = (current?.Services.Keys ?? []).Concat(proposed.Services.Keys).Distinct(StringComparer.Ordinal).ToList();
            var gateways = (current?.Gateways.Keys ?? []).Concat(proposed.Gateways.Keys).Distinct(StringComparer.Ordinal).ToList();
            return new Propose(proposed, touched, current is null ? MeshLifecycle.Created : MeshLifecycle.Edited) { Gateways = gateways };
        }, s => s is null ? null : ResourceTags.Mesh(s), created: true, ct);
    }

    /// <summary>What the document must say of itself before the mesh is judged: its mesh, and each service and gateway once, by name.</summary>
    private static List<FieldError> SpecErrors(string mesh, MeshSpec spec)
    {
        var errors = new List<FieldError>();
        if (spec.Mesh.Length > 0 && spec.Mesh != mesh) errors.Add(new FieldError("spec", "$.mesh", $"is '{spec.Mesh}' but the URL names mesh '{mesh}'"));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < spec.Services.Length; i++)
        {
            if (spec.Services[i]?.Service is not { } service)
            {
                errors.Add(new FieldError("spec", spec.Services[i] is null ? $"$.services[{i}]" : $"$.services[{i}].service", "must be a service, not null"));
                continue;
            }
            if (service.Name.Length == 0) errors.Add(new FieldError("spec", $"$.services[{i}].service.name", "is required"));
            else if (!seen.Add(service.Name)) errors.Add(new FieldError("spec", $"$.services[{i}].service.name", $"service '{service.Name}' is in the document twice"));
            if (service.Mesh.Length > 0 && service.Mesh != mesh) errors.Add(new FieldError("spec", $"$.services[{i}].service.mesh", $"is '{service.Mesh}' but the document is mesh '{mesh}'; leave it out"));
        }
        var gateways = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < spec.Gateways.Length; i++)
        {
            if (spec.Gateways[i] is not { } gateway)
            {
                errors.Add(new FieldError("spec", $"$.gateways[{i}]", "must be a gateway, not null"));
                continue;
            }
            if (gateway.Name.Length == 0) errors.Add(new FieldError("spec", $"$.gateways[{i}].name", "is required"));
            else if (!gateways.Add(gateway.Name)) errors.Add(new FieldError("spec", $"$.gateways[{i}].name", $"gateway '{gateway.Name}' is in the document twice"));
            if (gateway.Mesh.Length > 0 && gateway.Mesh != mesh) errors.Add(new FieldError("spec", $"$.gateways[{i}].mesh", $"is '{gateway.Mesh}' but the document is mesh '{mesh}'; leave it out"));
        }
        return errors;
    }

    private static async Task<Results<JsonHttpResult<MeshSettings>, ProblemHttpResult>> GetSettings(string mesh, HttpContext http, IDesiredStateStore desired, CancellationToken ct)
    {
        if (await desired.GetMeshAsync(mesh, ct) is not { } state) return NotFound($"mesh '{mesh}' does not exist");
        http.Response.Headers.ETag = ResourceTags.Settings(state.Settings);
        return TypedResults.Json(state.Settings, StateJson.Default.MeshSettings);
    }

    /// <summary>Settings always exist (a new mesh has the defaults), so replacing them always needs If-Match.</summary>
    private static async Task<EditResponse> PutSettings(string mesh, HttpContext http, EditRunner runner, CancellationToken ct)
    {
        var body = await RequestBodies.ReadAsync(http.Request, EditJson.Default.MeshSettings, MeshValidator.SettingsResource, ct);
        if (body.Problem is not null) return body.Problem;
        return await runner.RunAsync(http, mesh, current =>
        {
            if (current is null) return new Refuse(RefusalKind.NotFound, $"mesh '{mesh}' does not exist");
            if (Precondition(http, $"the settings of mesh '{mesh}'", ResourceTags.Settings(current.Settings)) is { } refused) return refused;
            return new Propose(current.With(body.Value!), []);
        }, s => s is null ? null : ResourceTags.Settings(s.Settings), created: false, ct);
    }

    private static async Task<Results<JsonHttpResult<GatewayDefinition>, ProblemHttpResult>> GetGateway(string mesh, string gateway, HttpContext http, IDesiredStateStore desired,
        CancellationToken ct)
    {
        if (await desired.GetMeshAsync(mesh, ct) is not { } state) return NotFound($"mesh '{mesh}' does not exist");
        if (!state.Gateways.TryGetValue(gateway, out var definition)) return NotFound($"mesh '{mesh}' has no gateway '{gateway}'");
        http.Response.Headers.ETag = ResourceTags.Gateway(definition);
        return TypedResults.Json(definition, StateJson.Default.GatewayDefinition);
    }

    private static async Task<EditResponse> PutGateway(string mesh, string gateway, HttpContext http, EditRunner runner, CancellationToken ct)
    {
        var resource = MeshValidator.GatewayResource(gateway);
        var body = await RequestBodies.ReadAsync(http.Request, EditJson.Default.GatewayDefinition, resource, ct);
        if (body.Problem is not null) return body.Problem;
        var definition = body.Value!;
        var mismatches = new List<FieldError>();
        if (definition.Mesh.Length > 0 && definition.Mesh != mesh) mismatches.Add(new FieldError(resource, "$.mesh", $"is '{definition.Mesh}' but the URL names mesh '{mesh}'; leave it out"));
        if (definition.Name.Length > 0 && definition.Name != gateway) mismatches.Add(new FieldError(resource, "$.name", $"is '{definition.Name}' but the URL names gateway '{gateway}'; leave it out"));
        if (mismatches.Count > 0) return Problems.Invalid(StatusCodes.Status422UnprocessableEntity, "Invalid change", mismatches);
        return await runner.RunAsync(http, mesh, current =>
        {
            if (current is null) return new Refuse(RefusalKind.NotFound, $"mesh '{mesh}' does not exist");
            var existing = current.Gateways.GetValueOrDefault(gateway);
            if (Precondition(http, $"gateway '{gateway}'", existing is null ? null : ResourceTags.Gateway(existing)) is { } refused) return refused;
            return new Propose(current.WithGateway(gateway, definition with { Mesh = mesh, Name = gateway }), []) { Gateways = [gateway] };
        }, s => s?.Gateways.GetValueOrDefault(gateway) is { } d ? ResourceTags.Gateway(d) : null, created: true, ct);
    }

    private static Task<EditResponse> DeleteGateway(string mesh, string gateway, HttpContext http, EditRunner runner, CancellationToken ct) =>
        runner.RunAsync(http, mesh, current =>
        {
            if (current?.Gateways.GetValueOrDefault(gateway) is not { } existing) return new Refuse(RefusalKind.NotFound, $"mesh '{mesh}' has no gateway '{gateway}'");
            if (Precondition(http, $"gateway '{gateway}'", ResourceTags.Gateway(existing)) is { } refused) return refused;
            return new Propose(current.WithGateway(gateway, null), []) { Gateways = [gateway] };
        }, _ => null, created: false, ct);

    private static Task<Results<JsonHttpResult<ServiceDefinition>, ProblemHttpResult>> GetService(string mesh, string service, HttpContext http, IDesiredStateStore desired, CancellationToken ct) =>
        ReadAsync(http, desired, mesh, service, ResourceTags.Service, d => TypedResults.Json(d, StateJson.Default.ServiceDefinition), ct);

    private static async Task<EditResponse> PutService(string mesh, string service, HttpContext http, EditRunner runner, CancellationToken ct)
    {
        var resource = MeshValidator.ServiceResource(service);
        var body = await RequestBodies.ReadAsync(http.Request, EditJson.Default.ServiceDefinition, resource, ct);
        if (body.Problem is not null) return body.Problem;
        var definition = body.Value!;
        var mismatches = new List<FieldError>();
        if (definition.Mesh.Length > 0 && definition.Mesh != mesh) mismatches.Add(new FieldError(resource, "$.mesh", $"is '{definition.Mesh}' but the URL names mesh '{mesh}'; leave it out"));
        if (definition.Name.Length > 0 && definition.Name != service) mismatches.Add(new FieldError(resource, "$.name", $"is '{definition.Name}' but the URL names service '{service}'; leave it out"));
        if (mismatches.Count > 0) return Problems.Invalid(StatusCodes.Status422UnprocessableEntity, "Invalid change", mismatches);
        return await runner.RunAsync(http, mesh, current =>
        {
            if (current is null) return new Refuse(RefusalKind.NotFound, $"mesh '{mesh}' does not exist");
            var existing = current.Services.GetValueOrDefault(service);
            if (Precondition(http, $"service '{service}'", existing is null ? null : ResourceTags.Service(existing)) is { } refused) return refused;
            var proposed = definition with { Mesh = mesh, Name = service, Routes = existing?.Routes ?? [], Policy = existing?.Policy ?? new() };
            return new Propose(current.With(service, proposed), [service]);
        }, s => s?.Services.GetValueOrDefault(service) is { } d ? ResourceTags.Service(d) : null, created: true, ct);
    }

    private static Task<EditResponse> DeleteService(string mesh, string service, HttpContext http, EditRunner runner, CancellationToken ct) =>
        runner.RunAsync(http, mesh, current =>
        {
            if (current?.Services.GetValueOrDefault(service) is not { } existing) return new Refuse(RefusalKind.NotFound, $"mesh '{mesh}' has no service '{service}'");
            if (Precondition(http, $"service '{service}'", ResourceTags.Service(existing)) is { } refused) return refused;
            return new Propose(current.With(service, null), [service]);
        }, _ => null, created: false, ct);

    private static Task<Results<JsonHttpResult<RouteTable>, ProblemHttpResult>> GetRoutes(string mesh, string service, HttpContext http, IDesiredStateStore desired, CancellationToken ct) =>
        ReadAsync(http, desired, mesh, service, ResourceTags.Routes, d => TypedResults.Json(new RouteTable { Routes = d.Routes }, StateJson.Default.RouteTable), ct);

    private static async Task<EditResponse> PutRoutes(string mesh, string service, HttpContext http, EditRunner runner, CancellationToken ct)
    {
        var body = await RequestBodies.ReadAsync(http.Request, EditJson.Default.RouteTable, MeshValidator.RoutesResource(service), ct);
        if (body.Problem is not null) return body.Problem;
        return await runner.RunAsync(http, mesh, current => EditPart(http, current, mesh, service, "routes", ResourceTags.Routes, d => d with { Routes = body.Value!.Routes }),
            s => s?.Services.GetValueOrDefault(service) is { } d ? ResourceTags.Routes(d) : null, created: false, ct);
    }

    private static Task<Results<JsonHttpResult<ServicePolicy>, ProblemHttpResult>> GetPolicy(string mesh, string service, HttpContext http, IDesiredStateStore desired, CancellationToken ct) =>
        ReadAsync(http, desired, mesh, service, ResourceTags.Policy, d => TypedResults.Json(d.Policy, StateJson.Default.ServicePolicy), ct);

    private static async Task<EditResponse> PutPolicy(string mesh, string service, HttpContext http, EditRunner runner, CancellationToken ct)
    {
        var body = await RequestBodies.ReadAsync(http.Request, EditJson.Default.ServicePolicy, MeshValidator.PolicyResource(service), ct);
        if (body.Problem is not null) return body.Problem;
        return await runner.RunAsync(http, mesh, current => EditPart(http, current, mesh, service, "policy", ResourceTags.Policy, d => d with { Policy = body.Value! }),
            s => s?.Services.GetValueOrDefault(service) is { } d ? ResourceTags.Policy(d) : null, created: false, ct);
    }

    /// <summary>What every write documents: its body, its result, and the ways it can be refused.</summary>
    private static RouteHandlerBuilder WithEditMetadata<TBody>(this RouteHandlerBuilder builder, string summary) where TBody : notnull =>
        builder.WithEditMetadata<TBody>(["application/json"], summary);

    private static RouteHandlerBuilder WithEditMetadata<TBody>(this RouteHandlerBuilder builder, string[] mediaTypes, string summary) where TBody : notnull =>
        builder.WithSummary($"{summary}; ?dryRun=true returns the plan and stores nothing; X-Change-Reason is recorded")
            .Accepts<TBody>(mediaTypes[0], mediaTypes[1..])
            .Produces<EditResult>()
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .ProducesProblem(StatusCodes.Status428PreconditionRequired)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);

    private static EditDecision EditPart(HttpContext http, MeshState? current, string mesh, string service, string part,
        Func<ServiceDefinition, string> tag, Func<ServiceDefinition, ServiceDefinition> edit)
    {
        if (current?.Services.GetValueOrDefault(service) is not { } existing) return new Refuse(RefusalKind.NotFound, $"mesh '{mesh}' has no service '{service}'");
        if (Precondition(http, $"the {part} of service '{service}'", tag(existing)) is { } refused) return refused;
        return new Propose(current.With(service, edit(existing)), [service]);
    }

    /// <summary>An existing resource needs If-Match with its current ETag; a new one must not claim one.</summary>
    internal static Refuse? Precondition(HttpContext http, string what, string? currentTag)
    {
        var ifMatch = http.Request.Headers.IfMatch.ToString();
        if (currentTag is null)
            return ifMatch.Length > 0 ? new Refuse(RefusalKind.PreconditionFailed, $"{what} does not exist, so no ETag can match") : null;
        if (ifMatch.Length == 0)
            return new Refuse(RefusalKind.PreconditionRequired, $"{what} exists: send If-Match with the ETag a GET returned, so no one else's edit is overwritten");
        if (ifMatch != "*" && !ifMatch.Split(',').Select(t => t.Trim()).Contains(currentTag))
            return new Refuse(RefusalKind.PreconditionFailed, $"{what} changed since ETag {LogText.Safe(ifMatch)} (now {currentTag}): GET it again and re-apply the edit");
        return null;
    }

    private static async Task<Results<JsonHttpResult<T>, ProblemHttpResult>> ReadAsync<T>(HttpContext http, IDesiredStateStore desired, string mesh, string service,
        Func<ServiceDefinition, string> tag, Func<ServiceDefinition, JsonHttpResult<T>> view, CancellationToken ct)
    {
        if (await desired.GetMeshAsync(mesh, ct) is not { } state) return NotFound($"mesh '{mesh}' does not exist");
        if (!state.Services.TryGetValue(service, out var definition)) return NotFound($"mesh '{mesh}' has no service '{service}'");
        http.Response.Headers.ETag = tag(definition);
        return view(definition);
    }

    private static ProblemHttpResult NotFound(string detail) => Problems.NotFound("Not found", detail);
}
