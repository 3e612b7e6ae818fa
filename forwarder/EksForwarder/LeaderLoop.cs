using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;

namespace Mesh.EksForwarder;

/// <summary>
/// Only one replica publishes: the one holding the Lease. It watches and forwards while it leads; losing the Lease
/// stops both, and the next leader starts with a relist, which forwards every slice again.
/// </summary>
public sealed class LeaderLoop(IKubernetes kubernetes, ForwarderOptions options, SliceWatcher watcher, Func<ChangePublisher> newPublisher, ForwarderHealth health,
    ILogger<LeaderLoop> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lease = TimeSpan.FromSeconds(options.LeaseDurationSeconds);
        using var elector = new LeaderElector(new LeaderElectionConfig(new LeaseLock(kubernetes, options.LeaseNamespace, options.LeaseName, options.Identity))
        {
            LeaseDuration = lease,
            RenewDeadline = lease * 2 / 3,
            RetryPeriod = lease / 5,
        });
        CancellationTokenSource? leading = null;
        Task? work = null;
        elector.OnNewLeader += leader =>
        {
            health.Leader = leader;
            log.LogInformation("leader of {Lease} is {Leader}", options.LeaseName, leader);
        };
        elector.OnStartedLeading += () =>
        {
            health.Leading = true;
            log.LogInformation("{Identity} leads: listing and watching endpointslices", options.Identity);
            leading = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            work = ForwardAsync(leading.Token);
        };
        elector.OnStoppedLeading += () =>
        {
            health.Leading = false;
            log.LogWarning("{Identity} stopped leading: forwarding stops", options.Identity);
            leading?.Cancel();
        };
        elector.OnError += e => log.LogWarning("leader election: {Reason}", e.Message);
        try
        {
            await elector.RunAndTryToHoldLeadershipForeverAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        leading?.Cancel();
        if (work is not null) await work;
    }

    /// <summary>Forwards while leading; a failure starts over (a fresh queue and a relist) after a back-off, never leaving the leader idle.</summary>
    private async Task ForwardAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; !cancellationToken.IsCancellationRequested; attempt++)
        {
            using var run = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var publisher = newPublisher();
            try
            {
                var watching = watcher.RunAsync(publisher, run.Token);
                var publishing = publisher.RunAsync(run.Token);
                // Either ending ends both: the other is cancelled, and what ended the first is reported.
                var ended = await Task.WhenAny(watching, publishing);
                await run.CancelAsync();
                await Task.WhenAll(watching, publishing).ContinueWith(_ => { }, TaskScheduler.Default);
                if (cancellationToken.IsCancellationRequested) return;
                throw ended.Exception?.InnerException ?? new InvalidOperationException("forwarding stopped by itself");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                var wait = Backoff.Delay(attempt, options.MaxBackoffSeconds);
                log.LogError(e, "forwarding failed: {Reason}; starting over with a relist in {Wait}", e.Message, wait);
                try
                {
                    await Task.Delay(wait, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
