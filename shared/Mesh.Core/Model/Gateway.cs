using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mesh.Core.Model;

public enum GatewayProtocol
{
    [JsonStringEnumMemberName("http")] Http,
    [JsonStringEnumMemberName("http2")] Http2,
    [JsonStringEnumMemberName("grpc")] Grpc,
}

/// <summary>
/// TLS a gateway listener terminates: its certificate and key (PEM files Envoy watches, so a rotated certificate is
/// served without a restart) and, optionally, the CA that client certificates must chain to.
/// </summary>
public sealed record GatewayTls
{
    public string CertificateChain { get; init => field = value ?? ""; } = "";
    public string PrivateKey { get; init => field = value ?? ""; } = "";
    public ClientValidation? ClientValidation { get; init; }
}

/// <summary>Clients must present a certificate from this CA and, when names are listed, with one of these subject alternative names.</summary>
public sealed record ClientValidation
{
    public string TrustedCa { get; init => field = value ?? ""; } = "";
    public ImmutableArray<string> SubjectAltNames { get; init => field = value.IsDefault ? [] : value; } = [];
}

/// <summary>How much one gateway listener takes at once; unset: Envoy's defaults.</summary>
public sealed record ListenerLimits
{
    /// <summary>Open client connections; more are closed at once.</summary>
    public int? MaxConnections { get; init; }
    /// <summary>Concurrent streams on one HTTP/2 connection (http2 and grpc listeners).</summary>
    public int? MaxConcurrentStreams { get; init; }
}

/// <summary>A port the gateway takes traffic from outside the mesh on (App Mesh: a virtual gateway listener).</summary>
public sealed record GatewayListener
{
    public int Port { get; init; }
    public GatewayProtocol Protocol { get; init; } = GatewayProtocol.Http;
    public GatewayTls? Tls { get; init; }
    public ListenerLimits? Limits { get; init; }
}

/// <summary>The request's host: exactly this name, or any name that ends with the suffix.</summary>
public sealed record HostnameMatch
{
    public string? Exact { get; init; }
    public string? Suffix { get; init; }

    /// <summary>
    /// Whether every host <paramref name="later"/> matches is matched by <paramref name="earlier"/> (null: any host). A
    /// suffix matches longer names only, as Envoy's "*suffix" does.
    /// </summary>
    public static bool Covers(HostnameMatch? earlier, HostnameMatch? later)
    {
        if (earlier is null) return true;
        if (later is null) return false;
        if (earlier.Exact is { } exact) return string.Equals(exact, later.Exact, StringComparison.OrdinalIgnoreCase);
        if (earlier.Suffix is not { } suffix) return false;
        if (later.Exact is { } name) return name.Length > suffix.Length && name.EndsWith(suffix, StringComparison.OrdinalIgnoreCase);
        return later.Suffix is { } laterSuffix && laterSuffix.EndsWith(suffix, StringComparison.OrdinalIgnoreCase);
    }
}

/// <summary>
/// What a request to the gateway must look like: at most one of Prefix, Path, Regex and GrpcService (none: prefix
/// "/"), and the host, method, headers and query parameters; Port limits the route to one listener.
/// </summary>
public sealed record GatewayRouteMatch
{
    public HostnameMatch? Hostname { get; init; }
    public string? Prefix { get; init; }
    public string? Path { get; init; }
    public string? Regex { get; init; }
    /// <summary>A gRPC service ("package.Service"): its calls' paths start with "/package.Service/".</summary>
    public string? GrpcService { get; init; }
    public string? Method { get; init; }
    public ImmutableArray<HeaderMatch> Headers { get; init => field = value.IsDefault ? [] : value; } = [];
    public ImmutableArray<QueryMatch> QueryParameters { get; init => field = value.IsDefault ? [] : value; } = [];
    public int? Port { get; init; }

    /// <summary>The path, method, header and query conditions, as a service route states them.</summary>
    public RouteMatch ToRouteMatch() => new()
    {
        Prefix = GrpcService is { } grpc ? $"/{grpc}/" : Prefix,
        Path = Path,
        Regex = Regex,
        Method = Method,
        Headers = Headers,
        QueryParameters = QueryParameters,
    };
}

