using Mesh.Core.Pipeline;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mesh.Hosting;

/// <summary>
/// Republishes fleets a crash left behind, once when the process starts (in the background: a failure is logged and
/// the scheduled reconcile, or the next start, tries again). In AWS a scheduled rule also runs it every minute.
/// </summary>
public sealed class ReconcileAtStartup(Reconciler reconciler, ILogger<ReconcileAtStartup> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.Yield();
            ReconcileLog.Write(log, await reconciler.ReconcileAsync(stoppingToken));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogError(e, "reconcile at start-up failed: {Reason}", e.Message);
        }
    }
}

public static class ReconcileLog
{
    public static void Write(ILogger log, IReadOnlyList<MeshReconciled> meshes)
    {
        foreach (var mesh in meshes)
        {
            foreach (var outcome in mesh.Republished)
                log.LogWarning("reconcile: fleet {Fleet} lagged; republished {SnapshotVersion} (was {PreviousVersion})", outcome.Fleet, outcome.Version, outcome.PreviousVersion ?? "none");
            foreach (var failure in mesh.After.Failures)
                log.LogError("reconcile: {Step} of {Subject} failed: {Reason}", failure.Step, LogText.Safe(failure.Subject), LogText.Safe(failure.Reason));
        }
        log.LogInformation("reconcile: {Meshes} meshes, {Fleets} fleets checked, {Republished} republished",
            meshes.Count, meshes.Sum(m => m.Outcomes.Count), meshes.Sum(m => m.Republished.Count()));
    }
}
