using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace Mesh.Core.Model;

public enum LoadBalancing
{
    [JsonStringEnumMemberName("ROUND_ROBIN")] RoundRobin,
    [JsonStringEnumMemberName("LEAST_REQUEST")] LeastRequest,
    [JsonStringEnumMemberName("RANDOM")] Random,
}

/// <summary>How the service's own sidecar accepts connections: STRICT takes only mutual TLS, PERMISSIVE both.</summary>
public enum MtlsMode
{
    [JsonStringEnumMemberName("DISABLED")] Disabled,
    [JsonStringEnumMemberName("PERMISSIVE")] Permissive,
    [JsonStringEnumMemberName("STRICT")] Strict,
}

/// <summary>How callers treat a service (connection limits, ejection, balancing) and whom the service accepts.</summary>
public sealed record ServicePolicy
{
    public ConnectionPool? ConnectionPool { get; init; }
    public OutlierDetection? OutlierDetection { get; init; }
    public LoadBalancing LoadBalancing { get; init; } = LoadBalancing.RoundRobin;
    public MtlsMode Mtls { get; init; } = MtlsMode.Disabled;
    /// <summary>Services allowed to call this one (checked against their certificates, so it needs STRICT); empty allows all.</summary>
    public ImmutableArray<string> AllowedCallers { get; init => field = value.IsDefault ? [] : value; } = [];
    /// <summary>
    /// Timeout of a whole request to this service, for routes without their own; unset: 15 s for HTTP, none for gRPC
    /// (a stream must be able to live); 0: none.
    /// </summary>
    public int? RequestTimeoutMs { get; init; }
    /// <summary>The longest a stream to this service may last, for routes without their own; unset: no limit.</summary>
    public int? MaxStreamDurationMs { get; init; }

    /// <summary>How callers spread requests over this service's zones; unset: zone-aware with Envoy's safeguards.</summary>
    public ZoneAwareRouting? ZoneAware { get; init; }

    /// <summary>This service's sidecars' access log and trace sampling where they differ from the mesh's.</summary>
    public ObservabilityOverride? Observability { get; init; }

    /// <summary>What a route to this service uses as its timeout when it sets none.</summary>
    public int DefaultTimeoutMs(ServiceProtocol protocol) => RequestTimeoutMs ?? (protocol == ServiceProtocol.Grpc ? 0 : 15_000);
}

/// <summary>
/// Zone-aware routing: a caller keeps requests in its own availability zone when that zone holds enough of this
/// service's endpoints, and spills over in proportion otherwise. Envoy turns it off by itself when either side is
/// smaller than <see cref="MinClusterSize"/> or sits in one zone.
/// </summary>
public sealed record ZoneAwareRouting
{
    public bool Enabled { get; init; } = true;
    /// <summary>Below this many endpoints the service is balanced over all zones (Envoy's default: 6).</summary>
    public int? MinClusterSize { get; init; }
}

/// <summary>Envoy circuit-breaker thresholds each caller applies to this service.</summary>
public sealed record ConnectionPool
{
    public int? MaxConnections { get; init; }
    public int? MaxPendingRequests { get; init; }
    public int? MaxRequests { get; init; }
    public int? MaxRetries { get; init; }
}

/// <summary>Ejection of endpoints that keep failing; unset numbers take Envoy's defaults (5, 10 s, 30 s, 10 %).</summary>
public sealed record OutlierDetection
{
    public int? Consecutive5xx { get; init; }
    public int? IntervalMs { get; init; }
    public int? BaseEjectionMs { get; init; }
    public int? MaxEjectionPercent { get; init; }
}

/// <summary>Active health checking of the service's endpoints by its callers' proxies.</summary>
public sealed record HealthCheck
{
    /// <summary>The HTTP path to probe; TCP services are probed by connecting.</summary>
    public string? Path { get; init; }
    /// <summary>Default 10 s.</summary>
    public int? IntervalMs { get; init; }
    /// <summary>Default 2 s.</summary>
    public int? TimeoutMs { get; init; }
    /// <summary>Default 2.</summary>
    public int? HealthyThreshold { get; init; }
    /// <summary>Default 3.</summary>
    public int? UnhealthyThreshold { get; init; }

    [JsonIgnore] public int IntervalMsOrDefault => IntervalMs ?? 10_000;
    [JsonIgnore] public int TimeoutMsOrDefault => TimeoutMs ?? 2_000;
    [JsonIgnore] public int HealthyThresholdOrDefault => HealthyThreshold ?? 2;
    [JsonIgnore] public int UnhealthyThresholdOrDefault => UnhealthyThreshold ?? 3;
}
