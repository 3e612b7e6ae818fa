using System.Net;
using System.Threading.Channels;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Mesh.EksForwarder;

/// <summary>
/// Lists and watches EndpointSlices and pods (all namespaces, or those configured), and turns what it sees into slice
/// changes in order: one consumer applies every list and watch event to the <see cref="SliceBook"/>. A watch resumes
/// from the last resourceVersion it saw (bookmarks included) when the API server closes it; a 410 Gone (the version
/// expired) or a failure to resume relists, and a relist forwards every slice again, which heals a lost event.
/// </summary>
public sealed class SliceWatcher(IKubernetes kubernetes, ForwarderOptions options, ForwarderHealth health, TimeProvider clock, ILogger<SliceWatcher> log)
{
    private const int RelistAfterFailures = 3;

    private abstract record Input;
    private sealed record SlicesListed(string Scope, IList<V1EndpointSlice> Items) : Input;
    private sealed record SliceWatched(WatchEventType Type, V1EndpointSlice Slice) : Input;
    private sealed record PodsListed(IList<V1Pod> Items) : Input;
    private sealed record PodWatched(WatchEventType Type, V1Pod Pod) : Input;

    /// <summary>Forwards until cancelled (leadership lost, or the process stopping).</summary>
    public async Task RunAsync(ChangePublisher publisher, CancellationToken cancellationToken)
    {
        var inputs = Channel.CreateUnbounded<Input>(new UnboundedChannelOptions { SingleReader = true });
        var book = new SliceBook();
        var loops = options.Scopes.SelectMany(scope => new[]
        {
            WatchLoopAsync($"pods{In(scope)}",
                ct => ListPodsAsync(scope, ct), (version, onError, ct) => WatchPods(scope, version, onError, ct),
                list => new PodsListed(list.Items), (type, pod) => new PodWatched(type, pod), pod => pod.Metadata?.ResourceVersion, inputs.Writer, cancellationToken),
            WatchLoopAsync($"endpointslices{In(scope)}",
                ct => ListSlicesAsync(scope, ct), (version, onError, ct) => WatchSlices(scope, version, onError, ct),
                list => new SlicesListed(scope ?? "", list.Items), (type, slice) => new SliceWatched(type, slice), slice => slice.Metadata?.ResourceVersion, inputs.Writer, cancellationToken),
        }).ToList();
        var consumer = ConsumeAsync(inputs.Reader, book, publisher, cancellationToken);
        await Task.WhenAll(loops.Append(consumer));
    }

    private static string In(string? scope) => scope is null ? "" : $" in {scope}";

    private async Task ConsumeAsync(ChannelReader<Input> inputs, SliceBook book, ChangePublisher publisher, CancellationToken cancellationToken)
    {
        await foreach (var input in inputs.ReadAllAsync(cancellationToken))
        {
            IReadOnlyList<SliceChange> changes;
            switch (input)
            {
                case PodsListed listed:
                    changes = [.. listed.Items.SelectMany(p => book.Pod(WatchEventType.Modified, p))];
                    break;
                case PodWatched watched:
                    changes = book.Pod(watched.Type, watched.Pod);
                    foreach (var again in changes) log.LogInformation("pod {Pod} changed its version label: slice {Slice} forwarded again", watched.Pod.Metadata?.Name, again.Slice);
                    break;
                case SlicesListed listed:
                    foreach (var slice in listed.Items) await LearnPodsAsync(book, slice, cancellationToken);
                    // A relist of one namespace only speaks for that namespace's slices.
                    changes = book.Relist(listed.Items, listed.Scope.Length == 0 ? null : listed.Scope);
                    health.LastListAt = clock.GetUtcNow();
                    log.LogInformation("listed {Count} endpointslices{Scope}: forwarding each again ({Deleted} gone since the last list)",
                        listed.Items.Count, In(listed.Scope.Length == 0 ? null : listed.Scope), changes.Count(c => c.WatchEventType == "DELETED"));
                    break;
                case SliceWatched watched:
                    await LearnPodsAsync(book, watched.Slice, cancellationToken);
                    changes = book.Observe(watched.Type, watched.Slice) is { } change ? [change] : [];
                    break;
                default:
                    throw new InvalidOperationException("unknown watch input");
            }
            foreach (var change in changes) await publisher.EnqueueAsync(change, cancellationToken);
        }
    }

