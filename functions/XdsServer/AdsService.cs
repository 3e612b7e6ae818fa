using System.Threading.Channels;
using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Grpc.Core;
using Mesh.Core.Model;
using Mesh.Core.Serving;
using Mesh.Hosting;

namespace Mesh.XdsServer;

/// <summary>
/// Envoy's Aggregated Discovery Service, state of the world and delta. A stream proves its fleet with its first
/// request (node.cluster = mesh/service, and a credential for that fleet), then gets that fleet's snapshot and
/// every later one the moment the fleet's head moves. The protocol itself (nonces, ACK/NACK, subscriptions) is the
/// core's <see cref="SotwStream"/> and <see cref="DeltaStream"/>; this door parses, checks, maps and records.
/// </summary>
public sealed class AdsService(FleetWatch watch, FleetAccess access, StreamReports reports, ILogger<AdsService> log)
    : AggregatedDiscoveryService.AggregatedDiscoveryServiceBase
{
    public override Task StreamAggregatedResources(IAsyncStreamReader<DiscoveryRequest> requestStream, IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context)
    {
        var stream = new SotwStream();
        return ServeAsync(requestStream, context, r => r.Node,
            async (snapshot, request, session) =>
            {
                if (!TryType(request.TypeUrl, out var type)) return;
                var step = stream.OnRequest(snapshot, type, request.VersionInfo, request.ResponseNonce, request.ResourceNames, request.ErrorDetail?.Message);
                if (step.Report is { } report) reports.Post(session.Fleet, session.NodeId, report);
                foreach (var push in step.Pushes) await responseStream.WriteAsync(Response(push), context.CancellationToken);
            },
            async snapshot =>
            {
                foreach (var push in stream.OnSnapshot(snapshot)) await responseStream.WriteAsync(Response(push), context.CancellationToken);
            });
    }

    public override Task DeltaAggregatedResources(IAsyncStreamReader<DeltaDiscoveryRequest> requestStream, IServerStreamWriter<DeltaDiscoveryResponse> responseStream, ServerCallContext context)
    {
        var stream = new DeltaStream();
        return ServeAsync(requestStream, context, r => r.Node,
            async (snapshot, request, session) =>
            {
                if (!TryType(request.TypeUrl, out var type)) return;
                var step = stream.OnRequest(snapshot, type, request.ResourceNamesSubscribe, request.ResourceNamesUnsubscribe,
                    request.InitialResourceVersions, request.ResponseNonce, request.ErrorDetail?.Message);
                if (step.Report is { } report) reports.Post(session.Fleet, session.NodeId, report);
                foreach (var push in step.Pushes) await responseStream.WriteAsync(Response(push), context.CancellationToken);
            },
            async snapshot =>
            {
                foreach (var push in stream.OnSnapshot(snapshot)) await responseStream.WriteAsync(Response(push), context.CancellationToken);
            });
    }

    private sealed record Session(FleetId Fleet, string NodeId);

    /// <summary>
    /// The loop every stream runs: requests and head moves are handled one at a time, in the order they come, so that
    /// responses on the stream keep the order the protocol needs.
    /// </summary>
    private async Task ServeAsync<TRequest>(IAsyncStreamReader<TRequest> requests, ServerCallContext context, Func<TRequest, Node?> nodeOf,
        Func<FleetSnapshot, TRequest, Session, Task> onRequest, Func<FleetSnapshot, Task> onSnapshot)
    {
        var cancellationToken = context.CancellationToken;
        if (!await requests.MoveNext(cancellationToken)) return;
        var first = requests.Current;
        var session = await AuthorizeAsync(nodeOf(first), context);
        var inbox = Channel.CreateUnbounded<TRequest>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        inbox.Writer.TryWrite(first);
        var pump = PumpAsync(requests, inbox.Writer, cancellationToken);
        var (snapshot, moved) = await watch.CurrentAsync(session.Fleet, cancellationToken);
        while (snapshot is null)
        {
            // A fleet with no configuration yet (its service just defined): wait for its first snapshot.
            await moved.WaitAsync(cancellationToken);
            (snapshot, moved) = await watch.CurrentAsync(session.Fleet, cancellationToken);
        }
        var readable = inbox.Reader.WaitToReadAsync(cancellationToken).AsTask();
        while (true)
        {
            await Task.WhenAny(readable, moved);
            if (moved.IsCompleted)
            {
                (snapshot, moved) = await watch.CurrentAsync(session.Fleet, cancellationToken);
                await onSnapshot(snapshot!);
            }
            if (!readable.IsCompleted) continue;
            if (!await readable) break;
            while (inbox.Reader.TryRead(out var request))
            {
                if (nodeOf(request) is { Cluster.Length: > 0 } node && node.Cluster != session.Fleet.ToString())
                    throw new RpcException(new Status(StatusCode.PermissionDenied, $"this stream belongs to fleet '{session.Fleet}', not '{LogText.Safe(node.Cluster)}'"));
                await onRequest(snapshot!, request, session);
            }
            readable = inbox.Reader.WaitToReadAsync(cancellationToken).AsTask();
        }
        await pump;
    }

    private async Task<Session> AuthorizeAsync(Node? node, ServerCallContext context)
    {
        if (node is null || node.Id.Length == 0)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "the first request of a stream must carry node.id and node.cluster"));
        if (!FleetId.TryParse(node.Cluster, out var fleet))
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"node.cluster '{LogText.Safe(node.Cluster)}' is not of the form <mesh>/<service>"));
        var decision = await access.CheckAsync(fleet, StreamIdentity.Of(context, node), context.CancellationToken);
        if (decision.Verdict != AccessVerdict.Allowed)
        {
            log.LogWarning("ads refused {Fleet} {Node}: {Reason}", fleet, LogText.Safe(node.Id), decision.Reason);
            throw new RpcException(new Status(decision.Verdict == AccessVerdict.Unauthenticated ? StatusCode.Unauthenticated : StatusCode.PermissionDenied, decision.Reason));
        }
        return new Session(fleet, node.Id);
    }

    private static async Task PumpAsync<TRequest>(IAsyncStreamReader<TRequest> requests, ChannelWriter<TRequest> inbox, CancellationToken cancellationToken)
    {
        try
        {
            while (await requests.MoveNext(cancellationToken)) inbox.TryWrite(requests.Current);
            inbox.TryComplete();
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or RpcException)
        {
            inbox.TryComplete(e);
        }
    }

    private static bool TryType(string typeUrl, out XdsType type)
    {
        foreach (var candidate in XdsTypes.All)
        {
            if (candidate.TypeUrl() != typeUrl) continue;
            type = candidate;
            return true;
        }
        type = default;
        return false;
    }

    private static DiscoveryResponse Response(SotwPush push)
    {
        var response = new DiscoveryResponse { VersionInfo = push.Version, TypeUrl = push.Type.TypeUrl(), Nonce = push.Nonce };
        response.Resources.AddRange(push.Resources.Select(EnvoyAny.Of));
        return response;
    }

    private static DeltaDiscoveryResponse Response(DeltaPush push)
    {
        var response = new DeltaDiscoveryResponse { SystemVersionInfo = push.SystemVersion, TypeUrl = push.Type.TypeUrl(), Nonce = push.Nonce };
        response.Resources.AddRange(push.Resources.Select(r => new Resource { Name = r.Name, Version = r.Hash, Resource_ = EnvoyAny.Of(r) }));
        response.RemovedResources.AddRange(push.Removed);
        return response;
    }
}
