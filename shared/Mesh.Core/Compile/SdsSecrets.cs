using System.Buffers;
using System.Text.Json;
using Mesh.Core.Model;

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
    public static byte[] Certificate(XdsSettings settings) => CertificateSecret(CertificateName, settings.Tls.CertificateChain, settings.Tls.PrivateKey);

    /// <summary>The mesh's CA bundle.</summary>
    public static byte[] Validation(XdsSettings settings) => ValidationSecret(ValidationName, settings.Tls.TrustedCa);

    /// <summary>
    /// The SDS files a gateway's proxies need beside the mesh's two: each TLS listener's certificate and the CA of its
    /// clients, by the path its listener names.
    /// </summary>
    public static IReadOnlyList<(string Path, byte[] Content)> Ingress(GatewayDefinition gateway, XdsSettings settings) =>
    [
        .. gateway.Listeners.Where(l => l.Tls is not null).SelectMany(listener =>
        {
            var tls = listener.Tls!;
            var files = new List<(string, byte[])>
            {
                (settings.Tls.IngressSecretPath(listener.Port, clientCa: false), CertificateSecret(ResourceNames.IngressCertificate(listener.Port), tls.CertificateChain, tls.PrivateKey)),
            };
            if (tls.ClientValidation is { } client)
                files.Add((settings.Tls.IngressSecretPath(listener.Port, clientCa: true), ValidationSecret(ResourceNames.IngressClientCa(listener.Port), client.TrustedCa)));
            return files;
        }),
    ];

    private static byte[] CertificateSecret(string name, string chain, string key) => Response(name, w =>
    {
        w.WriteStartObject("tls_certificate");
        File(w, "certificate_chain", chain);
        File(w, "private_key", key);
        w.WriteEndObject();
    });

    private static byte[] ValidationSecret(string name, string trustedCa) => Response(name, w =>
    {
        w.WriteStartObject("validation_context");
        File(w, "trusted_ca", trustedCa);
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
