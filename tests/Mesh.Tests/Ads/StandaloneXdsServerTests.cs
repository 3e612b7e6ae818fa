using System.Net;
using Microsoft.Extensions.DependencyInjection;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Envoy.Service.Discovery.V3;
using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Core.Model;
using Mesh.Tests.Http;
using Mesh.Tests.Support;
using Mesh.XdsServer;

namespace Mesh.Tests.Ads;

/// <summary>
/// The xDS server as it runs in AWS: its own process (here its own host), TLS with client certificates from the mesh's
/// CA, learning new heads by polling the store another process commits to (here the local host's SQLite file).
/// </summary>
public sealed class StandaloneXdsServerTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_proxy_proves_its_fleet_with_its_mesh_certificate_and_gets_heads_another_process_commits()
    {
        var directory = Directory.CreateTempSubdirectory("mesh-xds-").FullName;
        var pki = TestPki.Create(directory);
        await using var host = await LocalHostFixture.StartAsync();
        var (adsPort, healthPort) = (FreePort(), FreePort());
        await using var server = XdsServerHosting.Build([],
        [
            new("Store:SqlitePath", host.Services.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>()["Store:SqlitePath"]),
            new("Ads:Port", adsPort.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("Ads:HealthPort", healthPort.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("Ads:Tls:CertificateChain", pki.ServerCertificate),
            new("Ads:Tls:PrivateKey", pki.ServerKey),
            new("Ads:Tls:ClientCa", pki.Ca),
            new("Xds:RequireProxyIdentity", "true"),
            new("Xds:HeadPollInterval", "00:00:00.200"),
            new("Logging:LogLevel:Default", "Warning"),
        ]);
        await server.StartAsync();
        using var health = new HttpClient();
        Assert.Equal("ok", await health.GetStringAsync($"http://127.0.0.1:{healthPort}/healthz"));

        // The storefront certificate streams storefront's configuration ...
        using var storefront = Channel(adsPort, pki.Client("spiffe://mesh.local/mesh/shop/service/storefront"), pki);
        using var stream = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(storefront).StreamAggregatedResources();
        var responses = new AdsClient.Reader<DiscoveryResponse>(stream.ResponseStream);
        await stream.RequestStream.WriteAsync(AdsClient.Request(XdsType.Clusters, AdsClient.Node("sf-1", "shop/storefront")));
        var clusters = await responses.NextAsync(Wait);
        Assert.NotNull(clusters);
        await stream.RequestStream.WriteAsync(AdsClient.Request(XdsType.Clusters, version: clusters.VersionInfo, nonce: clusters.Nonce));

        // ... and gets the head the local host commits, through the head poll.
        using var alice = host.As("alice");
        var policy = "/v1/meshes/shop/services/checkout-api/policy";
        using (var edited = await PolicyApiTests.PutAsync(alice, policy, """{"loadBalancing": "RANDOM"}""", await PolicyApiTests.ETagAsync(alice, policy)))
            edited.EnsureSuccessStatusCode();
        var pushed = await responses.NextAsync(Wait);
        Assert.NotNull(pushed);
        Assert.NotEqual(clusters.VersionInfo, pushed.VersionInfo);

        // The same certificate may not stream another fleet's configuration.
        using var other = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(storefront).StreamAggregatedResources();
        await other.RequestStream.WriteAsync(AdsClient.Request(XdsType.Clusters, AdsClient.Node("sf-1", "shop/payments")));
        var refused = await Assert.ThrowsAsync<RpcException>(() => other.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);

        // A certificate from another CA does not get through the handshake.
        var stranger = TestPki.Create(Directory.CreateTempSubdirectory("mesh-xds-stranger-").FullName);
        using var strangerChannel = Channel(adsPort, stranger.Client("spiffe://mesh.local/mesh/shop/service/storefront"), pki);
        using var strangerStream = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(strangerChannel).StreamAggregatedResources();
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await strangerStream.RequestStream.WriteAsync(AdsClient.Request(XdsType.Clusters, AdsClient.Node("sf-1", "shop/storefront")));
            await strangerStream.ResponseStream.MoveNext(CancellationToken.None);
        });
        await server.StopAsync();
    }

    private static GrpcChannel Channel(int port, X509Certificate2 client, TestPki pki)
    {
        var ca = X509CertificateLoader.LoadCertificateFromFile(pki.Ca);
        var handler = new SocketsHttpHandler();
        handler.SslOptions.ClientCertificates = [client];
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            certificate is X509Certificate2 server && AdsListener.ChainsTo(server, ca);
        return GrpcChannel.ForAddress($"https://localhost:{port}", new GrpcChannelOptions { HttpHandler = handler });
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A mesh CA, the xDS server's certificate (localhost) and client certificates carrying a SPIFFE ID, as PEM files.</summary>
public sealed class TestPki
{
    private readonly X509Certificate2 _ca;
    private readonly ECDsa _caKey;

    private TestPki(string directory, X509Certificate2 ca, ECDsa caKey)
    {
        _ca = ca;
        _caKey = caKey;
        Ca = Path.Combine(directory, "ca.pem");
        File.WriteAllText(Ca, ca.ExportCertificatePem());
        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var server = Issue(serverKey, "CN=xds", san => san.AddDnsName("localhost"));
        ServerCertificate = Path.Combine(directory, "server.pem");
        ServerKey = Path.Combine(directory, "server-key.pem");
        File.WriteAllText(ServerCertificate, server.ExportCertificatePem());
        File.WriteAllText(ServerKey, serverKey.ExportPkcs8PrivateKeyPem());
    }

    public string Ca { get; }
    public string ServerCertificate { get; }
    public string ServerKey { get; }

    public static TestPki Create(string directory)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=mesh test CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return new TestPki(directory, ca, key);
    }

    /// <summary>A client certificate with its private key, whose URI SAN is <paramref name="spiffeId"/>.</summary>
    public X509Certificate2 Client(string spiffeId)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var certificate = Issue(key, "CN=proxy", san => san.AddUri(new Uri(spiffeId)));
        // Exported and re-read so that the TLS stack on Linux can use the key.
        return X509CertificateLoader.LoadPkcs12(certificate.CopyWithPrivateKey(key).Export(X509ContentType.Pkcs12), null);
    }

    private X509Certificate2 Issue(ECDsa key, string subject, Action<SubjectAlternativeNameBuilder> names)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        names(san);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        var serial = RandomNumberGenerator.GetBytes(8);
        var generator = X509SignatureGenerator.CreateForECDsa(_caKey);
        return request.Create(_ca.SubjectName, generator, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12), serial);
    }
}
