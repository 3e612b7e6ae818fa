using System.Net;
using Mesh.Core.Compile;
using Mesh.Core.Model;

namespace Mesh.Core.Editing;

public static partial class MeshValidator
{
    public const string SettingsResource = "settings";

    public const int MaxAdditionalPorts = 10;
    public const int MaxExternalServices = 50;
    /// <summary>Hosts, ranges and ports of one external service.</summary>
    public const int MaxExternalEntries = 20;

    private static void ValidateAdditionalPorts(ServiceDefinition service, XdsSettings settings, Errors errors)
    {
        if (service.AdditionalPorts.Length > MaxAdditionalPorts) errors.Add("$.additionalPorts", $"at most {MaxAdditionalPorts} further ports");
        for (var i = 0; i < service.AdditionalPorts.Length; i++)
        {
            var port = service.AdditionalPorts[i];
            var at = $"$.additionalPorts[{i}]";
            if (port.Port is < 1 or > 65535) errors.Add($"{at}.port", "must be between 1 and 65535");
            else if (settings.ReservedPorts.Contains(port.Port)) errors.Add($"{at}.port", ReservedPortRule(settings));
            else if (port.Port == service.Port || service.AdditionalPorts.Take(i).Any(p => p.Port == port.Port))
                errors.Add($"{at}.port", $"port {port.Port} is already a port of this service");
            if (!Enum.IsDefined(port.Protocol)) errors.Add($"{at}.protocol", "must be http, http2, grpc or tcp");
            if (port.PortName is { } name && !IsDnsLabel(name)) errors.Add($"{at}.portName", DnsLabelRule);
        }
    }

    /// <summary>
    /// Absolute paths of plain characters (the sidecar writes them into a shell command and Envoy's SDS files), all in
    /// the certificate chain's directory: the one directory Envoy watches for a rotation.
    /// </summary>
    private static void ValidateCertificates(CertificateFiles files, Errors errors)
    {
        var directory = Directory(files.CertificateChain);
        foreach (var (path, value) in new[] { ("certificateChain", files.CertificateChain), ("privateKey", files.PrivateKey), ("trustedCa", files.TrustedCa) })
        {
            if (!CertificatePath().IsMatch(value)) errors.Add($"$.certificates.{path}", "must be an absolute path of letters, digits and . _ - / (at most 256 characters)");
            else if (Directory(value) != directory) errors.Add($"$.certificates.{path}", $"must be in {directory}, the certificate chain's directory, which Envoy watches for rotations");
        }

        static string Directory(string path) => path.LastIndexOf('/') is > 0 and var slash ? path[..slash] : "/";
    }

    private static void ValidateObservability(ObservabilitySettings observability, Errors errors)
    {
        if (!Enum.IsDefined(observability.AccessLog)) errors.Add("$.observability.accessLog", "must be OFF, TEXT or JSON");
        if (!Enum.IsDefined(observability.Tracing.Provider)) errors.Add("$.observability.tracing.provider", "must be NONE, XRAY or OPENTELEMETRY");
        if (observability.Tracing.SamplingPercent is not (>= 0 and <= 100)) errors.Add("$.observability.tracing.samplingPercent", "must be between 0 and 100");
        if (observability.Tracing.Address is { } tracing && !IsEndpoint(tracing))
            errors.Add("$.observability.tracing.address", "must be ip:port, such as 127.0.0.1:2000 for the X-Ray daemon or 127.0.0.1:4317 for an OTLP collector");
        if (observability.Stats.StatsdAddress is { } statsd && !IsEndpoint(statsd))
            errors.Add("$.observability.stats.statsdAddress", "must be ip:port, such as 127.0.0.1:8125 for the CloudWatch agent");

        static bool IsEndpoint(string value) => IPEndPoint.TryParse(value, out var endpoint) && endpoint.Port > 0 && value.Contains(':', StringComparison.Ordinal);
    }

    private static void ValidateObservabilityOverride(ObservabilityOverride own, Errors errors)
    {
        if (own.AccessLog is { } format && !Enum.IsDefined(format)) errors.Add("$.observability.accessLog", "must be OFF, TEXT or JSON");
        if (own.TracingSamplingPercent is { } percent && percent is not (>= 0 and <= 100)) errors.Add("$.observability.tracingSamplingPercent", "must be between 0 and 100");
    }

