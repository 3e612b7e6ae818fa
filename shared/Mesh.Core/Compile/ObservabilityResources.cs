using System.Net;
using System.Text.Json;
using Mesh.Core.Model;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Compile;

/// <summary>What one fleet's sidecars report: its mesh's settings with its service's overrides.</summary>
public sealed record FleetObservability(FleetId Fleet, AccessLogFormat AccessLog, TracingProvider Tracing, double SamplingPercent, IPEndPoint Collector, StatsSettings Stats)
{
    public static readonly IPEndPoint XRayDaemon = new(IPAddress.Loopback, 2000);
    public static readonly IPEndPoint OtlpCollector = new(IPAddress.Loopback, 4317);
    public static readonly IPEndPoint StatsdAgent = new(IPAddress.Loopback, 8125);

    public static FleetObservability Of(ServiceDefinition service, ObservabilitySettings mesh) => Of(service.Fleet, service.Policy.Observability, mesh);

    /// <param name="own">The fleet's own choices where they differ from the mesh's.</param>
    public static FleetObservability Of(FleetId fleet, ObservabilityOverride? own, ObservabilitySettings mesh)
    {
        var tracing = mesh.Tracing;
        var collector = tracing.Address is { } address && IPEndPoint.TryParse(address, out var endpoint)
            ? endpoint
            : tracing.Provider == TracingProvider.XRay ? XRayDaemon : OtlpCollector;
        return new FleetObservability(fleet, own?.AccessLog ?? mesh.AccessLog, tracing.Provider, own?.TracingSamplingPercent ?? tracing.SamplingPercent, collector, mesh.Stats);
    }
}

/// <summary>
/// Access logs, tracing and stats as Envoy takes them: a stdout access logger on every HTTP connection manager and
/// TCP proxy, a tracer on every HTTP connection manager (X-Ray, or OpenTelemetry through a collector cluster), and
/// stats tags and a StatsD sink in the bootstrap.
/// </summary>
public static class ObservabilityResources
{
    public const string CollectorCluster = "otel-collector";

    /// <summary>The documented field set of a JSON access log line; the text format carries the same fields.</summary>
    public static readonly IReadOnlyList<(string Field, string Operator)> Fields =
    [
        ("start_time", "%START_TIME%"),
        ("method", "%REQ(:METHOD)%"),
        ("path", "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"),
        ("protocol", "%PROTOCOL%"),
        ("authority", "%REQ(:AUTHORITY)%"),
        ("response_code", "%RESPONSE_CODE%"),
        ("response_flags", "%RESPONSE_FLAGS%"),
        ("upstream_cluster", "%UPSTREAM_CLUSTER%"),
        ("upstream_host", "%UPSTREAM_HOST%"),
        ("duration_ms", "%DURATION%"),
        ("upstream_service_time_ms", "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%"),
        ("bytes_received", "%BYTES_RECEIVED%"),
        ("bytes_sent", "%BYTES_SENT%"),
        ("trace_id", "%TRACE_ID%"),
        ("request_id", "%REQ(X-REQUEST-ID)%"),
        ("downstream_remote_address", "%DOWNSTREAM_REMOTE_ADDRESS%"),
    ];

    private const string StdoutAccessLogType = "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog";

    /// <summary>Writes "access_log" unless the fleet logs nothing.</summary>
    public static void AccessLog(Utf8JsonWriter w, FleetObservability observe)
    {
        if (observe.AccessLog == AccessLogFormat.Off) return;
        w.WriteStartArray("access_log");
        w.WriteStartObject();
        w.WriteString("name", "envoy.access_loggers.stdout");
        EnvoyJson.TypedConfig(w, StdoutAccessLogType, t =>
        {
            t.WriteStartObject("log_format");
            if (observe.AccessLog == AccessLogFormat.Json)
            {
                t.WriteStartObject("json_format");
                foreach (var (field, op) in Fields) t.WriteString(field, op);
                t.WriteEndObject();
            }
            else
            {
                t.WriteStartObject("text_format_source");
                t.WriteString("inline_string", string.Join(' ', Fields.Select(f => $"{f.Field}={f.Operator}")) + "\n");
                t.WriteEndObject();
            }
            t.WriteEndObject();
        });
        w.WriteEndObject();
        w.WriteEndArray();
    }

