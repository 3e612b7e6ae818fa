using System.Collections.Immutable;

namespace Mesh.Core.Model;

public enum LoadBalancing { RoundRobin, LeastRequest, Random }

/// <summary>How the service's own sidecar accepts connections: STRICT takes only mutual TLS, PERMISSIVE both.</summary>
public enum MtlsMode { Disabled, Permissive, Strict }

/// <summary>How callers treat a service (connection limits, ejection, balancing) and whom the service accepts.</summary>
public sealed record ServicePolicy
{
    public ConnectionPool? ConnectionPool { get; init; }
    public OutlierDetection? OutlierDetection { get; init; }
    public LoadBalancing LoadBalancing { get; init; } = LoadBalancing.RoundRobin;
    public MtlsMode Mtls { get; init; } = MtlsMode.Disabled;
    /// <summary>Services allowed to call this one (checked against their certificates, so it needs STRICT); empty allows all.</summary>
    public ImmutableArray<string> AllowedCallers { get; init => field = value.IsDefault ? [] : value; } = [];
}

/// <summary>Envoy circuit-breaker thresholds each caller applies to this service.</summary>
public sealed record ConnectionPool
{
    public int? MaxConnections { get; init; }
    public int? MaxPendingRequests { get; init; }
    public int? MaxRequests { get; init; }
    public int? MaxRetries { get; init; }
}

public sealed record OutlierDetection
{
    public int Consecutive5xx { get; init; } = 5;
    public int IntervalMs { get; init; } = 10_000;
    public int BaseEjectionMs { get; init; } = 30_000;
    public int MaxEjectionPercent { get; init; } = 10;
}

/// <summary>Active health checking of the service's endpoints by its callers' proxies.</summary>
public sealed record HealthCheck
{
    /// <summary>The HTTP path to probe; TCP services are probed by connecting.</summary>
    public string? Path { get; init; }
    public int IntervalMs { get; init; } = 10_000;
    public int TimeoutMs { get; init; } = 2_000;
    public int HealthyThreshold { get; init; } = 2;
    public int UnhealthyThreshold { get; init; } = 3;
}
