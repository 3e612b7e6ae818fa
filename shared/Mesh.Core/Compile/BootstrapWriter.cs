using System.Buffers;
using System.Text.Json;
using Mesh.Core.Model;

namespace Mesh.Core.Compile;

/// <summary>Where a proxy reaches this control plane: the URL of the Api function.</summary>
public sealed record ControlPlaneAddress(string Host, int Port, bool Tls);

/// <summary>
/// The Envoy bootstrap a proxy of a fleet starts from: its node identity, CDS and LDS over REST from this
/// control plane, and the one static cluster that reaches it, named as the snapshots' config sources name it.
/// </summary>
public static class BootstrapWriter
{
    /// <param name="region">The zone's region; derived from the zone when not given.</param>
    public static byte[] Write(FleetId fleet, string nodeId, string? zone, ControlPlaneAddress controlPlane, XdsSettings settings, string? region = null)
    {
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
            w.WriteEndObject();

            w.WriteStartObject("dynamic_resources");
            EnvoyJson.RestConfigSource(w, "cds_config", settings);
            EnvoyJson.RestConfigSource(w, "lds_config", settings);
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
            EnvoyJson.RestConfigSource(w, "eds_config", settings);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartObject();
            w.WriteString("name", settings.ControlPlaneCluster);
            w.WriteString("type", "LOGICAL_DNS");
            w.WriteString("dns_lookup_family", "V4_PREFERRED");
            w.WriteString("connect_timeout", EnvoyJson.Duration(settings.RequestTimeout));
            EnvoyJson.SingleEndpointLoadAssignment(w, settings.ControlPlaneCluster, controlPlane.Host, controlPlane.Port);
            if (controlPlane.Tls) UpstreamTls(w, controlPlane.Host);
            w.WriteEndObject();
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

    /// <summary>An availability zone's region: "eu-west-1a" is in "eu-west-1".</summary>
    public static string RegionOf(string zone) => zone.TrimEnd("abcdefghijklmnopqrstuvwxyz".ToCharArray()) is var region && region.Length < zone.Length && region.Length > 0 && char.IsAsciiDigit(region[^1]) ? region : "";

    private static void UpstreamTls(Utf8JsonWriter w, string host)
    {
        w.WriteStartObject("transport_socket");
        w.WriteString("name", "envoy.transport_sockets.tls");
        EnvoyJson.TypedConfig(w, "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext", t =>
        {
            t.WriteString("sni", host);
            t.WriteStartObject("common_tls_context");
            t.WriteStartObject("validation_context");
            t.WriteStartObject("trusted_ca");
            t.WriteString("filename", "/etc/ssl/certs/ca-certificates.crt");
            t.WriteEndObject();
            // A chain to a public CA is not enough: the certificate must be the control plane's own.
            EnvoyJson.SubjectAltNameMatch(t, "DNS", host);
            t.WriteEndObject();
            t.WriteEndObject();
        });
        w.WriteEndObject();
    }
}
