using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace Mesh.Core.Model;

/// <summary>
/// One route of a service, compiled into every caller's route table for that service. Routes are tried in
/// order; requests that match none go to the whole service, unless the last route already matches everything.
/// </summary>
public sealed record RouteRule
{
    public string Name { get; init => field = value ?? ""; } = "";
    public RouteMatch Match { get; init => field = value ?? new(); } = new();
    /// <summary>Where matching requests go: subsets of the service (none: all its endpoints), weighted in percent.</summary>
    public ImmutableArray<WeightedTarget> Targets { get; init => field = value.IsDefault ? [] : value; } = [];
    public RetryPolicy? Retry { get; init; }
    /// <summary>Whole-request timeout; unset: the service's (15 s for HTTP, none for gRPC); 0 disables it.</summary>
    public int? TimeoutMs { get; init; }
    public int? IdleTimeoutMs { get; init; }
    /// <summary>The longest a stream on this route may last; unset: the service's.</summary>
    public int? MaxStreamDurationMs { get; init; }
}

/// <summary>What a request must look like. Exactly one of Prefix, Path and Regex (none: prefix "/").</summary>
public sealed record RouteMatch
{
    public string? Prefix { get; init; }
    public string? Path { get; init; }
    public string? Regex { get; init; }
    public string? Method { get; init; }
    public ImmutableArray<HeaderMatch> Headers { get; init => field = value.IsDefault ? [] : value; } = [];
    public ImmutableArray<QueryMatch> QueryParameters { get; init => field = value.IsDefault ? [] : value; } = [];
}

/// <summary>A header condition: one of Exact, Prefix, Regex, or Present; Invert negates it.</summary>
public sealed record HeaderMatch
{
    public string Name { get; init => field = value ?? ""; } = "";
    public string? Exact { get; init; }
    public string? Prefix { get; init; }
    public string? Regex { get; init; }
    public bool? Present { get; init; }
    public bool Invert { get; init; }
}

/// <summary>A query parameter condition: one of Exact, Regex, or Present.</summary>
public sealed record QueryMatch
{
    public string Name { get; init => field = value ?? ""; } = "";
    public string? Exact { get; init; }
    public string? Regex { get; init; }
    public bool? Present { get; init; }
}

public sealed record WeightedTarget
{
    /// <summary>A subset of the service; null sends to all of its endpoints.</summary>
    public string? Subset { get; init; }
    public int Weight { get; init; }
}

/// <summary>
/// Optional numbers are nullable with their defaults applied on use: the JSON source generator sets every
/// init-only property, so an initializer would be overwritten by an absent field.
/// </summary>
public sealed record RetryPolicy
{
    /// <summary>Envoy retry_on conditions, e.g. "5xx", "connect-failure", "unavailable".</summary>
    public ImmutableArray<string> On { get; init => field = value.IsDefault ? [] : value; } = [];
    /// <summary>Default 2.</summary>
    public int? Attempts { get; init; }
    public int? PerTryTimeoutMs { get; init; }
    /// <summary>Default 25 ms.</summary>
    public int? BackoffBaseMs { get; init; }
    /// <summary>Default ten times the base, as Envoy's.</summary>
    public int? BackoffMaxMs { get; init; }

    [JsonIgnore] public int AttemptsOrDefault => Attempts ?? 2;
    [JsonIgnore] public int BackoffBaseMsOrDefault => BackoffBaseMs ?? 25;
    [JsonIgnore] public int BackoffMaxMsOrDefault => BackoffMaxMs ?? BackoffBaseMsOrDefault * 10;
}

/// <summary>A service's routes as one resource: ordered, so that order decides which route a request takes.</summary>
public sealed record RouteTable
{
    public ImmutableArray<RouteRule> Routes { get; init => field = value.IsDefault ? [] : value; } = [];
}
