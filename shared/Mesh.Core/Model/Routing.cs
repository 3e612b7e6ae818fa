using System.Collections.Immutable;

namespace Mesh.Core.Model;

/// <summary>
/// One route of a service, compiled into every caller's route table for that service. Routes are tried in
/// order; requests that match none go to the whole service, unless the last route already matches everything.
/// </summary>
public sealed record RouteRule
{
    public string Name { get; init; } = "";
    public RouteMatch Match { get; init; } = new();
    /// <summary>Where matching requests go: subsets of the service (none: all its endpoints), weighted in percent.</summary>
    public ImmutableArray<WeightedTarget> Targets { get; init => field = value.IsDefault ? [] : value; } = [];
    public RetryPolicy? Retry { get; init; }
    /// <summary>Whole-request timeout; Envoy's default is 15 s, 0 disables it.</summary>
    public int? TimeoutMs { get; init; }
    public int? IdleTimeoutMs { get; init; }
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
    public string Name { get; init; } = "";
    public string? Exact { get; init; }
    public string? Prefix { get; init; }
    public string? Regex { get; init; }
    public bool? Present { get; init; }
    public bool Invert { get; init; }
}

/// <summary>A query parameter condition: one of Exact, Regex, or Present.</summary>
public sealed record QueryMatch
{
    public string Name { get; init; } = "";
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

public sealed record RetryPolicy
{
    /// <summary>Envoy retry_on conditions, e.g. "5xx", "connect-failure", "unavailable".</summary>
    public ImmutableArray<string> On { get; init => field = value.IsDefault ? [] : value; } = [];
    public int Attempts { get; init; } = 2;
    public int? PerTryTimeoutMs { get; init; }
    public int BackoffBaseMs { get; init; } = 25;
    public int? BackoffMaxMs { get; init; }
}

/// <summary>A service's routes as one resource: ordered, so that order decides which route a request takes.</summary>
public sealed record RouteTable
{
    public ImmutableArray<RouteRule> Routes { get; init => field = value.IsDefault ? [] : value; } = [];
}
