using System.Text.Json;
using Mesh.Core.Model;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Compile;

internal static class ListenerResources
{
    private const string HttpConnectionManager = "envoy.filters.network.http_connection_manager";
    private const string TcpProxy = "envoy.filters.network.tcp_proxy";

    /// <summary>
    /// Traffic to this service's own application. Interception redirects every app port to this listener; the
    /// original_dst filter restores the port the caller dialled, and each port's chains send it to the app on that
    /// port, so a service with several ports works. Its routes never change with the mesh, so they are inline.
    /// mTLS STRICT accepts only TLS with a mesh certificate; PERMISSIVE tells TLS from plaintext with the TLS
    /// inspector and accepts both, so callers can move to TLS before the service insists on it. Allowed callers
    /// are enforced by RBAC on the caller's certificate identity.
    /// </summary>
    public static XdsResource Inbound(EnvoyJson json, ServiceDefinition service, XdsSettings settings, FleetObservability observe)
    {
        var mtls = service.Policy.Mtls;
        var ports = service.Ports.ToList();
        return json.Resource(ResourceNames.InboundListener, XdsTypes.ListenerUrl, w =>
        {
            w.WriteString("name", ResourceNames.InboundListener);
            EnvoyJson.SocketAddress(w, "0.0.0.0", settings.InboundPort);
            w.WriteString("traffic_direction", "INBOUND");
            w.WriteStartArray("listener_filters");
            ListenerFilter(w, "envoy.filters.listener.original_dst", EnvoyJson.OriginalDstType);
            if (mtls == MtlsMode.Permissive) ListenerFilter(w, "envoy.filters.listener.tls_inspector", EnvoyJson.TlsInspectorType);
            w.WriteEndArray();
            w.WriteStartArray("filter_chains");
            foreach (var port in ports)
            {
                if (mtls != MtlsMode.Disabled) InboundChain(w, service, port, settings, observe, tls: true, mtls == MtlsMode.Permissive ? "tls" : null);
                if (mtls != MtlsMode.Strict) InboundChain(w, service, port, settings, observe, tls: false, mtls == MtlsMode.Permissive ? "raw_buffer" : null);
            }
            w.WriteEndArray();
        }, [.. ports.Select(p => new ResourceReference(XdsType.Clusters, ResourceNames.InboundCluster(p.Port)))], settings.InboundPort);
    }

    private static void ListenerFilter(Utf8JsonWriter w, string name, string typeUrl, Action<Utf8JsonWriter>? writeMore = null)
    {
        w.WriteStartObject();
        w.WriteString("name", name);
        EnvoyJson.TypedConfig(w, typeUrl);
        writeMore?.Invoke(w);
        w.WriteEndObject();
    }

