using System.Text.Json;
using System.Text.Json.Serialization;
using Mesh.Core.Compile;
using Mesh.Core.Editing;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Serving;
using Mesh.Core.Snapshots;
using Mesh.Contracts.State;
using Mesh.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Mesh.Api;

public sealed record FleetView(string Fleet, string Version, long Sequence, DateTimeOffset CommittedAt);

public sealed record EndpointView(string Id, string? Address, int? Port, string Zone, string Version, EndpointHealth Health, string Source);

public sealed record MeshView(string Name, long Revision, IReadOnlyList<string> Services);

public sealed record ServiceEndpointsView(string Mesh, string Service, string? Workload, IReadOnlyList<EndpointView> Endpoints);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(IReadOnlyList<FleetView>))]
[JsonSerializable(typeof(ServiceEndpointsView))]
[JsonSerializable(typeof(IEnumerable<ServiceDefinition>))]
[JsonSerializable(typeof(MeshView))]
[JsonSerializable(typeof(EditResult))]
[JsonSerializable(typeof(ChangeView))]
[JsonSerializable(typeof(ChangePageView))]
[JsonSerializable(typeof(ChangeConvergence))]
[JsonSerializable(typeof(FleetConvergence))]
[JsonSerializable(typeof(FieldError[]))]
public sealed partial class ApiJson : JsonSerializerContext;

/// <summary>Read-only views for operators: meshes, services, their recorded endpoints, fleets and their snapshots.</summary>
public static class ViewEndpoints
{
    public static IEndpointRouteBuilder MapViews(this IEndpointRouteBuilder app)
    {
        var meshes = app.MapGroup("/v1/meshes").WithTags("views");
        meshes.MapGet("/", async (IDesiredStateStore desired, CancellationToken ct) =>
            Results.Json(await desired.ListMeshesAsync(ct), ApiJson.Default.IReadOnlyListString));

        meshes.MapGet("/{mesh}/services", async (string mesh, IDesiredStateStore desired, CancellationToken ct) =>
            await desired.GetMeshAsync(mesh, ct) is { } state
                ? Results.Json(state.Services.Values, ApiJson.Default.IEnumerableServiceDefinition)
                : NoMesh(mesh));

        meshes.MapGet("/{mesh}/services/{service}/endpoints", async (string mesh, string service, IDesiredStateStore desired, IEndpointStore endpoints, CancellationToken ct) =>
        {
            if (await desired.GetMeshAsync(mesh, ct) is not { } state) return NoMesh(mesh);
            if (!state.Services.TryGetValue(service, out var definition))
                return Results.Problem(title: "Unknown service", detail: $"mesh '{mesh}' has no service '{service}'", statusCode: StatusCodes.Status404NotFound);
            var live = definition.Workload is { } source ? await endpoints.ListLiveAsync(source.Key, ct) : [];
            var views = live.SelectMany(o => o.Endpoints.Select(e => new EndpointView(
                    e.Id, e.Address, e.Address is null ? null : EndpointPorts.Resolve(definition, e), e.Zone, e.Version, e.Health, o.SourceId)))
                .OrderBy(v => v.Address, StringComparer.Ordinal).ThenBy(v => v.Id, StringComparer.Ordinal).ToList();
            return Results.Json(new ServiceEndpointsView(mesh, service, definition.Workload?.Key.Value, views), ApiJson.Default.ServiceEndpointsView);
        });

        meshes.MapGet("/{mesh}/fleets", async (string mesh, ISnapshotStore snapshots, CancellationToken ct) =>
        {
            var heads = await snapshots.ListHeadsAsync(mesh, ct);
            return Results.Json(heads.Select(h => new FleetView(h.Fleet.ToString(), h.Version, h.Sequence, h.CommittedAt)).ToList(), ApiJson.Default.IReadOnlyListFleetView);
        });

        meshes.MapGet("/{mesh}/fleets/{service}/snapshot", async (string mesh, string service, SnapshotCache cache, CancellationToken ct) =>
            await cache.GetCurrentAsync(new FleetId(mesh, service), ct) is { } snapshot
                ? Results.Bytes(SnapshotCodec.Encode(snapshot), "application/json")
                : Results.Problem(title: "Unknown fleet", detail: $"fleet '{mesh}/{service}' has no compiled configuration", statusCode: StatusCodes.Status404NotFound));

        // A proxy's bootstrap: ?node=ID&zone=AZ&format=yaml|json; the control plane's address is Xds:ControlPlaneUrl, else this request's.
        meshes.MapGet("/{mesh}/fleets/{service}/bootstrap", async Task<IResult> (string mesh, string service, string? node, string? zone, string? format,
            HttpRequest request, IDesiredStateStore desired, XdsSettings settings, IConfiguration configuration, CancellationToken ct) =>
        {
            if (await desired.GetMeshAsync(mesh, ct) is not { } state) return NoMesh(mesh);
            if (!state.Services.ContainsKey(service))
                return Results.Problem(title: "Unknown service", detail: $"mesh '{mesh}' has no service '{service}'", statusCode: StatusCodes.Status404NotFound);
            if (BootstrapHosts.ControlPlaneUrl(configuration, request) is not { } url)
                return Problems.Status(StatusCodes.Status421MisdirectedRequest, "Unknown host",
                    "the request's Host is not one this control plane names in bootstraps: set Xds:ControlPlaneUrl, or list the host in Xds:BootstrapHosts");
            var address = new ControlPlaneAddress(url.Host, url.Port, url.Scheme == Uri.UriSchemeHttps);
            var nodeId = string.IsNullOrEmpty(node) ? $"{service}-{Guid.NewGuid():N}" : node;
            var bootstrap = BootstrapWriter.Write(new FleetId(mesh, service), nodeId, zone, address, settings);
            return format switch
            {
                null or "json" => Results.Bytes(bootstrap, "application/json"),
                "yaml" => Results.Text(JsonToYaml.Convert(bootstrap), "application/yaml"),
                _ => Results.Problem(title: "Unknown format", detail: $"format '{format}' is not json or yaml", statusCode: StatusCodes.Status400BadRequest),
            };
        });
        return app;
    }

    private static ProblemHttpResult NoMesh(string mesh) =>
        Problems.NotFound("Unknown mesh", $"mesh '{mesh}' does not exist");
}
