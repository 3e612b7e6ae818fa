using Mesh.Core.Model;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Compile;

internal static class ListenerResources
{
    private const string HttpConnectionManager = "envoy.filters.network.http_connection_manager";
    private const string TcpProxy = "envoy.filters.network.tcp_proxy";

    /// <summary>Traffic to this service's own application: its routes never change with the mesh, so they are inline.</summary>
    public static XdsResource Inbound(EnvoyJson json, ServiceDefinition service, XdsSettings settings)
    {
        var cluster = ResourceNames.InboundCluster(service.Port);
        return json.Resource(ResourceNames.InboundListener, XdsTypes.ListenerUrl, w =>
        {
            w.WriteString("name", ResourceNames.InboundListener);
            EnvoyJson.SocketAddress(w, "0.0.0.0", settings.InboundPort);
            w.WriteString("traffic_direction", "INBOUND");
            if (service.Protocol == ServiceProtocol.Tcp)
            {
                EnvoyJson.SingleFilterChain(w, TcpProxy, EnvoyJson.TcpProxyType, t =>
                {
                    t.WriteString("stat_prefix", ResourceNames.InboundListener);
                    t.WriteString("cluster", cluster);
                });
                return;
            }
            EnvoyJson.SingleFilterChain(w, HttpConnectionManager, EnvoyJson.HttpConnectionManagerType, h =>
            {
                h.WriteString("stat_prefix", ResourceNames.InboundListener);
                h.WriteString("codec_type", "AUTO");
                h.WriteStartObject("route_config");
                h.WriteString("name", ResourceNames.InboundListener);
                h.WriteStartArray("virtual_hosts");
                h.WriteStartObject();
                h.WriteString("name", "local");
                h.WriteStartArray("domains");
                h.WriteStringValue("*");
                h.WriteEndArray();
                h.WriteStartArray("routes");
                h.WriteStartObject();
                h.WriteStartObject("match");
                h.WriteString("prefix", "/");
                h.WriteEndObject();
                h.WriteStartObject("route");
                h.WriteString("cluster", cluster);
                h.WriteEndObject();
                h.WriteEndObject();
                h.WriteEndArray();
                h.WriteEndObject();
                h.WriteEndArray();
                h.WriteEndObject();
                EnvoyJson.RouterOnly(h);
            });
        }, [new ResourceReference(XdsType.Clusters, cluster)], settings.InboundPort);
    }

    /// <summary>HTTP traffic to backends, redirected to one port and routed by Host; routes come by RDS so edits never touch the listener.</summary>
    public static XdsResource OutboundHttp(EnvoyJson json, XdsSettings settings) =>
        json.Resource(ResourceNames.OutboundListener, XdsTypes.ListenerUrl, w =>
        {
            w.WriteString("name", ResourceNames.OutboundListener);
            EnvoyJson.SocketAddress(w, "0.0.0.0", settings.OutboundPort);
            w.WriteString("traffic_direction", "OUTBOUND");
            EnvoyJson.SingleFilterChain(w, HttpConnectionManager, EnvoyJson.HttpConnectionManagerType, h =>
            {
                h.WriteString("stat_prefix", ResourceNames.OutboundListener);
                h.WriteString("codec_type", "AUTO");
                h.WriteStartObject("rds");
                h.WriteString("route_config_name", ResourceNames.OutboundRoutes);
                EnvoyJson.RestConfigSource(h, "config_source", settings);
                h.WriteEndObject();
                EnvoyJson.RouterOnly(h);
            });
        }, [new ResourceReference(XdsType.Routes, ResourceNames.OutboundRoutes)], settings.OutboundPort);

    /// <summary>A TCP backend cannot be told apart by Host, so it gets its own loopback port: the backend's port.</summary>
    public static XdsResource OutboundTcp(EnvoyJson json, ServiceDefinition backend)
    {
        var name = ResourceNames.OutboundTcpListener(backend.Name);
        var cluster = ResourceNames.OutboundCluster(backend.Name);
        return json.Resource(name, XdsTypes.ListenerUrl, w =>
        {
            w.WriteString("name", name);
            EnvoyJson.SocketAddress(w, "127.0.0.1", backend.Port);
            w.WriteString("traffic_direction", "OUTBOUND");
            EnvoyJson.SingleFilterChain(w, TcpProxy, EnvoyJson.TcpProxyType, t =>
            {
                t.WriteString("stat_prefix", name);
                t.WriteString("cluster", cluster);
            });
        }, [new ResourceReference(XdsType.Clusters, cluster)], backend.Port);
    }
}
