using System.Text.Json;
using System.Text.Json.Serialization;
using Mesh.Contracts.State;
using Mesh.Core.Compile;
using Mesh.Core.Editing;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Serving;
using Mesh.Core.Snapshots;
using Mesh.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Mesh.Api;

public sealed record FleetView(string Fleet, string Version, long Sequence, DateTimeOffset CommittedAt);

public sealed record EndpointView(string Id, string Address, int Port, string Zone, string Version, EndpointHealth Health, string Source);

public sealed record MeshView(string Name, long Revision, IReadOnlyList<string> Services, IReadOnlyList<string> Gateways);

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

/// <summary>Read-only views for operators: meshes, services, their recorded endpoints, fleets and their snapshots, bootstraps.</summary>
public static partial class ViewEndpoints
{
    public static IEndpointRouteBuilder MapViews(this IEndpointRouteBuilder app)
    {
        var meshes = app.MapGroup("/v1/meshes").WithTags("views");
        meshes.MapGet("/", ListMeshes).Produces<IReadOnlyList<string>>();
        meshes.MapGet("/{mesh}/services", ListServices).Produces<IEnumerable<ServiceDefinition>>();
        meshes.MapGet("/{mesh}/services/{service}/endpoints", ListEndpoints).Produces<ServiceEndpointsView>();
        meshes.MapGet("/{mesh}/fleets", ListFleets).Produces<IReadOnlyList<FleetView>>();
        meshes.MapGet("/{mesh}/fleets/{service}/snapshot", GetSnapshot);
        meshes.MapGet("/{mesh}/fleets/{service}/bootstrap", GetBootstrap);
        meshes.MapGet("/{mesh}/fleets/{service}/sidecar", GetSidecar)
            .WithSummary("What runs beside the app: ?platform=ecs (Envoy container, proxyConfiguration, the app's dependsOn) or eks (sidecar and init container); " +
                "for a gateway, its Envoy container with its listener ports; ?image= for Envoy's image");
        return app;
    }

    private static async Task<JsonHttpResult<IReadOnlyList<string>>> ListMeshes(IDesiredStateStore desired, CancellationToken ct) =>
        TypedResults.Json(await desired.ListMeshesAsync(ct), ApiJson.Default.IReadOnlyListString);

    private static async Task<Results<JsonHttpResult<IEnumerable<ServiceDefinition>>, ProblemHttpResult>> ListServices(string mesh, IDesiredStateStore desired, CancellationToken ct) =>
        await desired.GetMeshAsync(mesh, ct) is { } state
            ? TypedResults.Json<IEnumerable<ServiceDefinition>>(state.Services.Values, ApiJson.Default.IEnumerableServiceDefinition)
            : NoMesh(mesh);

    /// <summary>Endpoints a proxy can reach: with an address and a port that resolves; an address once per service.</summary>
    private static async Task<Results<JsonHttpResult<ServiceEndpointsView>, ProblemHttpResult>> ListEndpoints(string mesh, string service,
        IDesiredStateStore desired, IEndpointStore endpoints, CancellationToken ct)
    {
        if (await desired.GetMeshAsync(mesh, ct) is not { } state) return NoMesh(mesh);
        if (!state.Services.TryGetValue(service, out var definition)) return NoService(mesh, service);
        var live = definition.Workload is { } source ? await endpoints.ListLiveAsync(source.Key, ct) : [];
        var views = live
            .SelectMany(o => o.Endpoints.Select(e => (Endpoint: e, o.SourceId, Port: EndpointPorts.Resolve(definition, e))))
            .Where(e => e.Endpoint.Address is not null && e.Port is not null)
            .Select(e => new EndpointView(e.Endpoint.Id, e.Endpoint.Address!, e.Port!.Value, e.Endpoint.Zone, e.Endpoint.Version, e.Endpoint.Health, e.SourceId))
            .OrderBy(v => v.Address, StringComparer.Ordinal).ThenBy(v => v.Id, StringComparer.Ordinal)
            .DistinctBy(v => v.Address, StringComparer.Ordinal)
            .ToList();
        return TypedResults.Json(new ServiceEndpointsView(mesh, service, definition.Workload?.Key.Value, views), ApiJson.Default.ServiceEndpointsView);
    }

