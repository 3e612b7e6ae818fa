using System.Diagnostics;

namespace Mesh.Core.Telemetry;

/// <summary>
/// Spans of the pipeline's two paths: an event's (ingest → record → publish → compile → commit → after-commit →
/// announce → register) and an edit's (edit → validate → compile → store → commit → after-commit → announce →
/// register), and the reconciler's. An ActivitySource costs nothing while no one listens; the hosts export it over
/// OTLP when configured.
/// </summary>
public static class PipelineTracing
{
    public const string SourceName = "Mesh.Pipeline";

    public const string Ingest = "ingest";
    public const string Record = "record";
    public const string Publish = "publish";
    public const string Compile = "compile";
    public const string Commit = "commit";
    public const string AfterCommit = "after-commit";
    public const string Announce = "announce";
    public const string Register = "register";
    public const string Edit = "edit";
    public const string Validate = "validate";
    public const string Store = "store";
    public const string Reconcile = "reconcile";

    public static readonly ActivitySource Source = new(SourceName);

    public static Activity? Start(string name) => Source.StartActivity(name);
}
