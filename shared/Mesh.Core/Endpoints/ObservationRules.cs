using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Mesh.Core.Model;

namespace Mesh.Core.Endpoints;

/// <summary>Endpoint data that breaks the rules; the event that carried it fails with this reason, and nothing is written.</summary>
public sealed class InvalidObservationException(string message) : Exception(message);

/// <summary>
/// What endpoint data must be before it is recorded, because it ends up in Envoy's EDS and in Cloud Map: an address
/// is an IPv4 or IPv6 literal (Envoy refuses the whole update of a cluster with one it cannot parse), ports are
/// 1-65535, and names, versions and labels are bounded text with no control characters (a NUL or a newline in a
/// name would reach logs, stores and proxies).
/// </summary>
public static class ObservationRules
{
    public const int MaxTextLength = 512;
    public const int MaxEndpoints = 1000;

    /// <summary>Null when the observation may be recorded; else what is wrong with it.</summary>
    public static string? Problem(SourceObservation observation)
    {
        if ((Text("source id", observation.SourceId) ?? Text("workload", observation.Workload.Value) ?? Text("status", observation.Status, allowEmpty: true)) is { } text) return text;
        if (observation.Version < 0) return $"version {observation.Version} is negative";
        if (observation.Endpoints.Length > MaxEndpoints) return $"{observation.Endpoints.Length} endpoints in one source; at most {MaxEndpoints}";
        foreach (var endpoint in observation.Endpoints)
        {
            if (EndpointProblem(endpoint) is { } problem) return $"endpoint '{Printable(endpoint.Id)}': {problem}";
        }
        return null;
    }

    private static string? EndpointProblem(Endpoint endpoint)
    {
        if ((Text("id", endpoint.Id) ?? Text("zone", endpoint.Zone, allowEmpty: true) ?? Text("region", endpoint.Region, allowEmpty: true)
            ?? Text("version", endpoint.Version, allowEmpty: true)) is { } text) return text;
        if (endpoint.Address is { } address && !IsIpLiteral(address)) return $"address '{Printable(address)}' is not an IPv4 or IPv6 address";
        foreach (var port in endpoint.Ports)
        {
            if (port.Port is < 1 or > 65535) return $"port {port.Port} is not between 1 and 65535";
            if (port.ContainerPort is < 1 or > 65535) return $"container port {port.ContainerPort} is not between 1 and 65535";
            if (port.Name is { } name && Text("port name", name) is { } bad) return bad;
        }
        return null;
    }

    /// <summary>Dotted-quad IPv4 (four decimal parts, as Envoy parses them) or an IPv6 literal without a zone.</summary>
    public static bool IsIpLiteral(string address)
    {
        if (address.Contains(':', StringComparison.Ordinal))
            return !address.Contains('%', StringComparison.Ordinal) && IPAddress.TryParse(address, out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6;
        var parts = address.Split('.');
        return parts.Length == 4 && parts.All(p => p.Length is >= 1 and <= 3 && p.All(char.IsAsciiDigit) && (p.Length == 1 || p[0] != '0')
            && int.Parse(p, CultureInfo.InvariantCulture) <= 255);
    }

    private static string? Text(string what, string value, bool allowEmpty = false)
    {
        if (value.Length == 0) return allowEmpty ? null : $"{what} is empty";
        if (value.Length > MaxTextLength) return $"{what} is longer than {MaxTextLength} characters";
        return value.Any(char.IsControl) ? $"{what} '{Printable(value)}' contains control characters" : null;
    }

    private static string Printable(string value) =>
        new([.. value.Take(64).Select(c => char.IsControl(c) ? '?' : c)]);
}
