using System.Threading.Channels;
using Mesh.Core.Model;
using Mesh.Core.Serving;
using Mesh.Hosting;

namespace Mesh.XdsServer;

/// <summary>
/// ACKs and NACKs on their way to convergence, written by one background writer in the order streams reported them,
/// so that a push to thousands of streams never waits on the store. A store that fails a write loses that record only
/// (the stream's next report brings the proxy's state again) and is logged.
/// </summary>
public sealed class StreamReports(ProxyTracker proxies, ILogger<StreamReports> log) : BackgroundService
{
    private readonly Channel<(FleetId Fleet, string NodeId, StreamReport Report)> _queue =
        Channel.CreateUnbounded<(FleetId, string, StreamReport)>(new UnboundedChannelOptions { SingleReader = true });

    public void Post(FleetId fleet, string nodeId, StreamReport report)
    {
        if (report is Nacked nack)
            log.LogWarning("ads NACK {Fleet} {Node} {Type} {Version}: {Reason}", fleet, LogText.Safe(nodeId), nack.Type.PathName(), nack.RejectedVersion, LogText.Safe(nack.Reason));
        _queue.Writer.TryWrite((fleet, nodeId, report));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var (fleet, nodeId, report) in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await (report switch
                {
                    Acked ack => proxies.RecordStreamAsync(fleet, nodeId, ack, ack.Version, ack.Sent, null, null, stoppingToken),
                    Nacked nack => proxies.RecordStreamAsync(fleet, nodeId, nack, nack.RunningVersion, nack.RejectedVersion, nack.RejectedVersion, nack.Reason, stoppingToken),
                    _ => Task.CompletedTask,
                });
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogError(e, "ads could not record {Fleet} {Node}", fleet, LogText.Safe(nodeId));
            }
        }
    }
}
