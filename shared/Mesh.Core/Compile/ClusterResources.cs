using System.Text.Json;
using Mesh.Core.Model;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Compile;

internal static class ClusterResources
{
    /// <summary>One port of the local application, reached on loopback: a static cluster with its one endpoint inline.</summary>
    public static XdsResource Inbound(EnvoyJson json, ServicePort port, XdsSettings settings) =>
        Static(json, ResourceNames.InboundCluster(port.Port), "127.0.0.1", port.Port, port.Protocol, settings);

    /// <summary>A static cluster of one address speaking <paramref name="protocol"/>.</summary>
    public static XdsResource Static(EnvoyJson json, string name, string address, int port, ServiceProtocol protocol, XdsSettings settings) =>
        json.Resource(name, XdsTypes.ClusterUrl, w =>
        {
            w.WriteString("name", name);
            w.WriteString("type", "STATIC");
            w.WriteString("connect_timeout", EnvoyJson.Duration(settings.ConnectTimeout));
            EnvoyJson.SingleEndpointLoadAssignment(w, name, address, port);
            UpstreamProtocol(w, protocol);
        });

    /// <summary>
    /// Where the app sent the connection: Envoy connects to its original destination (the address the interception
    /// rewrote, restored by the listener's original_dst filter), with no endpoints of its own.
    /// </summary>
    public static XdsResource Passthrough(EnvoyJson json, XdsSettings settings) =>
        json.Resource(ResourceNames.Passthrough, XdsTypes.ClusterUrl, w =>
        {
            w.WriteString("name", ResourceNames.Passthrough);
            w.WriteString("type", "ORIGINAL_DST");
            w.WriteString("lb_policy", "CLUSTER_PROVIDED");
            w.WriteString("connect_timeout", EnvoyJson.Duration(settings.ConnectTimeout));
        });

    /// <summary>A cluster with no endpoints: a connection sent to it is closed at once (egress DROP_ALL).</summary>
    public static XdsResource Blackhole(EnvoyJson json, XdsSettings settings) =>
        json.Resource(ResourceNames.Blackhole, XdsTypes.ClusterUrl, w =>
        {
            w.WriteString("name", ResourceNames.Blackhole);
            w.WriteString("type", "STATIC");
            w.WriteString("connect_timeout", EnvoyJson.Duration(settings.ConnectTimeout));
        });

    /// <summary>
    /// A backend (or one of its subsets) whose endpoints come by EDS, so an endpoint change keeps connection pools
    /// and outlier state; the backend's policy sets its limits, ejection, balancing and TLS.
    /// </summary>
    /// <param name="port">The backend's port the cluster reaches; only the main one is health checked (the check is the main protocol's).</param>
    public static XdsResource Outbound(EnvoyJson json, string name, ServiceDefinition backend, ServicePort port, bool main, XdsSettings settings) =>
        json.Resource(name, XdsTypes.ClusterUrl, w =>
        {
            var policy = backend.Policy;
            w.WriteString("name", name);
            w.WriteString("type", "EDS");
            w.WriteString("connect_timeout", EnvoyJson.Duration(settings.ConnectTimeout));
            w.WriteString("lb_policy", policy.LoadBalancing switch
            {
                LoadBalancing.LeastRequest => "LEAST_REQUEST",
                LoadBalancing.Random => "RANDOM",
                _ => "ROUND_ROBIN",
            });
            w.WriteStartObject("eds_cluster_config");
            w.WriteString("service_name", name);
            EnvoyJson.RestConfigSource(w, "eds_config", settings);
            w.WriteEndObject();
            if (policy.ZoneAware is not { Enabled: false }) ZoneAware(w, policy.ZoneAware?.MinClusterSize ?? 6);
            if (policy.ConnectionPool is { } pool) CircuitBreakers(w, pool);
            if (policy.OutlierDetection is { } outlier) OutlierDetection(w, outlier);
            if (main && backend.HealthCheck is { } check) HealthChecks(w, check, backend.Protocol);
            if (policy.Mtls != MtlsMode.Disabled) UpstreamTls(w, backend, settings);
            UpstreamProtocol(w, port.Protocol);
        }, [new ResourceReference(XdsType.Endpoints, name)]);

