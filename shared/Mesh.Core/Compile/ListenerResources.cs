using System.Text.Json;
using Mesh.Core.Model;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Compile;

internal static class ListenerResources
{
    private const string HttpConnectionManager = "envoy.filters.network.http_connection_manager";
    private const string TcpProxy = "envoy.filters.network.tcp_proxy";

    /// <summary>
    /// Traffic to this service's own application: its routes never change with the mesh, so they are inline.
    /// mTLS STRICT accepts only TLS with a mesh certificate; PERMISSIVE tells TLS from plaintext with the TLS
    /// inspector and accepts both, so callers can move to TLS before the service insists on it. Allowed callers
    /// are enforced by RBAC on the caller's certificate identity.
    /// </summary>
    public static XdsResource Inbound(EnvoyJson json, ServiceDefinition service, XdsSettings settings)
    {
        var cluster = ResourceNames.InboundCluster(service.Port);
        var mtls = service.Policy.Mtls;
        return json.Resource(ResourceNames.InboundListener, XdsTypes.ListenerUrl, w =>
        {
            w.WriteString("name", ResourceNames.InboundListener);
            EnvoyJson.SocketAddress(w, "0.0.0.0", settings.InboundPort);
            w.WriteString("traffic_direction", "INBOUND");
            if (mtls == MtlsMode.Permissive)
            {
                w.WriteStartArray("listener_filters");
                w.WriteStartObject();
                w.WriteString("name", "envoy.filters.listener.tls_inspector");
                EnvoyJson.TypedConfig(w, EnvoyJson.TlsInspectorType);
                w.WriteEndObject();
                w.WriteEndArray();
            }
            w.WriteStartArray("filter_chains");
            if (mtls != MtlsMode.Disabled) InboundChain(w, service, settings, cluster, tls: true, mtls == MtlsMode.Permissive ? "tls" : null);
            if (mtls != MtlsMode.Strict) InboundChain(w, service, settings, cluster, tls: false, mtls == MtlsMode.Permissive ? "raw_buffer" : null);
            w.WriteEndArray();
        }, [new ResourceReference(XdsType.Clusters, cluster)], settings.InboundPort);
    }

    private static void InboundChain(Utf8JsonWriter w, ServiceDefinition service, XdsSettings settings, string cluster, bool tls, string? transportProtocol)
    {
        var callers = tls ? service.Policy.AllowedCallers : [];
        w.WriteStartObject();
        if (transportProtocol is not null)
        {
            w.WriteStartObject("filter_chain_match");
            w.WriteString("transport_protocol", transportProtocol);
            w.WriteEndObject();
        }
        w.WriteStartArray("filters");
        if (service.Protocol == ServiceProtocol.Tcp)
        {
            if (!callers.IsEmpty)
            {
                Filter(w, "envoy.filters.network.rbac", EnvoyJson.NetworkRbacType, r =>
                {
                    r.WriteString("stat_prefix", ResourceNames.InboundListener);
                    RbacRules(r, service, settings, callers);
                });
            }
            Filter(w, TcpProxy, EnvoyJson.TcpProxyType, t =>
            {
                t.WriteString("stat_prefix", ResourceNames.InboundListener);
                t.WriteString("cluster", cluster);
            });
        }
        else
        {
            Filter(w, HttpConnectionManager, EnvoyJson.HttpConnectionManagerType, h =>
            {
                h.WriteString("stat_prefix", ResourceNames.InboundListener);
                h.WriteString("codec_type", "AUTO");
                LocalRoutes(h, service, cluster);
                h.WriteStartArray("http_filters");
                if (!callers.IsEmpty)
                {
                    h.WriteStartObject();
                    h.WriteString("name", "envoy.filters.http.rbac");
                    EnvoyJson.TypedConfig(h, EnvoyJson.HttpRbacType, r => RbacRules(r, service, settings, callers));
                    h.WriteEndObject();
                }
                EnvoyJson.Router(h);
                h.WriteEndArray();
            });
        }
        w.WriteEndArray();
        if (tls)
        {
            w.WriteStartObject("transport_socket");
            w.WriteString("name", "envoy.transport_sockets.tls");
            EnvoyJson.TypedConfig(w, EnvoyJson.DownstreamTlsContextType, t =>
            {
                t.WriteBoolean("require_client_certificate", true);
                EnvoyJson.CommonTlsContext(t, settings, peerIdentity: null);
            });
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private static void Filter(Utf8JsonWriter w, string name, string typeUrl, Action<Utf8JsonWriter> writeFields)
    {
        w.WriteStartObject();
        w.WriteString("name", name);
        EnvoyJson.TypedConfig(w, typeUrl, writeFields);
        w.WriteEndObject();
    }

    private static void RbacRules(Utf8JsonWriter w, ServiceDefinition service, XdsSettings settings, IEnumerable<string> callers)
    {
        w.WriteStartObject("rules");
        w.WriteString("action", "ALLOW");
        w.WriteStartObject("policies");
        w.WriteStartObject("allowed-callers");
        w.WriteStartArray("permissions");
        w.WriteStartObject();
        w.WriteBoolean("any", true);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteStartArray("principals");
        foreach (var caller in callers)
        {
            w.WriteStartObject();
            w.WriteStartObject("authenticated");
            w.WriteStartObject("principal_name");
            w.WriteString("exact", MeshIdentity.Of(settings, service.Mesh, caller));
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void LocalRoutes(Utf8JsonWriter h, ServiceDefinition service, string cluster)
    {
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
        RouteResources.Timeouts(h, service, null, null);
        h.WriteEndObject();
        h.WriteEndObject();
        h.WriteEndArray();
        h.WriteEndObject();
        h.WriteEndArray();
        h.WriteEndObject();
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
