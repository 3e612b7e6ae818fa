using System.Text.Json.Serialization;

namespace Mesh.Core.Model;

/// <summary>How sidecars log each request and connection to stdout, where the ECS and EKS log drivers collect it.</summary>
public enum AccessLogFormat
{
    [JsonStringEnumMemberName("OFF")] Off,
    [JsonStringEnumMemberName("TEXT")] Text,
    [JsonStringEnumMemberName("JSON")] Json,
}

public enum TracingProvider
{
    [JsonStringEnumMemberName("NONE")] None,
    /// <summary>Envoy's X-Ray tracer, to the X-Ray daemon over UDP (default 127.0.0.1:2000).</summary>
    [JsonStringEnumMemberName("XRAY")] XRay,
    /// <summary>OTLP over gRPC to a collector such as the ADOT sidecar (default 127.0.0.1:4317).</summary>
    [JsonStringEnumMemberName("OPENTELEMETRY")] OpenTelemetry,
}

public sealed record TracingSettings
{
    public TracingProvider Provider { get; init; } = TracingProvider.None;
    /// <summary>Percent of requests traced when no caller decided for them (a sampled caller's trace is always continued).</summary>
    public double SamplingPercent { get; init; } = 5;
    /// <summary>"ip:port" of the daemon or collector; unset: the provider's sidecar default on loopback.</summary>
    public string? Address { get; init; }
}

public sealed record StatsSettings
{
    /// <summary>Tag every stat with the mesh and service (App Mesh's ENABLE_ENVOY_STATS_TAGS: appmesh.mesh, appmesh.virtual_node).</summary>
    public bool Tags { get; init; } = true;
    /// <summary>"ip:port" of a StatsD listener such as the CloudWatch agent (UDP 127.0.0.1:8125); unset: no sink.</summary>
    public string? StatsdAddress { get; init; }
    /// <summary>Send tags the DogStatsD way (#tag:value), which the CloudWatch agent reads as dimensions.</summary>
    public bool DogStatsd { get; init; } = true;
}

/// <summary>What every sidecar of the mesh reports: access logs, traces and stats.</summary>
public sealed record ObservabilitySettings
{
    public AccessLogFormat AccessLog { get; init; } = AccessLogFormat.Off;
    public TracingSettings Tracing { get; init => field = value ?? new(); } = new();
    public StatsSettings Stats { get; init => field = value ?? new(); } = new();
}

/// <summary>A service's own choice where it differs from its mesh's.</summary>
public sealed record ObservabilityOverride
{
    public AccessLogFormat? AccessLog { get; init; }
    public double? TracingSamplingPercent { get; init; }
}