    /// <summary>Needs the bootstrap's local cluster (the fleet's own endpoints) and node.locality, which the bootstrap sets.</summary>
    private static void ZoneAware(Utf8JsonWriter w, int minClusterSize)
    {
        w.WriteStartObject("common_lb_config");
        w.WriteStartObject("zone_aware_lb_config");
        w.WriteStartObject("routing_enabled");
        w.WriteNumber("value", 100);
        w.WriteEndObject();
        w.WriteNumber("min_cluster_size", minClusterSize);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void CircuitBreakers(Utf8JsonWriter w, ConnectionPool pool)
    {
        w.WriteStartObject("circuit_breakers");
        w.WriteStartArray("thresholds");
        w.WriteStartObject();
        w.WriteString("priority", "DEFAULT");
        if (pool.MaxConnections is { } connections) w.WriteNumber("max_connections", connections);
        if (pool.MaxPendingRequests is { } pending) w.WriteNumber("max_pending_requests", pending);
        if (pool.MaxRequests is { } requests) w.WriteNumber("max_requests", requests);
        if (pool.MaxRetries is { } retries) w.WriteNumber("max_retries", retries);
        w.WriteBoolean("track_remaining", true);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void OutlierDetection(Utf8JsonWriter w, OutlierDetection outlier)
    {
        w.WriteStartObject("outlier_detection");
        if (outlier.Consecutive5xx is { } consecutive) w.WriteNumber("consecutive_5xx", consecutive);
        if (outlier.IntervalMs is { } interval) w.WriteString("interval", EnvoyJson.Milliseconds(interval));
        if (outlier.BaseEjectionMs is { } ejection) w.WriteString("base_ejection_time", EnvoyJson.Milliseconds(ejection));
        if (outlier.MaxEjectionPercent is { } percent) w.WriteNumber("max_ejection_percent", percent);
        w.WriteEndObject();
    }

    private static void HealthChecks(Utf8JsonWriter w, HealthCheck check, ServiceProtocol protocol)
    {
        w.WriteStartArray("health_checks");
        w.WriteStartObject();
        w.WriteString("timeout", EnvoyJson.Milliseconds(check.TimeoutMsOrDefault));
        w.WriteString("interval", EnvoyJson.Milliseconds(check.IntervalMsOrDefault));
        w.WriteNumber("unhealthy_threshold", check.UnhealthyThresholdOrDefault);
        w.WriteNumber("healthy_threshold", check.HealthyThresholdOrDefault);
        if (protocol == ServiceProtocol.Tcp)
        {
            w.WriteStartObject("tcp_health_check");
            w.WriteEndObject();
        }
        else
        {
            w.WriteStartObject("http_health_check");
            w.WriteString("path", check.Path ?? "/");
            if (protocol is ServiceProtocol.Http2 or ServiceProtocol.Grpc) w.WriteString("codec_client_type", "HTTP2");
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteEndArray();
    }

    /// <summary>Mutual TLS to a backend that accepts it, checking that the peer holds that backend's identity.</summary>
    private static void UpstreamTls(Utf8JsonWriter w, ServiceDefinition backend, XdsSettings settings)
    {
        w.WriteStartObject("transport_socket");
        w.WriteString("name", "envoy.transport_sockets.tls");
        EnvoyJson.TypedConfig(w, EnvoyJson.UpstreamTlsContextType, t =>
        {
            t.WriteString("sni", backend.Name);
            EnvoyJson.CommonTlsContext(t, settings, MeshIdentity.Of(settings, backend.Mesh, backend.Name));
        });
        w.WriteEndObject();
    }

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