    private static async Task<JsonHttpResult<IReadOnlyList<FleetView>>> ListFleets(string mesh, ISnapshotStore snapshots, CancellationToken ct) =>
        TypedResults.Json<IReadOnlyList<FleetView>>([.. (await snapshots.ListHeadsAsync(mesh, ct)).Select(h => new FleetView(h.Fleet.ToString(), h.Version, h.Sequence, h.CommittedAt))],
            ApiJson.Default.IReadOnlyListFleetView);

    private static async Task<Results<FileContentHttpResult, ProblemHttpResult>> GetSnapshot(string mesh, string service, SnapshotCache cache, CancellationToken ct) =>
        await cache.GetCurrentAsync(new FleetId(mesh, service), ct) is { } snapshot
            ? TypedResults.Bytes(SnapshotCodec.Encode(snapshot), "application/json")
            : Problems.NotFound("Unknown fleet", $"fleet '{mesh}/{service}' has no compiled configuration");

    /// <summary>
    /// A proxy's bootstrap: ?node=ID&amp;zone=AZ&amp;format=yaml|json&amp;transport=rest|ads|delta, naming the control plane's
    /// configured address and carrying how the proxy proves its fleet: where the host issues fleet tokens, the fleet's
    /// token (so only an operator may fetch it); with IAM authorization (AWS), SigV4-signed polls.
    /// </summary>
    private static async Task<Results<FileContentHttpResult, ContentHttpResult, ProblemHttpResult>> GetBootstrap(string mesh, string service, string? node, string? zone,
        string? format, string? transport, HttpRequest request, IDesiredStateStore desired, XdsSettings settings, IConfiguration configuration,
        IServiceProvider services, CancellationToken ct)
    {
        if (await desired.GetMeshAsync(mesh, ct) is not { } state) return NoMesh(mesh);
        if (!state.HasFleet(service)) return NoFleet(mesh, service);
        var errors = new List<FieldError>();
        if (format is not (null or "json" or "yaml")) errors.Add(new FieldError("bootstrap", "$.format", "must be json or yaml"));
        var xdsTransport = ParseTransport(transport);
        if (xdsTransport is null) errors.Add(new FieldError("bootstrap", "$.transport", "must be rest, ads or delta"));
        else if (xdsTransport != XdsTransport.Rest && settings.AdsAddress is null)
            errors.Add(new FieldError("bootstrap", "$.transport", "no ADS server is deployed with this control plane (Xds:AdsAddress); use rest"));
        if (errors.Count > 0) return Problems.Invalid(StatusCodes.Status400BadRequest, "Invalid query", errors);
        if (BootstrapHosts.ControlPlaneUrl(configuration, request) is not { } url)
            return Problems.Status(StatusCodes.Status421MisdirectedRequest, "Unknown host",
                "the request's Host is not one this control plane names in bootstraps: set Xds:ControlPlaneUrl, or list the host in Xds:BootstrapHosts");
        if (services.GetService<FleetTokens>() is { } tokens && request.HttpContext.User.Identity?.IsAuthenticated != true)
            return Problems.Status(StatusCodes.Status401Unauthorized, "Not authenticated", "a bootstrap carries its fleet's token: fetching it needs an operator's credentials");
        var fleet = new FleetId(mesh, service);
        var nodeId = string.IsNullOrEmpty(node) ? $"{service}-{Guid.NewGuid():N}" : node;
        var options = Credentials(fleet, xdsTransport ?? XdsTransport.Rest, settings, configuration, services);
        if (state.Services.GetValueOrDefault(service) is { DataPlane: DataPlane.ProxylessGrpc })
        {
            if (options.AdsServer is not { } adsServer || format == "yaml" || transport is "rest")
                return Problems.Invalid(StatusCodes.Status400BadRequest, "Invalid query", [new FieldError("bootstrap", "$.transport",
                    "a proxyless gRPC fleet streams over ADS: its bootstrap is gRPC's JSON (GRPC_XDS_BOOTSTRAP), which needs Xds:AdsAddress")]);
            return TypedResults.Bytes(BootstrapWriter.WriteGrpc(fleet, nodeId, zone, adsServer, settings.ForMesh(state.Settings), options.FleetToken), "application/json");
        }
        var bootstrap = BootstrapWriter.Write(fleet, nodeId, zone, ControlPlaneAddress.Of(url), settings.ForMesh(state.Settings), options: options);
        return format == "yaml" ? TypedResults.Text(JsonToYaml.Convert(bootstrap), "application/yaml") : TypedResults.Bytes(bootstrap, "application/json");
    }

