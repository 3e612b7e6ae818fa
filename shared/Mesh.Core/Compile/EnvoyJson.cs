using System.Buffers;
using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using Mesh.Core.Model;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Compile;

/// <summary>
/// Writes Envoy resources as canonical proto3 JSON with snake_case names, "@type" first, straight to bytes:
/// no intermediate object model, so compiling costs little more than writing the output.
/// </summary>
internal sealed class EnvoyJson : IDisposable
{
    public const string HttpConnectionManagerType = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
    public const string RouterType = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
    public const string TcpProxyType = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
    public const string HttpProtocolOptionsType = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
    public const string UpstreamTlsContextType = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";
    public const string DownstreamTlsContextType = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";
    public const string OriginalDstType = "type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst";
    public const string TlsInspectorType = "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector";
    public const string HttpRbacType = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC";
    public const string NetworkRbacType = "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC";
    public const string ConnectionLimitType = "type.googleapis.com/envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit";
    public const string PreviousHostsType = "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate";

    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private readonly Utf8JsonWriter _writer;

    public EnvoyJson() => _writer = new Utf8JsonWriter(_buffer, new JsonWriterOptions { SkipValidation = true });

    public void Dispose() => _writer.Dispose();

    public XdsResource Resource(string name, string typeUrl, Action<Utf8JsonWriter> writeFields,
        ImmutableArray<ResourceReference> references = default, int? listenPort = null)
    {
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        _writer.WriteStartObject();
        _writer.WriteString("@type", typeUrl);
        writeFields(_writer);
        _writer.WriteEndObject();
        _writer.Flush();
        return new XdsResource(name, _buffer.WrittenSpan.ToArray(), references, listenPort);
    }

    public static string Duration(TimeSpan value) =>
        value.TotalSeconds.ToString("0.#########", CultureInfo.InvariantCulture) + "s";

    public static string Milliseconds(int milliseconds) => Duration(TimeSpan.FromMilliseconds(milliseconds));