    private static void InboundChain(Utf8JsonWriter w, ServiceDefinition service, ServicePort port, XdsSettings settings, FleetObservability observe, bool tls, string? transportProtocol)
    {
        var callers = tls ? service.Policy.AllowedCallers : [];
        var cluster = ResourceNames.InboundCluster(port.Port);
        w.WriteStartObject();
        w.WriteStartObject("filter_chain_match");
        w.WriteNumber("destination_port", port.Port);
        if (transportProtocol is not null) w.WriteString("transport_protocol", transportProtocol);
        w.WriteEndObject();
        w.WriteStartArray("filters");
        if (port.Protocol == ServiceProtocol.Tcp)
        {
            if (!callers.IsEmpty)
            {
                Filter(w, "envoy.filters.network.rbac", EnvoyJson.NetworkRbacType, r =>
                {
                    r.WriteString("stat_prefix", cluster);
                    RbacRules(r, service, settings, callers);
                });
            }
            Filter(w, TcpProxy, EnvoyJson.TcpProxyType, t =>
            {
                t.WriteString("stat_prefix", cluster);
                t.WriteString("cluster", cluster);
                ObservabilityResources.AccessLog(t, observe);
            });
        }
        else
        {
            Filter(w, HttpConnectionManager, EnvoyJson.HttpConnectionManagerType, h =>
            {
                h.WriteString("stat_prefix", cluster);
                h.WriteString("codec_type", "AUTO");
                ObservabilityResources.Tracing(h, observe);
                ObservabilityResources.AccessLog(h, observe);
                LocalRoutes(h, service, port, cluster);
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

    private static void LocalRoutes(Utf8JsonWriter h, ServiceDefinition service, ServicePort port, string cluster)
    {
        h.WriteStartObject("route_config");
        h.WriteString("name", cluster);
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
        RouteResources.Timeouts(h, service.Policy, port.Protocol, null, null);
        h.WriteEndObject();
        h.WriteEndObject();
        h.WriteEndArray();
        h.WriteEndObject();
        h.WriteEndArray();
        h.WriteEndObject();
    }

    /// <summary>
    /// Every connection the app opens, redirected here by interception: the original_dst filter restores where it
    /// was going, and the chains (<see cref="OutboundChains"/>) route mesh HTTP by Host (routes come by RDS so
    /// edits never touch the listener), mesh TCP by port, and the rest by the mesh's egress. The TLS inspector runs
    /// only on ports whose chains need it, so a server-first protocol elsewhere is never held waiting for bytes.
    /// </summary>
    public static XdsResource Outbound(EnvoyJson json, IReadOnlyList<OutboundChain> chains, EgressSettings egress, XdsSettings settings, FleetObservability observe)
    {
        var inspected = OutboundChains.InspectedPorts(chains);
        var fallback = egress.Mode == EgressMode.AllowAll ? ResourceNames.Passthrough : ResourceNames.Blackhole;
        var references = chains.Select(c => c.Action == ChainAction.Http
                ? new ResourceReference(XdsType.Routes, ResourceNames.OutboundRoutes)
                : new ResourceReference(XdsType.Clusters, c.Cluster!))
            .Append(new ResourceReference(XdsType.Clusters, fallback))
            .Distinct();
        return json.Resource(ResourceNames.OutboundListener, XdsTypes.ListenerUrl, w =>
        {
            w.WriteString("name", ResourceNames.OutboundListener);
            EnvoyJson.SocketAddress(w, "0.0.0.0", settings.OutboundPort);
            w.WriteString("traffic_direction", "OUTBOUND");
            w.WriteStartArray("listener_filters");
            ListenerFilter(w, "envoy.filters.listener.original_dst", EnvoyJson.OriginalDstType);
            if (inspected.Count > 0)
                ListenerFilter(w, "envoy.filters.listener.tls_inspector", EnvoyJson.TlsInspectorType, f => OnlyOnPorts(f, inspected));
            w.WriteEndArray();
            // A client that dials and then waits (a pooled connection) is taken for plaintext rather than dropped.
            w.WriteString("listener_filters_timeout", "5s");
            w.WriteBoolean("continue_on_listener_filters_timeout", true);
            w.WriteStartArray("filter_chains");
            foreach (var chain in chains)
            {
                w.WriteStartObject();
                ChainMatch(w, chain);
                w.WriteStartArray("filters");
                if (chain.Action == ChainAction.Http) OutboundHttp(w, chain, settings, observe);
                else TcpTo(w, chain.Cluster!, observe);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("default_filter_chain");
            w.WriteStartArray("filters");
            TcpTo(w, fallback, observe);
            w.WriteEndArray();
            w.WriteEndObject();
        }, [.. references], settings.OutboundPort);
    }

    private static void ChainMatch(Utf8JsonWriter w, OutboundChain chain)
    {
        w.WriteStartObject("filter_chain_match");
        if (chain.Port is { } port) w.WriteNumber("destination_port", port);
        if (chain.Ranges.Count > 0)
        {
            w.WriteStartArray("prefix_ranges");
            foreach (var range in chain.Ranges)
            {
                w.WriteStartObject();
                w.WriteString("address_prefix", range.BaseAddress.ToString());
                w.WriteNumber("prefix_len", range.PrefixLength);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (chain.ServerNames.Count > 0)
        {
            w.WriteStartArray("server_names");
            foreach (var name in chain.ServerNames) w.WriteStringValue(name);
            w.WriteEndArray();
        }
        if (chain.TransportProtocol is { } transport) w.WriteString("transport_protocol", transport);
        w.WriteEndObject();
    }

    private static void OutboundHttp(Utf8JsonWriter w, OutboundChain chain, XdsSettings settings, FleetObservability observe) =>
        Filter(w, HttpConnectionManager, EnvoyJson.HttpConnectionManagerType, h =>
        {
            h.WriteString("stat_prefix", chain.Port == settings.OutboundPort ? ResourceNames.OutboundListener : $"outbound|{chain.Port}");
            h.WriteString("codec_type", "AUTO");
            ObservabilityResources.Tracing(h, observe);
            ObservabilityResources.AccessLog(h, observe);
            h.WriteStartObject("rds");
            h.WriteString("route_config_name", ResourceNames.OutboundRoutes);
            EnvoyJson.RestConfigSource(h, "config_source", settings);
            h.WriteEndObject();
            EnvoyJson.RouterOnly(h);
        });

    private static void TcpTo(Utf8JsonWriter w, string cluster, FleetObservability observe) =>
        Filter(w, TcpProxy, EnvoyJson.TcpProxyType, t =>
        {
            t.WriteString("stat_prefix", cluster);
            t.WriteString("cluster", cluster);
            ObservabilityResources.AccessLog(t, observe);
        });

    /// <summary>Disables a listener filter except on the given destination ports.</summary>
    private static void OnlyOnPorts(Utf8JsonWriter w, IReadOnlyList<int> ports)
    {
        w.WriteStartObject("filter_disabled");
        w.WriteStartObject("not_match");
        if (ports.Count == 1)
        {
            PortRule(ports[0]);
        }
        else
        {
            w.WriteStartObject("or_match");
            w.WriteStartArray("rules");
            foreach (var port in ports)
            {
                w.WriteStartObject();
                PortRule(port);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteEndObject();

        void PortRule(int port)
        {
            w.WriteStartObject("destination_port_range");
            w.WriteNumber("start", port);
            w.WriteNumber("end", port + 1);
            w.WriteEndObject();
        }
    }

    /// <summary>
    /// A gateway listener: traffic from outside the mesh (through a load balancer) on its public port, routed by its
    /// route table over RDS so a route edit never drains the listener's connections. As Envoy's edge guidance says, it
    /// is the trusted edge (use_remote_address), normalises paths before matching, and bounds connections and streams;
    /// TLS is terminated with the listener's certificate from watched files (SDS), optionally requiring client
    /// certificates from a CA.
    /// </summary>
    public static XdsResource Gateway(EnvoyJson json, GatewayListener listener, XdsSettings settings, FleetObservability observe)
    {
        var name = ResourceNames.Ingress(listener.Port);
        return json.Resource(name, XdsTypes.ListenerUrl, w =>
        {
            w.WriteString("name", name);
            EnvoyJson.SocketAddress(w, "0.0.0.0", listener.Port);
            w.WriteString("traffic_direction", "INBOUND");
            w.WriteNumber("per_connection_buffer_limit_bytes", 32_768);
            w.WriteStartArray("filter_chains");
            w.WriteStartObject();
            w.WriteStartArray("filters");
            if (listener.Limits?.MaxConnections is { } maxConnections)
            {
                Filter(w, "envoy.filters.network.connection_limit", EnvoyJson.ConnectionLimitType, c =>
                {
                    c.WriteString("stat_prefix", name);
                    c.WriteNumber("max_connections", maxConnections);
                });
            }
            Filter(w, HttpConnectionManager, EnvoyJson.HttpConnectionManagerType, h =>
            {
                h.WriteString("stat_prefix", name);
                h.WriteString("codec_type", "AUTO");
                h.WriteBoolean("use_remote_address", true);
                h.WriteBoolean("normalize_path", true);
                h.WriteBoolean("merge_slashes", true);
                if (listener.Protocol != GatewayProtocol.Http)
                {
                    h.WriteStartObject("http2_protocol_options");
                    h.WriteNumber("max_concurrent_streams", listener.Limits?.MaxConcurrentStreams ?? 100);
                    h.WriteEndObject();
                }
                ObservabilityResources.Tracing(h, observe);
                ObservabilityResources.AccessLog(h, observe);
                h.WriteStartObject("rds");
                h.WriteString("route_config_name", name);
                EnvoyJson.RestConfigSource(h, "config_source", settings);
                h.WriteEndObject();
                EnvoyJson.RouterOnly(h);
            });
            w.WriteEndArray();
            if (listener.Tls is { } tls) GatewayTls(w, listener, tls, settings);
            w.WriteEndObject();
            w.WriteEndArray();
        }, [new ResourceReference(XdsType.Routes, name)], listener.Port);
    }

    private static void GatewayTls(Utf8JsonWriter w, GatewayListener listener, GatewayTls tls, XdsSettings settings)
    {
        w.WriteStartObject("transport_socket");
        w.WriteString("name", "envoy.transport_sockets.tls");
        EnvoyJson.TypedConfig(w, EnvoyJson.DownstreamTlsContextType, t =>
        {
            if (tls.ClientValidation is not null) t.WriteBoolean("require_client_certificate", true);
            t.WriteStartObject("common_tls_context");
            t.WriteStartObject("tls_params");
            t.WriteString("tls_minimum_protocol_version", "TLSv1_2");
            t.WriteEndObject();
            // HTTP/2 (and gRPC) clients negotiate h2 by ALPN; HTTP/1.1 clients fall back.
            t.WriteStartArray("alpn_protocols");
            if (listener.Protocol != GatewayProtocol.Http) t.WriteStringValue("h2");
            t.WriteStringValue("http/1.1");
            t.WriteEndArray();
            t.WriteStartArray("tls_certificate_sds_secret_configs");
            EnvoyJson.SdsSecret(t, null, ResourceNames.IngressCertificate(listener.Port), settings.Tls.IngressSecretPath(listener.Port, clientCa: false), Directory(tls.CertificateChain));
            t.WriteEndArray();
            if (tls.ClientValidation is { } client)
            {
                t.WriteStartObject("combined_validation_context");
                t.WriteStartObject("default_validation_context");
                if (!client.SubjectAltNames.IsEmpty)
                {
                    t.WriteStartArray("match_typed_subject_alt_names");
                    foreach (var san in client.SubjectAltNames)
                    {
                        t.WriteStartObject();
                        t.WriteString("san_type", san.Contains("://", StringComparison.Ordinal) ? "URI" : "DNS");
                        t.WriteStartObject("matcher");
                        t.WriteString("exact", san);
                        t.WriteEndObject();
                        t.WriteEndObject();
                    }
                    t.WriteEndArray();
                }
                t.WriteEndObject();
                EnvoyJson.SdsSecret(t, "validation_context_sds_secret_config", ResourceNames.IngressClientCa(listener.Port),
                    settings.Tls.IngressSecretPath(listener.Port, clientCa: true), Directory(client.TrustedCa));
                t.WriteEndObject();
            }
            t.WriteEndObject();
        });
        w.WriteEndObject();

        static string Directory(string path) => path.LastIndexOf('/') is > 0 and var slash ? path[..slash] : "/";
    }

    /// <summary>
    /// An app without interception reaches a TCP backend on loopback at the backend's port (with interception the
    /// outbound listener matches the connection by its original destination instead).
    /// </summary>
    public static XdsResource OutboundTcp(EnvoyJson json, ServiceDefinition backend, FleetObservability observe)
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
                ObservabilityResources.AccessLog(t, observe);
            });
        }, [new ResourceReference(XdsType.Clusters, cluster)], backend.Port);
    }
}