    /// <summary>How a bootstrap of the fleet proves it: the fleet's token where this host issues them; SigV4 where the API is IAM-authorized.</summary>
    private static BootstrapOptions Credentials(FleetId fleet, XdsTransport transport, XdsSettings settings, IConfiguration configuration, IServiceProvider services) => new()
    {
        Transport = transport,
        AdsServer = settings.AdsAddress is { } ads ? ControlPlaneAddress.Of(ads) : null,
        FleetToken = services.GetService<FleetTokens>()?.Issue(fleet),
        SigningRegion = string.Equals(configuration["Auth:Mode"], "Iam", StringComparison.OrdinalIgnoreCase) ? configuration["AWS_REGION"] ?? configuration["Aws:Region"] : null,
    };

    private static XdsTransport? ParseTransport(string? transport) => transport switch
    {
        null or "rest" => XdsTransport.Rest,
        "ads" => XdsTransport.Ads,
        "delta" => XdsTransport.Delta,
        _ => null,
    };

    private static async Task<Results<FileContentHttpResult, ProblemHttpResult>> GetSidecar(string mesh, string service, string? platform, string? image,
        HttpRequest request, IDesiredStateStore desired, XdsSettings settings, IConfiguration configuration, IServiceProvider services, CancellationToken ct)
    {
        if (await desired.GetMeshAsync(mesh, ct) is not { } state) return NoMesh(mesh);
        if (!state.HasFleet(service)) return NoFleet(mesh, service);
        var errors = new List<FieldError>();
        if (state.Services.GetValueOrDefault(service) is { DataPlane: DataPlane.ProxylessGrpc })
            errors.Add(new FieldError("sidecar", "$.service", "a proxyless gRPC service runs no sidecar: give its application the fleet's bootstrap (GRPC_XDS_BOOTSTRAP)"));
        if (platform is not ("ecs" or "eks")) errors.Add(new FieldError("sidecar", "$.platform", "must be ecs or eks"));
        if (image is not null && !ContainerImage().IsMatch(image)) errors.Add(new FieldError("sidecar", "$.image", "must be a container image reference"));
        if (errors.Count > 0) return Problems.Invalid(StatusCodes.Status400BadRequest, "Invalid query", errors);
        if (BootstrapHosts.ControlPlaneUrl(configuration, request) is not { } url)
            return Problems.Status(StatusCodes.Status421MisdirectedRequest, "Unknown host",
                "the request's Host is not one this control plane names in bootstraps: set Xds:ControlPlaneUrl, or list the host in Xds:BootstrapHosts");
        if (services.GetService<FleetTokens>() is not null && request.HttpContext.User.Identity?.IsAuthenticated != true)
            return Problems.Status(StatusCodes.Status401Unauthorized, "Not authenticated", "a sidecar's bootstrap carries its fleet's token: fetching it needs an operator's credentials");
        var address = ControlPlaneAddress.Of(url);
        var meshSettings = settings.ForMesh(state.Settings);
        var options = Credentials(new FleetId(mesh, service), XdsTransport.Rest, settings, configuration, services);
        image ??= SidecarFragments.DefaultImage;
        var fragment = (platform, state.Gateways.GetValueOrDefault(service)) switch
        {
            ("ecs", { } gateway) => SidecarFragments.EcsGateway(gateway, address, meshSettings, image, options),
            (_, { } gateway) => SidecarFragments.EksGateway(gateway, address, meshSettings, image, options),
            ("ecs", null) => SidecarFragments.Ecs(state.Services[service], address, meshSettings, image, options),
            _ => SidecarFragments.Eks(state.Services[service], address, meshSettings, image, options),
        };
        return TypedResults.Bytes(fragment, "application/json");
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9./:@_-]{0,254}$")]
    private static partial System.Text.RegularExpressions.Regex ContainerImage();

    private static ProblemHttpResult NoMesh(string mesh) => Problems.NotFound("Unknown mesh", $"mesh '{mesh}' does not exist");

    private static ProblemHttpResult NoService(string mesh, string service) => Problems.NotFound("Unknown service", $"mesh '{mesh}' has no service '{service}'");

    private static ProblemHttpResult NoFleet(string mesh, string fleet) => Problems.NotFound("Unknown fleet", $"mesh '{mesh}' has no service or gateway '{fleet}'");
}