    /// <summary>Writes an HTTP connection manager's "tracing" unless the mesh traces nothing; the segment or service is the fleet.</summary>
    public static void Tracing(Utf8JsonWriter w, FleetObservability observe)
    {
        if (observe.Tracing == TracingProvider.None) return;
        w.WriteStartObject("tracing");
        w.WriteStartObject("random_sampling");
        w.WriteNumber("value", observe.SamplingPercent);
        w.WriteEndObject();
        w.WriteStartObject("provider");
        if (observe.Tracing == TracingProvider.XRay)
        {
            w.WriteString("name", "envoy.tracers.xray");
            EnvoyJson.TypedConfig(w, "type.googleapis.com/envoy.config.trace.v3.XRayConfig", t =>
            {
                t.WriteStartObject("daemon_endpoint");
                t.WriteString("protocol", "UDP");
                t.WriteString("address", observe.Collector.Address.ToString());
                t.WriteNumber("port_value", observe.Collector.Port);
                t.WriteEndObject();
                t.WriteString("segment_name", observe.Fleet.ToString());
            });
        }
        else
        {
            w.WriteString("name", "envoy.tracers.opentelemetry");
            EnvoyJson.TypedConfig(w, "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig", t =>
            {
                t.WriteStartObject("grpc_service");
                t.WriteStartObject("envoy_grpc");
                t.WriteString("cluster_name", CollectorCluster);
                t.WriteEndObject();
                t.WriteEndObject();
                t.WriteString("service_name", observe.Fleet.ToString());
            });
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>The OTLP collector's cluster (gRPC, so HTTP/2), when the fleet traces with OpenTelemetry.</summary>
    internal static XdsResource? Collector(EnvoyJson json, FleetObservability observe, XdsSettings settings) =>
        observe.Tracing == TracingProvider.OpenTelemetry
            ? ClusterResources.Static(json, CollectorCluster, observe.Collector.Address.ToString(), observe.Collector.Port, ServiceProtocol.Grpc, settings)
            : null;

    /// <summary>The bootstrap's stats tags (App Mesh's names, so migrated dashboards keep working) and StatsD sink.</summary>
    public static void Stats(Utf8JsonWriter w, FleetId fleet, StatsSettings stats)
    {
        if (stats.Tags)
        {
            w.WriteStartObject("stats_config");
            w.WriteStartArray("stats_tags");
            foreach (var (name, value) in new[] { ("appmesh.mesh", fleet.Mesh), ("appmesh.virtual_node", fleet.Service) })
            {
                w.WriteStartObject();
                w.WriteString("tag_name", name);
                w.WriteString("fixed_value", value);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        if (stats.StatsdAddress is not { } address || !IPEndPoint.TryParse(address, out var sink)) return;
        w.WriteStartArray("stats_sinks");
        w.WriteStartObject();
        w.WriteString("name", stats.DogStatsd ? "envoy.stat_sinks.dog_statsd" : "envoy.stat_sinks.statsd");
        EnvoyJson.TypedConfig(w, stats.DogStatsd ? "type.googleapis.com/envoy.config.metrics.v3.DogStatsdSink" : "type.googleapis.com/envoy.config.metrics.v3.StatsdSink", t =>
        {
            t.WriteStartObject("address");
            t.WriteStartObject("socket_address");
            t.WriteString("protocol", "UDP");
            t.WriteString("address", sink.Address.ToString());
            t.WriteNumber("port_value", sink.Port);
            t.WriteEndObject();
            t.WriteEndObject();
        });
        w.WriteEndObject();
        w.WriteEndArray();
    }
}