    [System.Text.RegularExpressions.GeneratedRegex("^/[A-Za-z0-9._/-]{1,255}$")]
    private static partial System.Text.RegularExpressions.Regex CertificatePath();

    private static string ReservedPortRule(XdsSettings settings) =>
        $"is reserved for the sidecar (admin {settings.AdminPort}, inbound {settings.InboundPort}, outbound {settings.OutboundPort}); the app cannot listen on it";

    /// <summary>
    /// The mesh's egress: external services need a name, hosts on ports and/or address ranges, and a host may be
    /// claimed once, by one external service and no mesh service (Envoy refuses a domain claimed twice).
    /// </summary>
    private static List<FieldError> ValidateSettings(MeshState mesh, XdsSettings settings)
    {
        var errors = new Errors(SettingsResource);
        var egress = mesh.Settings.Egress;
        if (!Enum.IsDefined(egress.Mode)) errors.Add("$.egress.mode", "must be ALLOW_ALL or DROP_ALL");
        if (egress.ExternalServices.Length > MaxExternalServices) errors.Add("$.egress.externalServices", $"at most {MaxExternalServices} external services");
        var meshNames = mesh.Services.Values.SelectMany(s => s.Hostnames.Prepend(s.Name).Select(h => (Host: h, Service: s.Name)))
            .DistinctBy(x => x.Host, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(x => x.Host, x => x.Service, StringComparer.OrdinalIgnoreCase);
        var claimed = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < egress.ExternalServices.Length; i++)
        {
            var external = egress.ExternalServices[i];
            var at = $"$.egress.externalServices[{i}]";
            if (!IsDnsLabel(external.Name)) errors.Add($"{at}.name", DnsLabelRule);
            else if (egress.ExternalServices.Take(i).Any(e => e.Name == external.Name)) errors.Add($"{at}.name", $"external service '{external.Name}' is defined twice");
            if (external.Hosts.IsEmpty && external.Cidrs.IsEmpty) errors.Add(at, "needs hosts (with ports) or cidrs");
            if (!external.Hosts.IsEmpty && external.Ports.IsEmpty) errors.Add($"{at}.ports", "hosts are reached on ports: name at least one");
            Count(external.Hosts.Length, $"{at}.hosts");
            Count(external.Ports.Length, $"{at}.ports");
            Count(external.Cidrs.Length, $"{at}.cidrs");
            for (var h = 0; h < external.Hosts.Length; h++)
            {
                var host = external.Hosts[h];
                if (host is null || !HostName().IsMatch(host)) errors.Add($"{at}.hosts[{h}]", "must be a DNS name, or *.domain for every name under it");
                else if (meshNames.TryGetValue(host, out var service)) errors.Add($"{at}.hosts[{h}]", $"'{host}' is a name of mesh service '{service}'");
                else if (!claimed.TryAdd(host, external.Name)) errors.Add($"{at}.hosts[{h}]", $"'{host}' is already a host of external service '{claimed[host]}'");
            }
            for (var p = 0; p < external.Ports.Length; p++)
            {
                var port = external.Ports[p];
                if (port is < 1 or > 65535) errors.Add($"{at}.ports[{p}]", "must be between 1 and 65535");
                else if (port == settings.OutboundPort) errors.Add($"{at}.ports[{p}]", $"is the sidecar's outbound port {settings.OutboundPort}");
                else if (external.Ports.Take(p).Contains(port)) errors.Add($"{at}.ports[{p}]", $"port {port} is listed twice");
            }
            for (var c = 0; c < external.Cidrs.Length; c++)
            {
                if (!IsRange(external.Cidrs[c]))
                    errors.Add($"{at}.cidrs[{c}]", "must be an address range such as 10.20.0.0/16, with no bits set after the prefix");
            }
        }
        if (mesh.Settings.Certificates is { } files) ValidateCertificates(files, errors);
        ValidateObservability(mesh.Settings.Observability, errors);
        return errors.List;

        // A range with bits set after its prefix is a typo more often than a range: refuse it rather than mask it.
        static bool IsRange(string? cidr) =>
            cidr is not null && IPNetwork.TryParse(cidr, out var network) && cidr.IndexOf('/') is > 0 and var slash
            && IPAddress.TryParse(cidr.AsSpan(0, slash), out var address) && address.Equals(network.BaseAddress);

        void Count(int count, string path)
        {
            if (count > MaxExternalEntries) errors.Add(path, $"at most {MaxExternalEntries}");
        }
    }
}
