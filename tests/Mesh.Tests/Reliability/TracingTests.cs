using System.Diagnostics;
using Mesh.Core.Telemetry;
using Mesh.Tests.Support;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Mesh.Tests.Reliability;

/// <summary>The pipeline's spans, exported through OpenTelemetry to an in-memory exporter.</summary>
[Collection(TracingCollection.Name)]
public class TracingTests
{
    private static (TracerProvider Provider, List<Activity> Spans) Listen()
    {
        var spans = new List<Activity>();
        var provider = Sdk.CreateTracerProviderBuilder().AddSource(PipelineTracing.SourceName).AddInMemoryExporter(spans).Build()!;
        return (provider, spans);
    }

    [Fact]
    public async Task One_ingested_event_is_traced_from_record_through_compile_and_commit_to_after_commit()
    {
        using var store = new TempStore();
        await Story.SeedAsync(store, Repo.Samples);
        var body = SampleEvents.Bodies(Repo.Samples).Single(b => b.Sample == "01-checkout-v57-task-a-running").Body;
        var (provider, spans) = Listen();
        using (provider)
        {
            await Story.FeedAsync(store, Repo.Samples, [body]);
            provider.ForceFlush();
        }

        var ingest = Assert.Single(spans, s => s.DisplayName == PipelineTracing.Ingest);
        Assert.Null(ingest.Parent);
        Assert.Equal(1, ingest.GetTagItem("mesh.events"));
        var record = Assert.Single(spans, s => s.DisplayName == PipelineTracing.Record);
        Assert.Equal(ingest.SpanId, record.ParentSpanId);
        var publish = Assert.Single(spans, s => s.DisplayName == PipelineTracing.Publish);
        Assert.Equal(ingest.SpanId, publish.ParentSpanId);
        var compiles = spans.Where(s => s.DisplayName == PipelineTracing.Compile).ToList();
        var commits = spans.Where(s => s.DisplayName == PipelineTracing.Commit).ToList();
        Assert.NotEmpty(compiles);
        Assert.Equal(compiles.Count, commits.Count);
        Assert.All(compiles.Concat(commits), s => Assert.Equal(publish.SpanId, s.ParentSpanId));
        Assert.Contains(compiles, s => (string?)s.GetTagItem("mesh.fleet") == "shop/storefront");
        var after = Assert.Single(spans, s => s.DisplayName == PipelineTracing.AfterCommit);
        Assert.Equal(ingest.SpanId, after.ParentSpanId);
        Assert.All(spans, s => Assert.Equal(ingest.TraceId, s.TraceId));
    }

    [Fact]
    public async Task An_edit_is_traced_through_validate_compile_store_and_commit()
    {
        using var store = new TempStore();
        await Story.SeedAsync(store, Repo.Samples);
        var mesh = (await store.Store.Desired.GetMeshAsync("shop", CancellationToken.None))!;
        var (provider, spans) = Listen();
        using (provider)
        {
            var edit = new Mesh.Core.Editing.EditRequest("shop", "alice", null, "PUT services/checkout-api", DryRun: false);
            var checkout = mesh.Services["checkout-api"];
            var editor = new Mesh.Core.Editing.MeshEditor(store.Store.Desired, new Mesh.Core.Serving.SnapshotCache(store.Store.Snapshots, TimeProvider.System), store.Publisher, store.Settings,
                TimeProvider.System, Mesh.Core.Resilience.GuardedRetry.Default(TimeProvider.System));
            await editor.EditAsync(edit, current => new Mesh.Core.Editing.Propose(current!.With("checkout-api", checkout with { Hostnames = ["checkout.internal"] }), ["checkout-api"]),
                CancellationToken.None);
            provider.ForceFlush();
        }

        var root = Assert.Single(spans, s => s.DisplayName == PipelineTracing.Edit);
        Assert.Equal("shop", root.GetTagItem("mesh.mesh"));
        foreach (var step in new[] { PipelineTracing.Validate, PipelineTracing.Compile, PipelineTracing.Store, PipelineTracing.Commit })
            Assert.Contains(spans, s => s.DisplayName == step && s.TraceId == root.TraceId);
        var order = spans.Where(s => s.ParentSpanId == root.SpanId).OrderBy(s => s.StartTimeUtc).Select(s => s.DisplayName).Distinct().ToList();
        Assert.True(order.IndexOf(PipelineTracing.Validate) < order.IndexOf(PipelineTracing.Store), string.Join(" → ", order));
        Assert.True(order.IndexOf(PipelineTracing.Store) < order.IndexOf(PipelineTracing.Commit), string.Join(" → ", order));
    }
}

/// <summary>Spans are process-wide: tests that listen run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TracingCollection
{
    public const string Name = "tracing";
}
