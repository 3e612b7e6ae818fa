using Mesh.Core.Model;

namespace Mesh.Core.Compile;

/// <summary>
/// What a proxy gets for an EDS or RDS name its fleet does not (or no longer) hold: the resource with that name and
/// nothing in it. Envoy takes an error for an unknown name as a failed fetch and keeps the cluster or listener
/// waiting for its initial fetch timeout, which turns every removal and rollback into a 15 s stall.
/// </summary>
public static class PlaceholderResources
{
    public static XdsResource Empty(XdsType type, string name)
    {
        using var json = new EnvoyJson();
        return type switch
        {
            XdsType.Endpoints => EndpointResources.LoadAssignment(json, name, []),
            XdsType.Routes => json.Resource(name, XdsTypes.RouteUrl, w => w.WriteString("name", name)),
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "only EDS and RDS resources are fetched by name"),
        };
    }
}