    public static void SocketAddress(Utf8JsonWriter w, string address, int port)
    {
        w.WriteStartObject("address");
        w.WriteStartObject("socket_address");
        w.WriteString("address", address);
        w.WriteNumber("port_value", port);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>An inline load_assignment with one endpoint, for static clusters.</summary>
    public static void SingleEndpointLoadAssignment(Utf8JsonWriter w, string clusterName, string address, int port)
    {
        w.WriteStartObject("load_assignment");
        w.WriteString("cluster_name", clusterName);
        w.WriteStartArray("endpoints");
        w.WriteStartObject();
        w.WriteStartArray("lb_endpoints");
        w.WriteStartObject();
        w.WriteStartObject("endpoint");
        SocketAddress(w, address, port);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>A ConfigSource that points at this control plane over REST.</summary>
    public static void RestConfigSource(Utf8JsonWriter w, string propertyName, XdsSettings settings)
    {
        w.WriteStartObject(propertyName);
        w.WriteString("resource_api_version", "V3");
        w.WriteStartObject("api_config_source");
        w.WriteString("api_type", "REST");
        w.WriteString("transport_api_version", "V3");
        w.WriteStartArray("cluster_names");
        w.WriteStringValue(settings.ControlPlaneCluster);
        w.WriteEndArray();
        w.WriteString("refresh_delay", Duration(settings.RefreshDelay));
        w.WriteString("request_timeout", Duration(settings.RequestTimeout));
        w.WriteEndObject();
        w.WriteString("initial_fetch_timeout", Duration(settings.InitialFetchTimeout));
        w.WriteEndObject();
    }

    /// <summary>A ConfigSource that takes the resource over the proxy's ADS stream.</summary>
    public static void AdsConfigSource(Utf8JsonWriter w, string propertyName, XdsSettings settings)
    {
        w.WriteStartObject(propertyName);
        w.WriteString("resource_api_version", "V3");
        w.WriteStartObject("ads");
        w.WriteEndObject();
        w.WriteString("initial_fetch_timeout", Duration(settings.InitialFetchTimeout));
        w.WriteEndObject();
    }

    public static void TypedConfig(Utf8JsonWriter w, string typeUrl, Action<Utf8JsonWriter>? writeFields = null)
    {
        w.WriteStartObject("typed_config");
        w.WriteString("@type", typeUrl);
        writeFields?.Invoke(w);
        w.WriteEndObject();
    }

    /// <summary>A filter chain with one network filter.</summary>
    public static void SingleFilterChain(Utf8JsonWriter w, string filterName, string typeUrl, Action<Utf8JsonWriter> writeFields)
    {
        w.WriteStartArray("filter_chains");
        w.WriteStartObject();
        w.WriteStartArray("filters");
        w.WriteStartObject();
        w.WriteString("name", filterName);
        TypedConfig(w, typeUrl, writeFields);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndArray();
    }

    /// <summary>
    /// The proxy's certificate and the mesh CA as SDS secrets from files on the proxy, reloaded when the certificates'
    /// directory changes (inline file names are read once, at load); when <paramref name="peerIdentity"/> is set, the
    /// peer's certificate must carry it as a URI SAN.
    /// </summary>
    public static void CommonTlsContext(Utf8JsonWriter w, XdsSettings settings, string? peerIdentity)
    {
        w.WriteStartObject("common_tls_context");
        w.WriteStartObject("tls_params");
        w.WriteString("tls_minimum_protocol_version", "TLSv1_2");
        w.WriteEndObject();
        w.WriteStartArray("tls_certificate_sds_secret_configs");
        SdsSecret(w, null, SdsSecrets.CertificateName, settings.Tls.CertificateSecretPath, settings.Tls.CertificateDirectory);
        w.WriteEndArray();
        if (peerIdentity is null)
        {
            SdsSecret(w, "validation_context_sds_secret_config", SdsSecrets.ValidationName, settings.Tls.ValidationSecretPath, settings.Tls.CertificateDirectory);
        }
        else
        {
            w.WriteStartObject("combined_validation_context");
            w.WriteStartObject("default_validation_context");
            SubjectAltNameMatch(w, "URI", peerIdentity);
            w.WriteEndObject();
            SdsSecret(w, "validation_context_sds_secret_config", SdsSecrets.ValidationName, settings.Tls.ValidationSecretPath, settings.Tls.CertificateDirectory);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    /// <summary>The peer's certificate must carry exactly this subject alternative name, of this type (DNS, URI).</summary>
    public static void SubjectAltNameMatch(Utf8JsonWriter w, string sanType, string exact)
    {
        w.WriteStartArray("match_typed_subject_alt_names");
        w.WriteStartObject();
        w.WriteString("san_type", sanType);
        w.WriteStartObject("matcher");
        w.WriteString("exact", exact);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndArray();
    }

    /// <summary>An SDS secret read from a file Envoy reloads whenever a file is moved into <paramref name="watchedDirectory"/>.</summary>
    public static void SdsSecret(Utf8JsonWriter w, string? propertyName, string name, string path, string watchedDirectory)
    {
        if (propertyName is null) w.WriteStartObject();
        else w.WriteStartObject(propertyName);
        w.WriteString("name", name);
        w.WriteStartObject("sds_config");
        w.WriteString("resource_api_version", "V3");
        w.WriteStartObject("path_config_source");
        w.WriteString("path", path);
        w.WriteStartObject("watched_directory");
        w.WriteString("path", watchedDirectory);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>An HTTP filter list of the router alone.</summary>
    public static void RouterOnly(Utf8JsonWriter w)
    {
        w.WriteStartArray("http_filters");
        Router(w);
        w.WriteEndArray();
    }

    /// <summary>The router, which must be the last HTTP filter.</summary>
    public static void Router(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("name", "envoy.filters.http.router");
        TypedConfig(w, RouterType);
        w.WriteEndObject();
    }
}
