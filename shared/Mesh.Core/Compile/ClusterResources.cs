using System.Text.Json;
using Mesh.Core.Model;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Compile;

internal static class ClusterResources
{
    /// <summary>The local application, reached on loopback: a static cluster with its one endpoint inline.</summary>
    public static XdsResource Inbound(EnvoyJson json, ServiceDefinition service, XdsSettings settings)
    {
        var name = ResourceNames.InboundCluster(service.Port);
        return json.Resource(name, XdsTypes.ClusterUrl, w =>
        {
            w.WriteString("name", name);
            w.WriteString("type", "STATIC");
            w.WriteString("connect_timeout", EnvoyJson.Duration(settings.ConnectTimeout));
            EnvoyJson.SingleEndpointLoadAssignment(w, name, "127.0.0.1", service.Port);
            UpstreamProtocol(w, service.Protocol);
        });
    }

    /// <summary>A backend (or one of its subsets) whose endpoints come by EDS, so an endpoint change keeps connection pools and outlier state.</summary>
    public static XdsResource Outbound(EnvoyJson json, string name, ServiceDefinition backend, XdsSettings settings) =>
        json.Resource(name, XdsTypes.ClusterUrl, w =>
        {
            w.WriteString("name", name);
            w.WriteString("type", "EDS");
            w.WriteString("connect_timeout", EnvoyJson.Duration(settings.ConnectTimeout));
            w.WriteString("lb_policy", "ROUND_ROBIN");
            w.WriteStartObject("eds_cluster_config");
            w.WriteString("service_name", name);
            EnvoyJson.RestConfigSource(w, "eds_config", settings);
            w.WriteEndObject();
            UpstreamProtocol(w, backend.Protocol);
        }, [new ResourceReference(XdsType.Endpoints, name)]);

    private static void UpstreamProtocol(Utf8JsonWriter w, ServiceProtocol protocol)
    {
        if (protocol is not (ServiceProtocol.Http2 or ServiceProtocol.Grpc)) return;
        w.WriteStartObject("typed_extension_protocol_options");
        w.WriteStartObject("envoy.extensions.upstreams.http.v3.HttpProtocolOptions");
        w.WriteString("@type", EnvoyJson.HttpProtocolOptionsType);
        w.WriteStartObject("explicit_http_config");
        w.WriteStartObject("http2_protocol_options");
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
