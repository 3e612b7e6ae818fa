namespace Mesh.Core.Model;

/// <summary>The proxies that share one configuration: the sidecars of one service. Envoy's node.cluster is "mesh/service".</summary>
public readonly record struct FleetId(string Mesh, string Service)
{
    public override string ToString() => $"{Mesh}/{Service}";

    public static bool TryParse(string? nodeCluster, out FleetId fleet)
    {
        fleet = default;
        if (string.IsNullOrEmpty(nodeCluster)) return false;
        var slash = nodeCluster.IndexOf('/');
        if (slash <= 0 || slash == nodeCluster.Length - 1 || nodeCluster.IndexOf('/', slash + 1) >= 0) return false;
        fleet = new FleetId(nodeCluster[..slash], nodeCluster[(slash + 1)..]);
        return true;
    }
}
