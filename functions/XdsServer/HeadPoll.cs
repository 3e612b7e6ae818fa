using Mesh.Core.Ports;
using Mesh.Core.Serving;

namespace Mesh.XdsServer;

/// <summary>
/// Where fleets are compiled by other processes (Ingest and Api in Lambda), the xDS server learns of new heads by
/// reading every mesh's heads each Xds:HeadPollInterval (default 1 s): one query per mesh, so a missed or late
/// notification cannot exist; a fleet a stream watches is pushed at most one interval after its head moves.
/// </summary>
public sealed class HeadPoll(FleetWatch watch, ISnapshotStore snapshots, IConfiguration configuration, ILogger<HeadPoll> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.TryParse(configuration["Xds:HeadPollInterval"], System.Globalization.CultureInfo.InvariantCulture, out var configured) ? configured : TimeSpan.FromSeconds(1);
        using var timer = new PeriodicTimer(interval);
        do
        {
            try
            {
                var watched = watch.Watched.ToHashSet();
                foreach (var mesh in watched.Select(f => f.Mesh).Distinct(StringComparer.Ordinal))
                {
                    foreach (var head in await snapshots.ListHeadsAsync(mesh, stoppingToken))
                    {
                        if (watched.Contains(head.Fleet) && await watch.RefreshAsync(head.Fleet, head.Version, stoppingToken))
                            log.LogInformation("head of {Fleet} moved to {Version}", head.Fleet, head.Version);
                    }
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogError(e, "head poll failed; retrying next interval");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
