using Mesh.Core.Model;

namespace Mesh.Core.Editing;

/// <summary>
/// Decides whether an earlier route matches every request a later one would, so the later one can never match.
/// Conservative: regex paths are compared only for equality, so a shadowing it cannot prove is let through.
/// </summary>
public static class RouteShadowing
{
    public static bool Covers(RouteMatch earlier, RouteMatch later) =>
        PathCovers(earlier, later)
        && (earlier.Method is null || earlier.Method == later.Method)
        && earlier.Headers.All(later.Headers.Contains)
        && earlier.QueryParameters.All(later.QueryParameters.Contains);

    /// <summary>Whether an earlier gateway route matches every request a later one would, on every listener the later one is on.</summary>
    public static bool Covers(GatewayRoute earlier, GatewayRoute later) =>
        (earlier.Match.Port is null || earlier.Match.Port == later.Match.Port)
        && HostnameMatch.Covers(earlier.Match.Hostname, later.Match.Hostname)
        && Covers(earlier.Match.ToRouteMatch(), later.Match.ToRouteMatch());

    private static bool PathCovers(RouteMatch earlier, RouteMatch later)
    {
        var earlierPrefix = earlier.Prefix ?? (earlier.Path is null && earlier.Regex is null ? "/" : null);
        var laterPrefix = later.Prefix ?? (later.Path is null && later.Regex is null ? "/" : null);
        if (earlierPrefix is not null)
        {
            if (laterPrefix is not null) return laterPrefix.StartsWith(earlierPrefix, StringComparison.Ordinal);
            if (later.Path is not null) return later.Path.StartsWith(earlierPrefix, StringComparison.Ordinal);
            return earlierPrefix == "/";
        }
        if (earlier.Path is not null) return later.Path == earlier.Path;
        return later.Regex == earlier.Regex;
    }
}
