namespace Mesh.Core.Model;

public enum XdsType { Clusters, Endpoints, Listeners, Routes }

public static class XdsTypes
{
    public const string ClusterUrl = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
    public const string EndpointUrl = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
    public const string ListenerUrl = "type.googleapis.com/envoy.config.listener.v3.Listener";
    public const string RouteUrl = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";

    public static IReadOnlyList<XdsType> All { get; } = [XdsType.Clusters, XdsType.Endpoints, XdsType.Listeners, XdsType.Routes];

    public static string TypeUrl(this XdsType type) => type switch
    {
        XdsType.Clusters => ClusterUrl,
        XdsType.Endpoints => EndpointUrl,
        XdsType.Listeners => ListenerUrl,
        XdsType.Routes => RouteUrl,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>The last segment of Envoy's REST path: /v3/discovery:clusters and so on.</summary>
    public static string PathName(this XdsType type) => type switch
    {
        XdsType.Clusters => "clusters",
        XdsType.Endpoints => "endpoints",
        XdsType.Listeners => "listeners",
        XdsType.Routes => "routes",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static bool TryParsePathName(string name, out XdsType type)
    {
        foreach (var candidate in All)
        {
            if (candidate.PathName() == name)
            {
                type = candidate;
                return true;
            }
        }
        type = default;
        return false;
    }

    /// <summary>CDS and LDS are state of the world; EDS and RDS are asked for by name.</summary>
    public static bool IsWildcard(this XdsType type) => type is XdsType.Clusters or XdsType.Listeners;
}
