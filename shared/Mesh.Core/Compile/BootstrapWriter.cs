using System.Buffers;
using System.Text.Json;
using Mesh.Core.Model;

namespace Mesh.Core.Compile;

/// <summary>Where a proxy reaches this control plane: the URL of the Api function.</summary>
public sealed record ControlPlaneAddress(string Host, int Port, bool Tls)
{
    public static ControlPlaneAddress Of(Uri url) => new(url.Host, url.Port, url.Scheme == Uri.UriSchemeHttps);
}

/// <summary>How a proxy fetches its configuration: REST polls, or a gRPC ADS stream (state of the world or delta).</summary>
public enum XdsTransport { Rest, Ads, Delta }

/// <summary>
/// The transport a bootstrap sets up, and how its proxy proves its fleet: the fleet token in node.metadata, REST polls
/// signed with SigV4 (through Envoy's aws_request_signing upstream filter, for an IAM-authorized API in
/// <see cref="SigningRegion"/>), and on an ADS stream over TLS the proxy's mesh certificate as its client certificate.
/// </summary>
public sealed record BootstrapOptions
{
    public XdsTransport Transport { get; init; } = XdsTransport.Rest;
    /// <summary>The ADS server (for ads and delta).</summary>
    public ControlPlaneAddress? AdsServer { get; init; }
    public string? FleetToken { get; init; }
    public string? SigningRegion { get; init; }

    /// <summary>The static cluster that reaches the ADS server.</summary>
    public const string AdsCluster = "xds-grpc";
}

