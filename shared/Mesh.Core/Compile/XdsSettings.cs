using Mesh.Core.Model;

namespace Mesh.Core.Compile;

/// <summary>Control-plane settings that every compiled snapshot carries.</summary>
public sealed record XdsSettings
{
    /// <summary>
    /// The name of the static cluster in each proxy's bootstrap that reaches this control plane. Envoy's REST
    /// client sends it as the Host header, so it is the control plane's host name.
    /// </summary>
    public string ControlPlaneCluster { get; init; } = "localhost";
    /// <summary>Envoy polls again after one to two times this delay.</summary>
    public TimeSpan RefreshDelay { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Envoy's default is 1 s; a cold Lambda needs more.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan InitialFetchTimeout { get; init; } = TimeSpan.FromSeconds(15);
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Inbound and outbound listener ports, as App Mesh's iptables redirection set them up.</summary>
    public int InboundPort { get; init; } = 15000;
    public int OutboundPort { get; init; } = 15001;
    /// <summary>Envoy's admin listener on loopback (readiness, stats).</summary>
    public int AdminPort { get; init; } = 9901;

    /// <summary>Ports the sidecar itself holds, which no app or backend may use.</summary>
    public IReadOnlySet<int> ReservedPorts => new HashSet<int> { AdminPort, InboundPort, OutboundPort };
    /// <summary>Where each proxy finds its certificate, key and the mesh's CA bundle, for services with mTLS.</summary>
    public MeshTlsFiles Tls { get; init; } = new();
    /// <summary>The certificate identity of a service: a SPIFFE ID in the URI SAN, as ACM PCA and cert-manager can issue.</summary>
    public string TrustDomain { get; init; } = "mesh.local";
    /// <summary>Polls are unauthenticated: at most this many proxies of one fleet are tracked for convergence.</summary>
    public int MaxTrackedProxiesPerFleet { get; init; } = 5000;
    /// <summary>Whether a proxy must prove its fleet to be served (see FleetAccess); off only where every caller is trusted.</summary>
    public bool ProxyIdentityRequired { get; init; }
    /// <summary>The ADS server proxies stream from ("http://host:port", or "https://..." for TLS); null: none deployed.</summary>
    public Uri? AdsAddress { get; init; }

    /// <summary>
    /// How old a fleet's head may be when a poll is answered 304 from it (a poll that would be sent resources always
    /// reads the head again): at most this much later a proxy learns of a version another process committed.
    /// </summary>
    public TimeSpan ServeHeadLifetime { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The bootstrap's stats tags and sink (a mesh setting).</summary>
    public StatsSettings Stats { get; init; } = new();

    /// <summary>These settings with what a mesh sets for itself: its certificate files and its stats.</summary>
    public XdsSettings ForMesh(MeshSettings mesh) => this with
    {
        Tls = mesh.Certificates is { } files ? Tls with { CertificateChain = files.CertificateChain, PrivateKey = files.PrivateKey, TrustedCa = files.TrustedCa } : Tls,
        Stats = mesh.Observability.Stats,
    };
}

public sealed record MeshTlsFiles
{
    public string CertificateChain { get; init; } = "/etc/mesh/tls/cert.pem";
    public string PrivateKey { get; init; } = "/etc/mesh/tls/key.pem";
    public string TrustedCa { get; init; } = "/etc/mesh/tls/ca.pem";
    /// <summary>
    /// Where the sidecar writes the SDS files that name those PEM files. Envoy reloads them, and so the certificates,
    /// whenever a file is moved into the certificates' directory (how cert-manager, the ACM PCA agent or a
    /// rename-into-place rotation writes), so a rotated certificate is used without a restart.
    /// </summary>
    public string SecretsDirectory { get; init; } = "/tmp/envoy-sds";

    public string CertificateSecretPath => $"{SecretsDirectory.TrimEnd('/')}/{SdsSecrets.CertificateName}.json";
    public string ValidationSecretPath => $"{SecretsDirectory.TrimEnd('/')}/{SdsSecrets.ValidationName}.json";

    /// <summary>The SDS file of a gateway listener's certificate, or of the CA its clients' certificates must chain to.</summary>
    public string IngressSecretPath(int port, bool clientCa) => $"{SecretsDirectory.TrimEnd('/')}/ingress-{port}{(clientCa ? "-ca" : "")}.json";
    /// <summary>The directory Envoy watches: the one the certificate files are rotated in.</summary>
    public string CertificateDirectory => CertificateChain.LastIndexOf('/') is > 0 and var slash ? CertificateChain[..slash] : "/";
}
