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

    private async Task ForwardAsync(CancellationToken cancellationToken)
    {
        var publisher = newPublisher();
        try
        {
            await Task.WhenAll(watcher.RunAsync(publisher, cancellationToken), publisher.RunAsync(cancellationToken));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            log.LogError(e, "forwarding failed: {Reason}", e.Message);
        }
    }
}
