using System.Text.Json;
using Mesh.Contracts.Xds;
using Mesh.Core.Model;
using Mesh.Core.Serving;
using Mesh.Core.Snapshots;

namespace Mesh.Api;

/// <summary>Envoy's REST xDS: POST /v3/discovery:{clusters|endpoints|listeners|routes}, answered from the fleet's current snapshot.</summary>
public static class XdsEndpoints
{
    public static IEndpointRouteBuilder MapXds(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v3/discovery:{type}", async (string type, HttpRequest request, SnapshotCache snapshots, ProxyTracker proxies, ILogger<SnapshotCache> log, CancellationToken cancellationToken) =>
        {
            if (!XdsTypes.TryParsePathName(type, out var xdsType))
                return Problem(StatusCodes.Status404NotFound, "Unknown discovery type", $"'{type}' is not one of clusters, endpoints, listeners, routes");
            DiscoveryRequest discovery;
            try
            {
                using var body = new MemoryStream();
                await request.Body.CopyToAsync(body, cancellationToken);
                discovery = DiscoveryRequest.Parse(body.GetBuffer().AsSpan(0, (int)body.Length));
            }
            catch (JsonException e)
            {
                return Problem(StatusCodes.Status400BadRequest, "Not a DiscoveryRequest", e.Message);
            }
            if (discovery.TypeUrl is { Length: > 0 } typeUrl && typeUrl != xdsType.TypeUrl())
                return Problem(StatusCodes.Status400BadRequest, "Type mismatch", $"type_url '{typeUrl}' was posted to /v3/discovery:{type}");
            if (!FleetId.TryParse(discovery.NodeCluster, out var fleet))
                return Problem(StatusCodes.Status400BadRequest, "No fleet", $"node.cluster '{discovery.NodeCluster}' is not of the form <mesh>/<service>");
            var snapshot = await snapshots.GetCurrentAsync(fleet, cancellationToken);
            if (snapshot is null)
                return Problem(StatusCodes.Status404NotFound, "Unknown fleet", $"fleet '{fleet}' has no compiled configuration: is service '{fleet.Service}' defined in mesh '{fleet.Mesh}'?");

            var reply = XdsResponder.Respond(snapshot, xdsType, discovery.VersionInfo, discovery.ResourceNames);
            if (reply is NotModified or Resources && discovery.NodeId is { Length: > 0 } nodeId)
                await proxies.RecordAsync(fleet, nodeId, xdsType, discovery.ResourceNames, discovery.VersionInfo, (reply as Resources)?.Version, cancellationToken);
            switch (reply)
            {
                case NotModified:
                    return Results.StatusCode(StatusCodes.Status304NotModified);
                case Resources resources:
                    log.LogDebug("xds {Fleet} {Node} {Type} {FromVersion} -> {ToVersion}", fleet, discovery.NodeId, type, discovery.VersionInfo, resources.Version);
                    return Results.Bytes(DiscoveryResponse.Write(resources.Version, xdsType, resources.Items), "application/json");
                case UnknownResources unknown:
                    return Problem(StatusCodes.Status404NotFound, "Unknown resource", $"fleet '{fleet}' has no {type} named {string.Join(", ", unknown.Names.Select(n => $"'{n}'"))}");
                default:
                    throw new InvalidOperationException("unknown xDS reply");
            }
        }).WithTags("xds").WithSummary("Envoy REST xDS: a DiscoveryResponse, or 304 when the proxy already runs this version");
        return app;
    }

    private static IResult Problem(int status, string title, string detail) => Results.Problem(title: title, detail: detail, statusCode: status);
}
