using System.Buffers;
using System.Text.Json;

namespace Mesh.Core.Compile;

/// <summary>
/// The two SDS files the sidecar writes when it starts, which the TLS contexts name: each a DiscoveryResponse holding
/// one Secret that names the PEM files (Envoy reads them whenever it reloads the secret).
/// </summary>
public static class SdsSecrets
{
    public const string CertificateName = "svid";
    public const string ValidationName = "bundle";
    private const string SecretType = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

    /// <summary>The proxy's certificate and key.</summary>
    public static byte[] Certificate(XdsSettings settings) => Response(CertificateName, w =>
    {
        w.WriteStartObject("tls_certificate");
        File(w, "certificate_chain", settings.Tls.CertificateChain);
        File(w, "private_key", settings.Tls.PrivateKey);
        w.WriteEndObject();
    });

    /// <summary>The mesh's CA bundle.</summary>
    public static byte[] Validation(XdsSettings settings) => Response(ValidationName, w =>
    {
        w.WriteStartObject("validation_context");
        File(w, "trusted_ca", settings.Tls.TrustedCa);
        w.WriteEndObject();
    });

    private static byte[] Response(string name, Action<Utf8JsonWriter> secret)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("resources");
            w.WriteStartObject();
            w.WriteString("@type", SecretType);
            w.WriteString("name", name);
            secret(w);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void File(Utf8JsonWriter w, string property, string path)
    {
        w.WriteStartObject(property);
        w.WriteString("filename", path);
        w.WriteEndObject();
    }
}