    /// <summary>A slice can name a pod before the pod watch has brought it: read it, so the first event carries its version.</summary>
    private async Task LearnPodsAsync(SliceBook book, V1EndpointSlice slice, CancellationToken cancellationToken)
    {
        foreach (var reference in book.UnknownPods(slice).ToList())
        {
            try
            {
                book.Learn(await kubernetes.CoreV1.ReadNamespacedPodAsync(reference.Name, reference.NamespaceProperty ?? slice.Metadata.NamespaceProperty, cancellationToken: cancellationToken));
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                log.LogInformation("pod {Pod} of slice {Slice} is gone already", reference.Name, slice.Metadata.Name);
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException && !cancellationToken.IsCancellationRequested)
            {
                // The slice goes without this pod's version now; the pod watch brings it, and forwards the slice again.
                log.LogWarning("pod {Pod} of slice {Slice} could not be read ({Reason}): forwarding without its version", reference.Name, slice.Metadata.Name, e.Message);
            }
        }
    }

    /// <summary>List, then watch from the list's version; resume after a close, relist after a 410 Gone or a failure.</summary>
    private async Task WatchLoopAsync<T, TList>(string what, Func<CancellationToken, Task<TList>> list,
        Func<string, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> watch,
        Func<TList, Input> listed, Func<WatchEventType, T, Input> watched, Func<T, string?> versionOf, ChannelWriter<Input> output, CancellationToken cancellationToken)
        where TList : IMetadata<V1ListMeta>
    {
        string? version = null;
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (version is null)
                {
                    var items = await list(cancellationToken);
                    version = items.Metadata?.ResourceVersion ?? "";
                    await output.WriteAsync(listed(items), cancellationToken);
                }
                var gone = false;
                Exception? failed = null;
                await foreach (var (type, item) in watch(version, e =>
                {
                    if (e is KubernetesException { Status.Code: 410 }) gone = true;
                    else failed = e;
                }, cancellationToken))
                {
                    failures = 0;
                    if (versionOf(item) is { Length: > 0 } seen) version = seen;
                    if (type == WatchEventType.Bookmark) continue;
                    await output.WriteAsync(watched(type, item), cancellationToken);
                }
                if (gone)
                {
                    log.LogInformation("watch of {What}: resourceVersion {Version} expired (410 Gone): relisting", what, version);
                    version = null;
                }
                else if (failed is not null)
                {
                    throw failed;
                }
                else
                {
                    log.LogInformation("watch of {What} closed by the API server: resuming from resourceVersion {Version}", what, version);
                }
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Gone)
            {
                log.LogInformation("watch of {What}: resourceVersion {Version} expired (410 Gone): relisting", what, version);
                version = null;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                // A cut connection (or the half line it left) loses nothing: every event before it was whole, and the
                // watch resumes after the last. Failing again and again, it relists, which forwards everything again.
                failures++;
                var wait = Backoff.Delay(failures, options.MaxBackoffSeconds);
                var relist = failures >= RelistAfterFailures || version is null;
                log.LogWarning("watch of {What} failed ({Reason}); {Next} in {Wait}", what, e.Message, relist ? "relisting" : $"resuming from resourceVersion {version}", wait);
                if (relist) version = null;
                await Task.Delay(wait, clock, cancellationToken);
            }
        }
    }

    private async Task<V1PodList> ListPodsAsync(string? scope, CancellationToken ct) => scope is null
        ? await kubernetes.CoreV1.ListPodForAllNamespacesAsync(cancellationToken: ct)
        : await kubernetes.CoreV1.ListNamespacedPodAsync(scope, cancellationToken: ct);

    private IAsyncEnumerable<(WatchEventType, V1Pod)> WatchPods(string? scope, string version, Action<Exception> onError, CancellationToken ct) => scope is null
        ? kubernetes.CoreV1.WatchListPodForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: version, onError: onError, cancellationToken: ct)
        : kubernetes.CoreV1.WatchListNamespacedPodAsync(scope, allowWatchBookmarks: true, resourceVersion: version, onError: onError, cancellationToken: ct);

    private async Task<V1EndpointSliceList> ListSlicesAsync(string? scope, CancellationToken ct) => scope is null
        ? await kubernetes.DiscoveryV1.ListEndpointSliceForAllNamespacesAsync(labelSelector: options.LabelSelector, cancellationToken: ct)
        : await kubernetes.DiscoveryV1.ListNamespacedEndpointSliceAsync(scope, labelSelector: options.LabelSelector, cancellationToken: ct);

    private IAsyncEnumerable<(WatchEventType, V1EndpointSlice)> WatchSlices(string? scope, string version, Action<Exception> onError, CancellationToken ct) => scope is null
        ? kubernetes.DiscoveryV1.WatchListEndpointSliceForAllNamespacesAsync(allowWatchBookmarks: true, labelSelector: options.LabelSelector, resourceVersion: version,
            onError: onError, cancellationToken: ct)
        : kubernetes.DiscoveryV1.WatchListNamespacedEndpointSliceAsync(scope, allowWatchBookmarks: true, labelSelector: options.LabelSelector, resourceVersion: version,
            onError: onError, cancellationToken: ct);
}
