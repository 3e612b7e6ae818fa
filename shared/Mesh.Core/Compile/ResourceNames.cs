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

    public static string OutboundTcpListener(string service) => $"outbound|tcp|{service}";

    /// <summary>The fleet's own endpoints, for zone-aware routing: a static cluster of the bootstrap, fed by EDS.</summary>
    public static string LocalCluster(string service) => $"local|{service}";
}