/// <summary>
/// The Envoy bootstrap a proxy of a fleet starts from: its node identity, CDS and LDS over REST from this
/// control plane, and the one static cluster that reaches it, named as the snapshots' config sources name it.
/// </summary>
public static class BootstrapWriter
{
    /// <param name="region">The zone's region; derived from the zone when not given.</param>
    public static byte[] Write(FleetId fleet, string nodeId, string? zone, ControlPlaneAddress controlPlane, XdsSettings settings, string? region = null,
        BootstrapOptions? options = null)
    {
        options ??= new BootstrapOptions();
        var ads = options.Transport != XdsTransport.Rest
            ? options.AdsServer ?? throw new ArgumentException("an ADS bootstrap needs the ADS server's address", nameof(options))
            : null;
        void ConfigSource(Utf8JsonWriter w, string name)
        {
            if (ads is null) EnvoyJson.RestConfigSource(w, name, settings);
            else EnvoyJson.AdsConfigSource(w, name, settings);
        }
        var buffer = new ArrayBufferWriter<byte>(2048);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartObject("node");
            w.WriteString("id", nodeId);
            w.WriteString("cluster", fleet.ToString());
            if (!string.IsNullOrEmpty(zone))
            {
                // As the fleet's endpoints carry it (region and zone), so Envoy finds its own zone among them.
                w.WriteStartObject("locality");
                if ((region ?? RegionOf(zone)) is { Length: > 0 } localityRegion) w.WriteString("region", localityRegion);
                w.WriteString("zone", zone);
                w.WriteEndObject();
            }
            if (options.FleetToken is { } token)
            {
                w.WriteStartObject("metadata");
                w.WriteString(Serving.FleetTokens.MetadataKey, token);
                w.WriteEndObject();
            }
            w.WriteEndObject();

            w.WriteStartObject("dynamic_resources");
            if (ads is not null)
            {
                w.WriteStartObject("ads_config");
                w.WriteString("api_type", options.Transport == XdsTransport.Delta ? "DELTA_GRPC" : "GRPC");
                w.WriteString("transport_api_version", "V3");
                w.WriteBoolean("set_node_on_first_message_only", true);
                w.WriteStartArray("grpc_services");
                w.WriteStartObject();
                w.WriteStartObject("envoy_grpc");
                w.WriteString("cluster_name", BootstrapOptions.AdsCluster);
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteEndObject();
            }
            ConfigSource(w, "cds_config");
            ConfigSource(w, "lds_config");
            w.WriteEndObject();

            // Zone-aware routing compares the callers' clusters with this one: the fleet's own endpoints, by EDS.
            w.WriteStartObject("cluster_manager");
            w.WriteString("local_cluster_name", ResourceNames.LocalCluster(fleet.Service));
            w.WriteEndObject();

            w.WriteStartObject("static_resources");
            w.WriteStartArray("clusters");
            w.WriteStartObject();
            w.WriteString("name", ResourceNames.LocalCluster(fleet.Service));
            w.WriteString("type", "EDS");
            w.WriteString("connect_timeout", EnvoyJson.Duration(settings.ConnectTimeout));
            w.WriteStartObject("eds_cluster_config");
            w.WriteString("service_name", ResourceNames.LocalCluster(fleet.Service));
            ConfigSource(w, "eds_config");
            w.WriteEndObject();
            w.WriteEndObject();
            if (ads is null) RestCluster(w, controlPlane, settings, options.SigningRegion);
            else AdsCluster(w, ads, settings);
            w.WriteEndArray();
            w.WriteEndObject();

            w.WriteStartObject("admin");
            EnvoyJson.SocketAddress(w, "127.0.0.1", settings.AdminPort);
            w.WriteEndObject();
            ObservabilityResources.Stats(w, fleet, settings.Stats);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The bootstrap of a proxyless gRPC application (GRPC_XDS_BOOTSTRAP, gRPC A27): our ADS server, and the node
    /// (with its fleet token). Over TLS the application shows its mesh certificate (the "tls" channel credentials of
    /// gRPC A65); gRPC for Node offers only insecure ones, so it needs a plaintext ADS address.
    /// </summary>
    public static byte[] WriteGrpc(FleetId fleet, string nodeId, string? zone, ControlPlaneAddress ads, XdsSettings settings, string? fleetToken)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartArray("xds_servers");
            w.WriteStartObject();
            w.WriteString("server_uri", $"{ads.Host}:{ads.Port}");
            w.WriteStartArray("channel_creds");
            w.WriteStartObject();
            if (ads.Tls)
            {
                w.WriteString("type", "tls");
                w.WriteStartObject("config");
                w.WriteString("ca_certificate_file", settings.Tls.TrustedCa);
                w.WriteString("certificate_file", settings.Tls.CertificateChain);
                w.WriteString("private_key_file", settings.Tls.PrivateKey);
                w.WriteEndObject();
            }
            else
            {
                w.WriteString("type", "insecure");
            }
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteStartArray("server_features");
            w.WriteStringValue("xds_v3");
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteStartObject("node");
            w.WriteString("id", nodeId);
            w.WriteString("cluster", fleet.ToString());
            w.WriteStartObject("locality");
            if (!string.IsNullOrEmpty(zone))
            {
                if (RegionOf(zone) is { Length: > 0 } region) w.WriteString("region", region);
                w.WriteString("zone", zone);
            }
            w.WriteEndObject();
            if (fleetToken is not null)
            {
                w.WriteStartObject("metadata");
                w.WriteString(Serving.FleetTokens.MetadataKey, fleetToken);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>An availability zone's region: "eu-west-1a" is in "eu-west-1".</summary>
    public static string RegionOf(string zone) => zone.TrimEnd("abcdefghijklmnopqrstuvwxyz".ToCharArray()) is var region && region.Length < zone.Length && region.Length > 0 && char.IsAsciiDigit(region[^1]) ? region : "";

    /// <summary>The Api's cluster for REST polls; with a signing region every poll is signed with SigV4 for API Gateway ("execute-api").</summary>
    private static void RestCluster(Utf8JsonWriter w, ControlPlaneAddress controlPlane, XdsSettings settings, string? signingRegion)
    {
        w.WriteStartObject();
        w.WriteString("name", settings.ControlPlaneCluster);
        w.WriteString("type", "LOGICAL_DNS");
        w.WriteString("dns_lookup_family", "V4_PREFERRED");
        w.WriteString("connect_timeout", EnvoyJson.Duration(settings.RequestTimeout));
        EnvoyJson.SingleEndpointLoadAssignment(w, settings.ControlPlaneCluster, controlPlane.Host, controlPlane.Port);
        if (controlPlane.Tls) UpstreamTls(w, controlPlane.Host, null);
        if (signingRegion is not null)
        {
            // Envoy signs with the credentials it finds itself: the ECS task role, or the EKS pod's (Pod Identity, IRSA).
            ProtocolOptions(w, http2: false, filters =>
            {
                filters.WriteStartObject();
                filters.WriteString("name", "envoy.filters.http.aws_request_signing");
                EnvoyJson.TypedConfig(filters, "type.googleapis.com/envoy.extensions.filters.http.aws_request_signing.v3.AwsRequestSigning", f =>
                {
                    f.WriteString("service_name", "execute-api");
                    f.WriteString("region", signingRegion);
                });
                filters.WriteEndObject();
            });
        }
        w.WriteEndObject();
    }

    /// <summary>The ADS server's cluster: HTTP/2 with keepalives; over TLS the proxy shows its mesh certificate, which names its fleet.</summary>
    private static void AdsCluster(Utf8JsonWriter w, ControlPlaneAddress ads, XdsSettings settings)
    {
        w.WriteStartObject();
        w.WriteString("name", BootstrapOptions.AdsCluster);
        w.WriteString("type", "STRICT_DNS");
        w.WriteString("dns_lookup_family", "V4_PREFERRED");
        w.WriteString("connect_timeout", EnvoyJson.Duration(settings.ConnectTimeout));
        EnvoyJson.SingleEndpointLoadAssignment(w, BootstrapOptions.AdsCluster, ads.Host, ads.Port);
        ProtocolOptions(w, http2: true, null);
        if (ads.Tls) UpstreamTls(w, ads.Host, settings);
        w.WriteEndObject();
    }

    private static void ProtocolOptions(Utf8JsonWriter w, bool http2, Action<Utf8JsonWriter>? upstreamFilters)
    {
        w.WriteStartObject("typed_extension_protocol_options");
        w.WriteStartObject("envoy.extensions.upstreams.http.v3.HttpProtocolOptions");
        w.WriteString("@type", "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions");
        w.WriteStartObject("explicit_http_config");
        if (http2)
        {
            w.WriteStartObject("http2_protocol_options");
            w.WriteStartObject("connection_keepalive");
            w.WriteString("interval", "30s");
            w.WriteString("timeout", "5s");
            w.WriteEndObject();
            w.WriteEndObject();
        }
        else
        {
            w.WriteStartObject("http_protocol_options");
            w.WriteEndObject();
        }
        w.WriteEndObject();
        if (upstreamFilters is not null)
        {
            w.WriteStartArray("http_filters");
            upstreamFilters(w);
            // Upstream filter chains end with the codec filter.
            w.WriteStartObject();
            w.WriteString("name", "envoy.filters.http.upstream_codec");
            EnvoyJson.TypedConfig(w, "type.googleapis.com/envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec");
            w.WriteEndObject();
            w.WriteEndArray();
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>
    /// TLS to a control plane that must prove it is the named host. With <paramref name="meshTls"/> (the ADS server) the
    /// proxy shows its mesh certificate, from the SDS files its sidecar writes, so a rotation reaches the stream too,
    /// and the server's certificate must chain to the mesh's CA; otherwise to a public CA.
    /// </summary>
    private static void UpstreamTls(Utf8JsonWriter w, string host, XdsSettings? meshTls)
    {
        w.WriteStartObject("transport_socket");
        w.WriteString("name", "envoy.transport_sockets.tls");
        EnvoyJson.TypedConfig(w, "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext", t =>
        {
            t.WriteString("sni", host);
            t.WriteStartObject("common_tls_context");
            if (meshTls is null)
            {
                t.WriteStartObject("validation_context");
                t.WriteStartObject("trusted_ca");
                t.WriteString("filename", "/etc/ssl/certs/ca-certificates.crt");
                t.WriteEndObject();
                // A chain to a public CA is not enough: the certificate must be the control plane's own.
                EnvoyJson.SubjectAltNameMatch(t, "DNS", host);
                t.WriteEndObject();
            }
            else
            {
                t.WriteStartArray("tls_certificate_sds_secret_configs");
                EnvoyJson.SdsSecret(t, null, SdsSecrets.CertificateName, meshTls.Tls.CertificateSecretPath, meshTls.Tls.CertificateDirectory);
                t.WriteEndArray();
                t.WriteStartObject("combined_validation_context");
                t.WriteStartObject("default_validation_context");
                EnvoyJson.SubjectAltNameMatch(t, "DNS", host);
                t.WriteEndObject();
                EnvoyJson.SdsSecret(t, "validation_context_sds_secret_config", SdsSecrets.ValidationName, meshTls.Tls.ValidationSecretPath, meshTls.Tls.CertificateDirectory);
                t.WriteEndObject();
            }
            t.WriteEndObject();
        });
        w.WriteEndObject();
    }
}
