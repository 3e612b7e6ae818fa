namespace Mesh.Core.Compile;

/// <summary>Resource names, in the "direction|port-or-service|subset" style Envoy users know from Istio.</summary>
public static class ResourceNames
{
    public const string InboundListener = "inbound";
    public const string OutboundListener = "outbound";
    public const string OutboundRoutes = "outbound";

    public static string InboundCluster(int port) => $"inbound|{port}";

    public static string OutboundCluster(string service) => $"outbound|{service}";

    public static string OutboundCluster(string service, string subset) => $"outbound|{service}|{subset}";

    /// <summary>A backend's further port (service names are DNS labels, so ':' never clashes with a subset).</summary>
    public static string OutboundCluster(string service, int port) => $"outbound|{service}:{port}";

    /// <summary>Connections to where the app sent them (egress outside the mesh).</summary>
    public const string Passthrough = "passthrough";

    /// <summary>Connections egress refuses.</summary>
    public const string Blackhole = "blackhole";

    public static string OutboundTcpListener(string service) => $"outbound|tcp|{service}";

    /// <summary>A gateway listener, and its route table (RDS), by port.</summary>
    public static string Ingress(int port) => $"ingress|{port}";

    /// <summary>The SDS secret of a gateway listener's certificate, and of the CA its clients' certificates must chain to.</summary>
    public static string IngressCertificate(int port) => $"ingress|{port}";

    public static string IngressClientCa(int port) => $"ingress|{port}|ca";

    /// <summary>The fleet's own endpoints, for zone-aware routing: a static cluster of the bootstrap, fed by EDS.</summary>
    public static string LocalCluster(string service) => $"local|{service}";
}
