using System.Text.Json;
using Mesh.Contracts.Xds;
using Mesh.Core.Compile;
using Mesh.Core.Model;
using Mesh.Core.Serving;
using Mesh.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Mesh.Api;

/// <summary>Envoy's REST xDS: POST /v3/discovery:{clusters|endpoints|listeners|routes}, answered from the fleet's current snapshot.</summary>
public static class XdsEndpoints
{
    /// <summary>A DiscoveryRequest names at most a few thousand resources; far more than that is not a proxy.</summary>
    public const int MaxRequestBytes = 1024 * 1024;

    public static IEndpointRouteBuilder MapXds(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v3/discovery:{type}", DiscoverAsync).WithTags("xds")
            .WithSummary("Envoy REST xDS: a DiscoveryResponse, or 304 when the proxy already runs this version");
        return app;
    }

    private static async Task<Results<StatusCodeHttpResult, FileContentHttpResult, ProblemHttpResult>> DiscoverAsync(string type, HttpRequest request,
        SnapshotCache snapshots, ProxyTracker proxies, FleetAccess access, XdsSettings settings, Auth.CallerSettings callers, ILogger<SnapshotCache> log, CancellationToken cancellationToken)
    {
        if (!XdsTypes.TryParsePathName(type, out var xdsType))
            return Problems.NotFound("Unknown discovery type", $"'{LogText.Safe(type)}' is not one of clusters, endpoints, listeners, routes");
        if (await ReadAsync(request, cancellationToken) is not { } discovery)
            return Problems.Status(StatusCodes.Status413PayloadTooLarge, "Body too large", $"a DiscoveryRequest may be at most {MaxRequestBytes} bytes");
        if (discovery.Request is not { } parsed)
            return Problems.Status(StatusCodes.Status400BadRequest, "Not a DiscoveryRequest", discovery.Error!);
        if (parsed.TypeUrl is { Length: > 0 } typeUrl && typeUrl != xdsType.TypeUrl())
            return Problems.Status(StatusCodes.Status400BadRequest, "Type mismatch", $"type_url '{LogText.Safe(typeUrl)}' was posted to /v3/discovery:{type}");
        if (!FleetId.TryParse(parsed.NodeCluster, out var fleet))
            return Problems.Status(StatusCodes.Status400BadRequest, "No fleet", $"node.cluster '{LogText.Safe(parsed.NodeCluster)}' is not of the form <mesh>/<service>");
        var decision = await access.CheckAsync(fleet, Credentials(request.HttpContext, parsed, callers), cancellationToken);
        if (decision.Verdict != AccessVerdict.Allowed)
        {
            log.LogWarning("xds refused {Fleet} {Node}: {Reason}", fleet, LogText.Safe(parsed.NodeId), decision.Reason);
            return decision.Verdict == AccessVerdict.Unauthenticated
                ? Problems.Status(StatusCodes.Status401Unauthorized, "Proxy not authenticated", decision.Reason)
                : Problems.Status(StatusCodes.Status403Forbidden, "Not this proxy's fleet", decision.Reason);
        }
        // A proxy that runs the head as this process last saw it is answered 304 from memory; one that would be sent
        // resources is answered from the head read now, so no proxy is ever sent a version older than the one it runs.
        var recent = await snapshots.GetRecentAsync(fleet, settings.ServeHeadLifetime, cancellationToken);
        var reply = recent is null ? null : XdsResponder.Respond(recent, xdsType, parsed.VersionInfo, parsed.ResourceNames);
        if (reply is not NotModified)
        {
            if (await snapshots.GetCurrentAsync(fleet, cancellationToken) is not { } snapshot)
                return Problems.NotFound("Unknown fleet", $"fleet '{fleet}' has no compiled configuration: is service '{fleet.Service}' defined in mesh '{fleet.Mesh}'?");
            reply = XdsResponder.Respond(snapshot, xdsType, parsed.VersionInfo, parsed.ResourceNames);
        }
        if (reply is NotModified or Resources && parsed.NodeId is { Length: > 0 } nodeId)
            await proxies.RecordAsync(fleet, nodeId, xdsType, parsed.ResourceNames, parsed.VersionInfo, (reply as Resources)?.Version, cancellationToken);
        switch (reply)
        {
            case NotModified:
                return TypedResults.StatusCode(StatusCodes.Status304NotModified);
            case Resources resources:
                log.LogDebug("xds {Fleet} {Type} {FromVersion} -> {ToVersion}", fleet, type, LogText.Safe(parsed.VersionInfo), resources.Version);
                return TypedResults.Bytes(DiscoveryResponse.Write(resources.Version, xdsType, resources.Items), "application/json");
            default:
                throw new InvalidOperationException("unknown xDS reply");
        }
    }

    /// <summary>In AWS the IAM principal API Gateway verified (Auth:Mode=Iam); anywhere, the fleet token in node.metadata.</summary>
    private static List<ProxyCredential> Credentials(HttpContext http, DiscoveryRequest request, Auth.CallerSettings callers)
    {
        var credentials = new List<ProxyCredential>();
        if (callers.Iam && http.User.Identity is { IsAuthenticated: true, Name: { Length: > 0 } arn })
            credentials.Add(new IamPrincipal(arn));
        if (request.FleetToken is { Length: > 0 } token) credentials.Add(new FleetToken(token));
        return credentials;
    }

    private sealed record Parsed(DiscoveryRequest? Request, string? Error);

    /// <summary>The request, or why it is not one; null when the body is over the limit. Parsed from Kestrel's own buffers.</summary>
    private static async Task<Parsed?> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxRequestBytes) return null;
        var body = request.BodyReader;
        while (true)
        {
            var read = await body.ReadAsync(cancellationToken);
            var buffer = read.Buffer;
            if (buffer.Length > MaxRequestBytes)
            {
                body.AdvanceTo(buffer.End);
                return null;
            }
            if (!read.IsCompleted)
            {
                body.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }
            try
            {
                return new Parsed(DiscoveryRequest.Parse(buffer), null);
            }
            catch (JsonException e)
            {
                return new Parsed(null, e.Message);
            }
            finally
            {
                body.AdvanceTo(buffer.End);
            }
        }
    }
}