/// <summary>Where a gateway route sends requests: a service of the mesh (on one of its ports), all of it or weighted subsets.</summary>
public sealed record GatewayTarget
{
    public string Service { get; init => field = value ?? ""; } = "";
    /// <summary>One of the service's ports; unset: its main port.</summary>
    public int? Port { get; init; }
    /// <summary>Subsets of the service (main port only), weighted in percent; none: all its endpoints.</summary>
    public ImmutableArray<WeightedTarget> Subsets { get; init => field = value.IsDefault ? [] : value; } = [];
}

/// <summary>
/// Rewrites of a forwarded request, with App Mesh's defaults: unless told otherwise, the host becomes the target
/// service's name and a matched prefix becomes "/" (so "/chapter/1" matched by "/chapter" reaches the service as "/1").
/// </summary>
public sealed record GatewayRewrite
{
    /// <summary>Replace the matched prefix with this instead of "/".</summary>
    public string? Prefix { get; init; }
    /// <summary>False keeps the matched prefix (App Mesh's defaultPrefix DISABLED).</summary>
    public bool? DefaultPrefix { get; init; }
    /// <summary>Replace the whole path (routes that match a path or a regex).</summary>
    public string? Path { get; init; }
    /// <summary>False keeps the client's host (App Mesh's defaultTargetHostname DISABLED).</summary>
    public bool? DefaultTargetHostname { get; init; }
}

/// <summary>One gateway route: requests it matches go to its target. Routes are tried in order, the first match wins.</summary>
public sealed record GatewayRoute
{
    public string Name { get; init => field = value ?? ""; } = "";
    public GatewayRouteMatch Match { get; init => field = value ?? new(); } = new();
    public GatewayTarget Target { get; init => field = value ?? new(); } = new();
    public GatewayRewrite? Rewrite { get; init; }
    /// <summary>Whole-request timeout; unset: the target service's; 0 disables it.</summary>
    public int? TimeoutMs { get; init; }
    public int? IdleTimeoutMs { get; init; }
    public RetryPolicy? Retry { get; init; }
}

/// <summary>
/// An ingress gateway (App Mesh: a virtual gateway with its gateway routes): an Envoy fleet of its own, node.cluster
/// "mesh/gateway", that takes traffic from outside the mesh on its listeners and routes it to the mesh's services.
/// Gateways and services share one namespace of fleets, so a name is either.
/// </summary>
public sealed record GatewayDefinition
{
    public string Mesh { get; init => field = value ?? ""; } = "";
    public string Name { get; init => field = value ?? ""; } = "";
    public ImmutableArray<GatewayListener> Listeners { get; init => field = value.IsDefault ? [] : value; } = [];
    public ImmutableArray<GatewayRoute> Routes { get; init => field = value.IsDefault ? [] : value; } = [];
    /// <summary>This gateway's access log and trace sampling where they differ from the mesh's.</summary>
    public ObservabilityOverride? Observability { get; init; }
    /// <summary>Who may fetch this gateway's configuration besides its own certificate's holder.</summary>
    public ProxyIdentities ProxyIdentities { get; init => field = value ?? new(); } = new();

    [JsonIgnore]
    public FleetId Fleet => new(Mesh, Name);

    /// <summary>The services its routes send to, each once, in order.</summary>
    [JsonIgnore]
    public IEnumerable<string> Targets => Routes.Select(r => r.Target.Service).Distinct(StringComparer.Ordinal);

    /// <summary>Equal content (records compare arrays by reference, so this compares the canonical JSON).</summary>
    public static bool Same(GatewayDefinition? a, GatewayDefinition? b) => ToJson(a) == ToJson(b);

    private static string ToJson(GatewayDefinition? gateway) =>
        gateway is null ? "" : JsonSerializer.Serialize(gateway, CanonicalJson.Default.GatewayDefinition);
}
