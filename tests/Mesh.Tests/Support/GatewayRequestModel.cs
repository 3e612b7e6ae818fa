using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Mesh.Tests.Support;

/// <summary>An HTTP request as a gateway listener receives it.</summary>
public sealed record Request(string Host, string Path, string Method = "GET", IReadOnlyDictionary<string, string>? Headers = null);

/// <summary>What the gateway forwards: to which clusters (with weights), with which path and host; or the status it answers itself.</summary>
public sealed record Forwarded(string Clusters, string Path, string Host);

/// <summary>
/// Where Envoy's router sends a request through a route configuration: the virtual host by its domains (exact, then
/// the longest "*suffix", then "*"; the port ignored when the configuration says so), then the first route whose
/// path, method and header conditions hold, then its prefix or regex rewrite and host rewrite. Enough of Envoy's
/// router to check what a gateway does with a request, not only the shape of what it was given.
/// </summary>
public static class GatewayRequestModel
{
    public static Forwarded? Route(JsonNode routeConfig, Request request)
    {
        var host = (bool?)routeConfig["ignore_port_in_host_matching"] == true && request.Host.LastIndexOf(':') is > 0 and var colon ? request.Host[..colon] : request.Host;
        var hosts = routeConfig["virtual_hosts"]!.AsArray().Select(v => v!).ToList();
        var domains = hosts.SelectMany(v => v["domains"]!.AsArray().Select(d => (Host: v, Domain: (string)d!))).ToList();
        var vhost = domains.FirstOrDefault(d => string.Equals(d.Domain, host, StringComparison.OrdinalIgnoreCase)).Host
            ?? domains.Where(d => d.Domain.Length > 1 && d.Domain[0] == '*' && host.Length > d.Domain.Length - 1 && host.EndsWith(d.Domain[1..], StringComparison.OrdinalIgnoreCase))
                .OrderByDescending(d => d.Domain.Length).FirstOrDefault().Host
            ?? domains.FirstOrDefault(d => d.Domain == "*").Host;
        if (vhost is null) return null;
        var route = vhost["routes"]!.AsArray().Select(r => r!).FirstOrDefault(r => Matches(r["match"]!, request));
        if (route is null) return null;
        var action = route["route"]!;
        var clusters = action["cluster"] is { } single
            ? (string)single!
            : string.Join(",", action["weighted_clusters"]!["clusters"]!.AsArray().Select(c => $"{c!["name"]}={c["weight"]}"));
        var path = request.Path;
        var match = route["match"]!;
        if ((string?)action["prefix_rewrite"] is { } prefixRewrite)
        {
            var matched = (string?)match["prefix"] ?? (string)match["path"]!;
            path = prefixRewrite + path[matched.Length..];
        }
        if (action["regex_rewrite"] is { } regexRewrite)
            path = new Regex((string)regexRewrite["pattern"]!["regex"]!).Replace(path, (string)regexRewrite["substitution"]!);
        return new Forwarded(clusters, path, (string?)action["host_rewrite_literal"] ?? request.Host);
    }

    private static bool Matches(JsonNode match, Request request)
    {
        var pathMatches = match["prefix"] is { } prefix ? request.Path.StartsWith((string)prefix!, StringComparison.Ordinal)
            : match["path"] is { } exact ? request.Path == (string)exact!
            : Regex.IsMatch(request.Path, $"^(?:{(string)match["safe_regex"]!["regex"]!})$");
        if (!pathMatches) return false;
        foreach (var header in match["headers"]?.AsArray().Select(h => h!) ?? [])
        {
            var name = (string)header["name"]!;
            var value = name == ":method" ? request.Method : request.Headers?.GetValueOrDefault(name);
            var holds = header["present_match"] is { } present ? (value is not null) == (bool)present!
                : header["string_match"] is { } s && value is not null && (s["exact"] is { } e ? value == (string)e! : s["prefix"] is { } p ? value.StartsWith((string)p!, StringComparison.Ordinal)
                    : Regex.IsMatch(value, $"^(?:{(string)s["safe_regex"]!["regex"]!})$"));
            if (holds == ((bool?)header["invert_match"] == true)) return false;
        }
        return true;
    }
}
