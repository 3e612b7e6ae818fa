using System.Text.Json;
using Mesh.Contracts.Xds;
using Mesh.Core.Model;
using Mesh.Core.Serving;
using Mesh.Core.Snapshots;
using Mesh.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

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
                if (request.ContentLength > MaxRequestBytes) return TooLarge();
                using var body = new MemoryStream();
                await new LimitedStream(request.Body, MaxRequestBytes).CopyToAsync(body, cancellationToken);
                discovery = DiscoveryRequest.Parse(body.GetBuffer().AsSpan(0, (int)body.Length));
            }
            catch (JsonException e)
            {
                return Problem(StatusCodes.Status400BadRequest, "Not a DiscoveryRequest", e.Message);
            }
            catch (LimitedStream.TooLargeException)
            {
                return TooLarge();
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

    /// <summary>A DiscoveryRequest names at most a few thousand resources; far more than that is not a proxy.</summary>
    public const int MaxRequestBytes = 1024 * 1024;

    private static ProblemHttpResult Problem(int status, string title, string detail) => Problems.Status(status, title, detail);

    private static ProblemHttpResult TooLarge() => Problem(StatusCodes.Status413PayloadTooLarge, "Body too large", $"a DiscoveryRequest may be at most {MaxRequestBytes} bytes");
}
