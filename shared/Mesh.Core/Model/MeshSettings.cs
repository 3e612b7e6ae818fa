using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace Mesh.Core.Model;

/// <summary>What apps may reach outside the mesh (App Mesh's egress filter).</summary>
public enum EgressMode
{
    /// <summary>Any destination: what the mesh does not know passes through to where the app sent it.</summary>
    [JsonStringEnumMemberName("ALLOW_ALL")] AllowAll,
    /// <summary>Only the mesh's services, AWS APIs (TLS to *.amazonaws.com) and the declared external services.</summary>
    [JsonStringEnumMemberName("DROP_ALL")] DropAll,
}

/// <summary>
/// A destination outside the mesh that apps may reach under DROP_ALL, as App Mesh's external virtual services were:
/// hostnames (TLS told by its SNI, HTTP by its Host) on ports, and/or address ranges (any TCP, optionally on ports).
/// </summary>
public sealed record ExternalService
{
    public string Name { get; init => field = value ?? ""; } = "";
    /// <summary>DNS names, or "*.suffix" for every name under a domain.</summary>
    public ImmutableArray<string> Hosts { get; init => field = value.IsDefault ? [] : value; } = [];
    /// <summary>The ports the hosts or ranges are reached on; hosts need at least one, ranges without ports allow every port.</summary>
    public ImmutableArray<int> Ports { get; init => field = value.IsDefault ? [] : value; } = [];
    /// <summary>IPv4 or IPv6 ranges, such as "10.20.0.0/16".</summary>
    public ImmutableArray<string> Cidrs { get; init => field = value.IsDefault ? [] : value; } = [];
}

public sealed record EgressSettings
{
    public EgressMode Mode { get; init; } = EgressMode.AllowAll;
    public ImmutableArray<ExternalService> ExternalServices { get; init => field = value.IsDefault ? [] : value; } = [];
}

/// <summary>
/// Where a mesh's proxies find their certificate, key and CA bundle (PEM files in one directory, which Envoy watches
/// so that a rotated certificate is used without a restart).
/// </summary>
public sealed record CertificateFiles
{
    public string CertificateChain { get; init => field = value ?? ""; } = "";
    public string PrivateKey { get; init => field = value ?? ""; } = "";
    public string TrustedCa { get; init => field = value ?? ""; } = "";
}

/// <summary>Settings of a whole mesh, compiled into every fleet of it.</summary>
public sealed record MeshSettings
{
    public EgressSettings Egress { get; init => field = value ?? new(); } = new();
    /// <summary>Null: the control plane's defaults (Xds:Tls).</summary>
    public CertificateFiles? Certificates { get; init; }
    public ObservabilitySettings Observability { get; init => field = value ?? new(); } = new();

    public static readonly MeshSettings Default = new();
}
