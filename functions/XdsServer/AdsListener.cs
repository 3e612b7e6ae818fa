using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Mesh.XdsServer;

/// <summary>
/// The ADS port: HTTP/2 only (gRPC), and with Ads:Tls:CertificateChain and Ads:Tls:PrivateKey, TLS; with
/// Ads:Tls:ClientCa too, every client must present a certificate chaining to that CA (the mesh's), whose SPIFFE ID
/// then names its fleet. The health port serves /healthz over HTTP/1.1 for the load balancer.
/// </summary>
public static class AdsListener
{
    public static void Configure(KestrelServerOptions kestrel, IConfiguration configuration)
    {
        var port = int.TryParse(configuration["Ads:Port"], CultureInfo.InvariantCulture, out var configured) ? configured : 18000;
        var healthPort = int.TryParse(configuration["Ads:HealthPort"], CultureInfo.InvariantCulture, out var health) ? health : 8081;
        kestrel.ListenAnyIP(port, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            if (configuration["Ads:Tls:CertificateChain"] is not { Length: > 0 } chain) return;
            var certificate = X509Certificate2.CreateFromPemFile(chain, configuration["Ads:Tls:PrivateKey"]);
            var clientCa = configuration["Ads:Tls:ClientCa"] is { Length: > 0 } ca ? X509CertificateLoader.LoadCertificateFromFile(ca) : null;
            listen.UseHttps(new HttpsConnectionAdapterOptions
            {
                ServerCertificate = certificate,
                ClientCertificateMode = clientCa is null ? ClientCertificateMode.NoCertificate : ClientCertificateMode.RequireCertificate,
                ClientCertificateValidation = clientCa is null ? null : (client, _, _) => ChainsTo(client, clientCa),
            });
        });
        kestrel.ListenAnyIP(healthPort, listen => listen.Protocols = HttpProtocols.Http1);
    }

    /// <summary>The client certificate chains to the mesh's CA alone, not to any root the machine trusts.</summary>
    public static bool ChainsTo(X509Certificate2 client, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(client);
    }
}
