namespace Mesh.Api;

/// <summary>
/// The control plane's address a bootstrap names. It comes from configuration (Xds:ControlPlaneUrl), never from
/// whatever Host header a request carried; behind API Gateway, whose host the function cannot know in advance,
/// the request's host is used only when it is on the allow-list Xds:BootstrapHosts (';'-separated names, "*.suffix"
/// for a domain's hosts). Loopback names are always allowed, for a control plane on the same machine.
/// </summary>
public static class BootstrapHosts
{
    private static readonly string[] Loopback = ["localhost", "127.0.0.1", "[::1]"];

    /// <summary>Null when the request's host may not be named.</summary>
    public static Uri? ControlPlaneUrl(IConfiguration configuration, HttpRequest request)
    {
        if (configuration["Xds:ControlPlaneUrl"] is { Length: > 0 } configured) return new Uri(configured);
        var host = request.Host.Host;
        var allowed = (configuration["Xds:BootstrapHosts"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return Loopback.Concat(allowed).Any(pattern => Matches(pattern, host)) && Uri.TryCreate($"{request.Scheme}://{request.Host}", UriKind.Absolute, out var url)
            ? url
            : null;
    }

    private static bool Matches(string pattern, string host) =>
        pattern.StartsWith("*.", StringComparison.Ordinal)
            ? host.EndsWith(pattern[1..], StringComparison.OrdinalIgnoreCase) && host.Length > pattern.Length - 1
            : string.Equals(pattern, host, StringComparison.OrdinalIgnoreCase);
}
