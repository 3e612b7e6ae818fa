using Mesh.Core.Model;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Compile;

/// <summary>A backend endpoint ready to serve: where to connect and how healthy it is.</summary>
internal readonly record struct ServedEndpoint(string Address, int Port, string Region, string Zone, string Version, EndpointHealth Health);

internal static class EndpointResources
{
    /// <summary>
    /// The endpoints Envoy should know of: those with an address and a resolvable port, one per address:port
    /// (a pod can sit in two slices while they churn; the healthiest report wins), in a fixed order.
    /// </summary>
    public static IReadOnlyList<ServedEndpoint> Select(ServiceDefinition backend, IEnumerable<Endpoint> endpoints, ICollection<string> warnings) =>
        Select(backend, backend.Ports.First(), main: true, endpoints, warnings);

    /// <summary>The endpoints of one of the backend's ports (<paramref name="main"/>: its main port).</summary>
    public static IReadOnlyList<ServedEndpoint> Select(ServiceDefinition backend, ServicePort servicePort, bool main, IEnumerable<Endpoint> endpoints, ICollection<string> warnings)
    {
        var served = new Dictionary<(string, int), ServedEndpoint>();
        foreach (var endpoint in endpoints)
        {
            if (endpoint.Address is null) continue;
            if (EndpointPorts.Resolve(servicePort, endpoint, main) is not { } port)
            {
                warnings.Add($"endpoint {endpoint.Id} of {backend.Name} exposes no port for {servicePort.Port}; left out");
                continue;
            }
            var candidate = new ServedEndpoint(endpoint.Address, port, endpoint.Region, endpoint.Zone, endpoint.Version, endpoint.Health);
            var key = (endpoint.Address, port);
            if (!served.TryGetValue(key, out var existing) || Rank(candidate) < Rank(existing)
                || (Rank(candidate) == Rank(existing) && string.CompareOrdinal(candidate.Version, existing.Version) > 0))
                served[key] = candidate;
        }
        return [.. served.Values
            .OrderBy(e => e.Region, StringComparer.Ordinal).ThenBy(e => e.Zone, StringComparer.Ordinal)
            .ThenBy(e => e.Address, StringComparer.Ordinal).ThenBy(e => e.Port)];
    }

    /// <param name="forGrpc">
    /// For gRPC's xDS client, which skips a locality without a weight and needs every endpoint in one: each locality
    /// is written, weighted by its endpoints, so every endpoint gets an equal share.
    /// </param>
    public static XdsResource LoadAssignment(EnvoyJson json, string clusterName, IEnumerable<ServedEndpoint> endpoints, bool forGrpc = false) =>
        json.Resource(clusterName, XdsTypes.EndpointUrl, w =>
        {
            w.WriteString("cluster_name", clusterName);
            w.WriteStartArray("endpoints");
            foreach (var locality in endpoints.GroupBy(e => (e.Region, e.Zone)))
            {
                w.WriteStartObject();
                if (forGrpc || locality.Key.Region.Length > 0 || locality.Key.Zone.Length > 0)
                {
                    w.WriteStartObject("locality");
                    if (locality.Key.Region.Length > 0) w.WriteString("region", locality.Key.Region);
                    if (locality.Key.Zone.Length > 0) w.WriteString("zone", locality.Key.Zone);
                    w.WriteEndObject();
                }
                if (forGrpc) w.WriteNumber("load_balancing_weight", locality.Count());
                w.WriteStartArray("lb_endpoints");
                foreach (var endpoint in locality)
                {
                    w.WriteStartObject();
                    w.WriteStartObject("endpoint");
                    EnvoyJson.SocketAddress(w, endpoint.Address, endpoint.Port);
                    w.WriteEndObject();
                    if (endpoint.Health != EndpointHealth.Unknown) w.WriteString("health_status", HealthStatus(endpoint.Health));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });

    private static int Rank(ServedEndpoint e) => e.Health switch
    {
        EndpointHealth.Healthy => 0,
        EndpointHealth.Unknown => 1,
        EndpointHealth.Draining => 2,
        _ => 3,
    };

    private static string HealthStatus(EndpointHealth health) => health switch
    {
        EndpointHealth.Healthy => "HEALTHY",
        EndpointHealth.Unhealthy => "UNHEALTHY",
        EndpointHealth.Draining => "DRAINING",
        _ => "UNKNOWN",
    };
}
