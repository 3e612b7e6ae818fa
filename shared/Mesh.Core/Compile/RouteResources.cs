using System.Text.Json;
using Mesh.Core.Model;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Compile;

internal static class RouteResources
{
    /// <summary>
    /// One virtual host per HTTP backend, matched on the names clients use, with a default route to the whole
    /// backend. Envoy rejects a route table in which two virtual hosts claim one domain, so that refuses the compile.
    /// </summary>
    public static XdsResource Outbound(EnvoyJson json, IReadOnlyList<ServiceDefinition> httpBackends, XdsSettings settings, ICollection<string> problems)
    {
        var owners = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var hosts = httpBackends.Select(b => (Backend: b, Domains: Domains(b))).ToList();
        foreach (var (backend, domains) in hosts)
        {
            foreach (var domain in domains)
            {
                if (!owners.TryAdd(domain, backend.Name))
                    problems.Add($"domain '{domain}' is claimed by both {owners[domain]} and {backend.Name}");
            }
        }
        var targets = httpBackends.Select(b => new ResourceReference(XdsType.Clusters, ResourceNames.OutboundCluster(b.Name)));
        return json.Resource(ResourceNames.OutboundRoutes, XdsTypes.RouteUrl, w =>
        {
            w.WriteString("name", ResourceNames.OutboundRoutes);
            w.WriteStartArray("virtual_hosts");
            foreach (var (backend, domains) in hosts)
            {
                w.WriteStartObject();
                w.WriteString("name", backend.Name);
                w.WriteStartArray("domains");
                foreach (var domain in domains) w.WriteStringValue(domain);
                w.WriteEndArray();
                w.WriteStartArray("routes");
                DefaultRoute(w, backend);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }, [.. targets]);
    }

    private static IReadOnlyList<string> Domains(ServiceDefinition backend) =>
        [.. new[] { backend.Name }.Concat(backend.Hostnames)
            .SelectMany(host => new[] { host, $"{host}:{backend.Port}" })
            .Distinct(StringComparer.OrdinalIgnoreCase)];

    /// <summary>Everything to the backend, retrying only what cannot have reached it (safe for any method).</summary>
    private static void DefaultRoute(Utf8JsonWriter w, ServiceDefinition backend)
    {
        w.WriteStartObject();
        w.WriteString("name", "default");
        w.WriteStartObject("match");
        w.WriteString("prefix", "/");
        w.WriteEndObject();
        w.WriteStartObject("route");
        w.WriteString("cluster", ResourceNames.OutboundCluster(backend.Name));
        w.WriteString("timeout", "15s");
        w.WriteStartObject("retry_policy");
        w.WriteString("retry_on", backend.Protocol == ServiceProtocol.Grpc ? "connect-failure,refused-stream,unavailable" : "connect-failure,refused-stream");
        w.WriteNumber("num_retries", 2);
        w.WriteStartObject("retry_back_off");
        w.WriteString("base_interval", "0.025s");
        w.WriteString("max_interval", "0.25s");
        w.WriteEndObject();
        w.WriteStartArray("retry_host_predicate");
        w.WriteStartObject();
        w.WriteString("name", "envoy.retry_host_predicates.previous_hosts");
        EnvoyJson.TypedConfig(w, EnvoyJson.PreviousHostsType);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteNumber("host_selection_retry_max_attempts", 3);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
