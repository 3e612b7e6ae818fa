using System.Net;
using System.Net.Sockets;

namespace Mesh.Tests.Support;

/// <summary>Settings that give the local host its ADS port on loopback and make every proxy prove its fleet with a token.</summary>
public static class AdsHost
{
    public static readonly string FleetTokenKey = Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes("a key for the tests' fleet tokens"));

    /// <summary>The ADS port is chosen first, since bootstraps name it in configuration read before the host starts.</summary>
    public static KeyValuePair<string, string?>[] Settings(bool requireIdentity = true, params KeyValuePair<string, string?>[] more)
    {
        var address = $"http://127.0.0.1:{FreePort()}";
        return
        [
            new("Xds:AdsListen", address),
            new("Xds:AdsAddress", address),
            new("Xds:FleetTokenKey", FleetTokenKey),
            new("Xds:RequireProxyIdentity", requireIdentity ? "true" : "false"),
            .. more,
        ];
    }

    public static Uri AdsAddress(LocalHostFixture host) => Mesh.LocalHost.LocalPipeline.AdsAddress(host.App);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
