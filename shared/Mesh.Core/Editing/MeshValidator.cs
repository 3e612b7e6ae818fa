using System.Text.RegularExpressions;
using Mesh.Core.Compile;
using Mesh.Core.Model;

namespace Mesh.Core.Editing;

/// <summary>One reason a change is refused: which resource, where in its JSON, and why.</summary>
public sealed record FieldError(string Resource, string Path, string Message);

/// <summary>
/// Checks a whole mesh: every service, its routes and its policy, and every reference between them. A change is
/// judged by the errors it would add (<see cref="NewErrors"/>), so an edit is never blamed for an old problem.
/// </summary>
public static partial class MeshValidator
{
    private static readonly HashSet<string> Methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"];

    /// <summary>The retry_on conditions Envoy knows for HTTP routers, gRPC's included.</summary>
    private static readonly HashSet<string> RetryConditions =
    [
        "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "envoy-ratelimited", "retriable-4xx",
        "refused-stream", "retriable-status-codes", "retriable-headers", "http3-post-connect-failure",
        "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable",
    ];

    public static IReadOnlyList<FieldError> NewErrors(MeshState? current, MeshState proposed, XdsSettings? settings = null)
    {
        var before = current is null ? [] : Validate(current, settings).ToHashSet();
        return [.. Validate(proposed, settings).Where(e => !before.Contains(e))];
    }

    public static IEnumerable<FieldError> Validate(MeshState mesh, XdsSettings? settings = null)
    {
        settings ??= new XdsSettings();
        if (!IsDnsLabel(mesh.Name)) yield return new FieldError($"meshes/{mesh.Name}", "$.name", DnsLabelRule);
        foreach (var service in mesh.Services.Values)
        {
            foreach (var error in ValidateService(mesh, service, settings)) yield return error;
            foreach (var error in ValidateRoutes(service)) yield return error;
            foreach (var error in ValidatePolicy(mesh, service)) yield return error;
        }
        foreach (var gateway in mesh.Gateways.Values)
        {
            foreach (var error in ValidateGateway(mesh, gateway, settings)) yield return error;
        }
        foreach (var error in ValidateSettings(mesh, settings)) yield return error;
    }

    public const string DnsLabelRule = "must be a DNS label: 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit";

    public static bool IsDnsLabel(string? value) => value is not null && DnsLabel().IsMatch(value);

    /// <summary>ECS cluster and service names, EKS cluster names and Kubernetes Service names all fit this.</summary>
    private const string PlatformNameRule = "must be 1-255 letters, digits, '-', '_' or '.'";

    public static string ServiceResource(string service) => $"services/{service}";

    public static string RoutesResource(string service) => $"services/{service}/routes";

    public static string PolicyResource(string service) => $"services/{service}/policy";

    /// <summary>
    /// The caller's sidecar tells intercepted connections apart by their destination port, and an app without
    /// interception reaches a TCP backend on a loopback listener at its port: a TCP backend's port cannot be one of
    /// the caller's own app ports (the app holds it), nor shared with any other backend's port.
    /// </summary>
    private static string? PortClash(MeshState mesh, ServiceDefinition caller, int index, ServiceDefinition backend)
    {
        if (backend.Protocol == ServiceProtocol.Tcp && caller.Ports.Any(p => p.Port == backend.Port))
            return $"TCP backend '{backend.Name}' listens on port {backend.Port}, one of this service's own app ports; the sidecar could not bind its listener";
        foreach (var earlier in caller.Backends.Take(index).Select(b => mesh.Services.GetValueOrDefault(b)).OfType<ServiceDefinition>().Where(b => b.Name != backend.Name))
        {
            foreach (var port in backend.Ports)
            {
                if (earlier.Ports.FirstOrDefault(p => p.Port == port.Port) is not { } other) continue;
                if (port.Protocol != ServiceProtocol.Tcp && other.Protocol != ServiceProtocol.Tcp) continue;
                return $"backends '{earlier.Name}' ({Protocol(other.Protocol)}) and '{backend.Name}' ({Protocol(port.Protocol)}) both use port {port.Port}; " +
                    "the sidecar tells intercepted connections apart by port, so a TCP port cannot be shared";
            }
        }
        return null;
    }

    private static bool HasTcpPort(ServiceDefinition service)
    {
        if (service.Protocol == ServiceProtocol.Tcp) return true;
        foreach (var port in service.AdditionalPorts)
        {
            if (port.Protocol == ServiceProtocol.Tcp) return true;
        }
        return false;
    }

    private static string Protocol(ServiceProtocol protocol) => protocol.ToString().ToLowerInvariant();

    private static List<FieldError> ValidateService(MeshState mesh, ServiceDefinition service, XdsSettings settings)
    {
        var errors = new Errors(ServiceResource(service.Name));
        if (!IsDnsLabel(service.Name)) errors.Add("$.name", DnsLabelRule);
        else if (mesh.Gateways.ContainsKey(service.Name)) errors.Add("$.name", $"'{service.Name}' is a gateway of mesh '{mesh.Name}'; a service's fleet needs a name of its own");
        if (service.Port is < 1 or > 65535) errors.Add("$.port", "must be between 1 and 65535");
        else if (settings.ReservedPorts.Contains(service.Port))
            errors.Add("$.port", ReservedPortRule(settings));
        if (!Enum.IsDefined(service.Protocol)) errors.Add("$.protocol", "must be http, http2, grpc or tcp");
        ValidateAdditionalPorts(service, settings, errors);
        // Ports clash only where a TCP port is involved: most callers have no TCP backend and skip the pairwise check.
        var callsTcp = service.Backends.Any(b => mesh.Services.TryGetValue(b, out var backend) && HasTcpPort(backend));
        for (var i = 0; i < service.Backends.Length; i++)
        {
            var backend = service.Backends[i];
            if (!mesh.Services.ContainsKey(backend)) errors.Add($"$.backends[{i}]", $"'{backend}' is not a service of mesh '{mesh.Name}'");
            else if (service.Backends.IndexOf(backend) < i) errors.Add($"$.backends[{i}]", $"'{backend}' is listed twice");
            else if (callsTcp && PortClash(mesh, service, i, mesh.Services[backend]) is { } clash)
                errors.Add($"$.backends[{i}]", clash);
        }
        for (var i = 0; i < service.Subsets.Length; i++)
        {
            var subset = service.Subsets[i];
            if (!IsDnsLabel(subset.Name)) errors.Add($"$.subsets[{i}].name", DnsLabelRule);
            else if (service.Subsets.Take(i).Any(s => s.Name == subset.Name)) errors.Add($"$.subsets[{i}].name", $"subset '{subset.Name}' is defined twice");
            if (string.IsNullOrWhiteSpace(subset.Version)) errors.Add($"$.subsets[{i}].version", "is required: the task-definition revision or the pod's version label");
        }
        for (var i = 0; i < service.Hostnames.Length; i++)
        {
            if (!HostName().IsMatch(service.Hostnames[i])) errors.Add($"$.hostnames[{i}]", "must be a DNS name");
        }
        if (service.Workload is { } workload)
        {
            if (workload.Platform is not ("ecs" or "eks")) errors.Add("$.workload.platform", "must be 'ecs' or 'eks'");
            if (string.IsNullOrWhiteSpace(workload.Cluster)) errors.Add("$.workload.cluster", "is required");
            else if (!PlatformName().IsMatch(workload.Cluster)) errors.Add("$.workload.cluster", PlatformNameRule);
            if (string.IsNullOrWhiteSpace(workload.Service)) errors.Add("$.workload.service", "is required: the ECS service or Kubernetes Service name");
            else if (!PlatformName().IsMatch(workload.Service)) errors.Add("$.workload.service", PlatformNameRule);
            if (workload.PortName is { } portName && !IsDnsLabel(portName)) errors.Add("$.workload.portName", DnsLabelRule);
            if (workload.Platform == "ecs" && workload.Namespace is not null) errors.Add("$.workload.namespace", "applies to EKS only");
            if (workload.Platform == "eks" && workload.Namespace is { } ns && !IsDnsLabel(ns)) errors.Add("$.workload.namespace", DnsLabelRule);
        }
        if (service.HealthCheck is { } check)
        {
            if (check.IntervalMs is < 1000 or > 300_000) errors.Add("$.healthCheck.intervalMs", "must be between 1000 and 300000");
            if (check.TimeoutMs is < 100 || check.TimeoutMsOrDefault >= check.IntervalMsOrDefault) errors.Add("$.healthCheck.timeoutMs", "must be at least 100 and less than intervalMs");
            if (check.HealthyThreshold is < 1 or > 10) errors.Add("$.healthCheck.healthyThreshold", "must be between 1 and 10");
            if (check.UnhealthyThreshold is < 1 or > 10) errors.Add("$.healthCheck.unhealthyThreshold", "must be between 1 and 10");
            if (service.Protocol == ServiceProtocol.Tcp && check.Path is not null) errors.Add("$.healthCheck.path", "a TCP service is checked by connecting; remove the path");
            if (service.Protocol != ServiceProtocol.Tcp && check.Path is not { } path) errors.Add("$.healthCheck.path", "is required for HTTP and gRPC services");
            else if (check.Path is { } p && !p.StartsWith('/')) errors.Add("$.healthCheck.path", "must start with '/'");
        }
        if (!Enum.IsDefined(service.DataPlane)) errors.Add("$.dataPlane", "must be envoy or proxyless-grpc");
        if (service.DataPlane == DataPlane.ProxylessGrpc)
        {
            // No sidecar: nothing terminates or originates the mesh's TLS for a gRPC application that speaks xDS itself.
            if (service.Policy.Mtls != MtlsMode.Disabled) errors.Add("$.dataPlane", "a proxyless gRPC service has no sidecar to terminate mTLS: its policy's mtls must be DISABLED");
            for (var i = 0; i < service.Backends.Length; i++)
            {
                if (mesh.Services.TryGetValue(service.Backends[i], out var backend) && backend.Policy.Mtls == MtlsMode.Strict)
                    errors.Add($"$.backends[{i}]", $"'{backend.Name}' takes only mTLS, which a proxyless gRPC client does not originate");
            }
        }
        ValidateProxyIdentities(service.ProxyIdentities, errors);
        return errors.List;
    }

    /// <summary>IAM role ARNs (arn:PARTITION:iam::ACCOUNT:role/NAME, a path allowed) and SPIFFE IDs, each list bounded.</summary>
    private static void ValidateProxyIdentities(ProxyIdentities identities, Errors errors)
    {
        if (identities.IamRoles.Length > EditLimits.MaxAllowedCallers) errors.Add("$.proxyIdentities.iamRoles", $"at most {EditLimits.MaxAllowedCallers}");
        if (identities.SpiffeIds.Length > EditLimits.MaxAllowedCallers) errors.Add("$.proxyIdentities.spiffeIds", $"at most {EditLimits.MaxAllowedCallers}");
        for (var i = 0; i < identities.IamRoles.Length; i++)
        {
            if (identities.IamRoles[i] is not { } role || !IamRoleArn().IsMatch(role))
                errors.Add($"$.proxyIdentities.iamRoles[{i}]", "must be an IAM role ARN: arn:aws:iam::123456789012:role/NAME");
        }
        for (var i = 0; i < identities.SpiffeIds.Length; i++)
        {
            if (identities.SpiffeIds[i] is not { } id || !SpiffeId().IsMatch(id))
                errors.Add($"$.proxyIdentities.spiffeIds[{i}]", "must be a SPIFFE ID: spiffe://TRUST-DOMAIN/PATH");
        }
    }

    private static List<FieldError> ValidateRoutes(ServiceDefinition service)
    {
        var errors = new Errors(RoutesResource(service.Name));
        var routes = service.Routes;
        if (routes.Length == 0) return errors.List;
        if (service.Protocol == ServiceProtocol.Tcp) errors.Add("$.routes", "a TCP service has no HTTP routes");
        if (routes.Length > EditLimits.MaxRoutes) errors.Add("$.routes", $"at most {EditLimits.MaxRoutes} routes");
        for (var i = 0; i < routes.Length; i++)
        {
            var route = routes[i];
            var at = $"$.routes[{i}]";
            if (!IsDnsLabel(route.Name)) errors.Add($"{at}.name", DnsLabelRule);
            else if (routes.Take(i).Any(r => r.Name == route.Name)) errors.Add($"{at}.name", $"route '{route.Name}' is defined twice");
            ValidateMatch(route.Match, $"{at}.match", errors);
            ValidateTargets(service, route, at, errors);
            if (route.TimeoutMs is < 0 or > 3_600_000) errors.Add($"{at}.timeoutMs", "must be between 0 (none) and 3600000");
            if (route.IdleTimeoutMs is < 0 or > 3_600_000) errors.Add($"{at}.idleTimeoutMs", "must be between 0 (none) and 3600000");
            if (route.MaxStreamDurationMs is < 1 or > 86_400_000) errors.Add($"{at}.maxStreamDurationMs", "must be between 1 and 86400000");
            if (route.Retry is { } retry) ValidateRetry(retry, route, $"{at}.retry", errors);
            for (var earlier = 0; earlier < i; earlier++)
            {
                if (!RouteShadowing.Covers(routes[earlier].Match, route.Match)) continue;
                errors.Add($"{at}.match", $"can never match: route '{routes[earlier].Name}' ($.routes[{earlier}]) comes first and matches every request this one would");
                break;
            }
        }
        return errors.List;
    }

    private static void ValidateMatch(RouteMatch match, string at, Errors errors)
    {
        var specifiers = new[] { match.Prefix, match.Path, match.Regex }.Count(s => s is not null);
        if (specifiers > 1) errors.Add(at, "set at most one of prefix, path and regex");
        if (match.Prefix is { } prefix && !prefix.StartsWith('/')) errors.Add($"{at}.prefix", "must start with '/'");
        if (match.Path is { } path && !path.StartsWith('/')) errors.Add($"{at}.path", "must start with '/'");
        if (match.Regex is { } regex) CheckRegex(regex, $"{at}.regex", errors);
        if (match.Method is { } method && !Methods.Contains(method)) errors.Add($"{at}.method", $"must be one of {string.Join(", ", Methods)}");
        for (var h = 0; h < match.Headers.Length; h++)
        {
            var header = match.Headers[h];
            var hat = $"{at}.headers[{h}]";
            if (!HeaderName().IsMatch(header.Name)) errors.Add($"{hat}.name", "must be a lowercase HTTP header name");
            if (new object?[] { header.Exact, header.Prefix, header.Regex, header.Present }.Count(v => v is not null) != 1)
                errors.Add(hat, "set exactly one of exact, prefix, regex and present");
            if (header.Prefix is "") errors.Add($"{hat}.prefix", "must not be empty");
            if (header.Regex is { } headerRegex) CheckRegex(headerRegex, $"{hat}.regex", errors);
        }
        for (var q = 0; q < match.QueryParameters.Length; q++)
        {
            var query = match.QueryParameters[q];
            var qat = $"{at}.queryParameters[{q}]";
            if (string.IsNullOrEmpty(query.Name) || query.Name.Length > 1024) errors.Add($"{qat}.name", "is required");
            if (new object?[] { query.Exact, query.Regex, query.Present }.Count(v => v is not null) != 1)
                errors.Add(qat, "set exactly one of exact, regex and present");
            if (query.Regex is { } queryRegex) CheckRegex(queryRegex, $"{qat}.regex", errors);
        }
    }

    private static void ValidateTargets(ServiceDefinition service, RouteRule route, string at, Errors errors)
    {
        if (route.Targets.Length is 0 or > EditLimits.MaxTargetsPerRoute)
        {
            errors.Add($"{at}.targets", $"needs 1 to {EditLimits.MaxTargetsPerRoute} targets");
            return;
        }
        for (var t = 0; t < route.Targets.Length; t++)
        {
            var target = route.Targets[t];
            if (target.Weight is < 0 or > 100) errors.Add($"{at}.targets[{t}].weight", "must be between 0 and 100");
            if (target.Subset is { } subset && !service.Subsets.Any(s => s.Name == subset))
                errors.Add($"{at}.targets[{t}].subset", $"service '{service.Name}' has no subset '{subset}'");
            if (route.Targets.Take(t).Any(other => other.Subset == target.Subset))
                errors.Add($"{at}.targets[{t}].subset", "targets the same subset as an earlier target");
        }
        // Summed as long: two weights of int.MaxValue must be refused, not overflow.
        var total = route.Targets.Sum(t => (long)t.Weight);
        if (total != 100) errors.Add($"{at}.targets", $"weights must add up to 100, not {total}");
    }

    private static void ValidateRetry(RetryPolicy retry, RouteRule route, string at, Errors errors)
    {
        if (retry.On.Length == 0) errors.Add($"{at}.on", "name at least one condition");
        for (var c = 0; c < retry.On.Length; c++)
        {
            if (!RetryConditions.Contains(retry.On[c])) errors.Add($"{at}.on[{c}]", $"'{retry.On[c]}' is not one of {string.Join(", ", RetryConditions)}");
        }
        if (retry.Attempts is < 1 or > 10) errors.Add($"{at}.attempts", "must be between 1 and 10");
        if (retry.PerTryTimeoutMs is { } perTry && (perTry < 1 || (route.TimeoutMs is > 0 and var total && perTry > total)))
            errors.Add($"{at}.perTryTimeoutMs", "must be at least 1 and at most the route's timeoutMs");
        if (retry.BackoffBaseMs is < 1 or > 60_000) errors.Add($"{at}.backoffBaseMs", "must be between 1 and 60000");
        if (retry.BackoffMaxMs is { } max && (max < retry.BackoffBaseMsOrDefault || max > 300_000)) errors.Add($"{at}.backoffMaxMs", "must be at least backoffBaseMs and at most 300000");
    }

    private static List<FieldError> ValidatePolicy(MeshState mesh, ServiceDefinition service)
    {
        var policy = service.Policy;
        var errors = new Errors(PolicyResource(service.Name));
        if (!Enum.IsDefined(policy.LoadBalancing)) errors.Add("$.loadBalancing", "must be ROUND_ROBIN, LEAST_REQUEST or RANDOM");
        if (!Enum.IsDefined(policy.Mtls)) errors.Add("$.mtls", "must be STRICT, PERMISSIVE or DISABLED");
        if (policy.ZoneAware?.MinClusterSize is < 1 or > 10_000) errors.Add("$.zoneAware.minClusterSize", "must be between 1 and 10000");
        if (policy.RequestTimeoutMs is < 0 or > 3_600_000) errors.Add("$.requestTimeoutMs", "must be between 0 (none) and 3600000");
        if (policy.MaxStreamDurationMs is < 1 or > 86_400_000) errors.Add("$.maxStreamDurationMs", "must be between 1 and 86400000");
        if (policy.ConnectionPool is { } pool)
        {
            CheckLimit(pool.MaxConnections, "$.connectionPool.maxConnections");
            CheckLimit(pool.MaxPendingRequests, "$.connectionPool.maxPendingRequests");
            CheckLimit(pool.MaxRequests, "$.connectionPool.maxRequests");
            CheckLimit(pool.MaxRetries, "$.connectionPool.maxRetries");
        }
        if (policy.OutlierDetection is { } outlier)
        {
            if (outlier.Consecutive5xx is < 1 or > 1000) errors.Add("$.outlierDetection.consecutive5xx", "must be between 1 and 1000");
            if (outlier.IntervalMs is < 100 or > 3_600_000) errors.Add("$.outlierDetection.intervalMs", "must be between 100 and 3600000");
            if (outlier.BaseEjectionMs is < 100 or > 3_600_000) errors.Add("$.outlierDetection.baseEjectionMs", "must be between 100 and 3600000");
            if (outlier.MaxEjectionPercent is < 0 or > 100) errors.Add("$.outlierDetection.maxEjectionPercent", "must be between 0 and 100");
        }
        for (var i = 0; i < policy.AllowedCallers.Length; i++)
        {
            var caller = policy.AllowedCallers[i];
            if (!mesh.HasFleet(caller)) errors.Add($"$.allowedCallers[{i}]", $"'{caller}' is neither a service nor a gateway of mesh '{mesh.Name}'");
        }
        if (policy.AllowedCallers.Length > 0 && policy.Mtls != MtlsMode.Strict)
            errors.Add("$.allowedCallers", "callers are identified by their certificates, so this needs mtls STRICT");
        if (policy.Observability is { } own) ValidateObservabilityOverride(own, errors);
        return errors.List;

        void CheckLimit(int? value, string path)
        {
            if (value is < 1 or > 1_000_000) errors.Add(path, "must be between 1 and 1000000");
        }
    }

    /// <summary>
    /// Envoy compiles regexes with RE2. .NET's non-backtracking engine refuses the same constructs RE2 lacks
    /// (backreferences, lookaround); the program-size estimate refuses what RE2's syntax lacks beyond that and what
    /// Envoy would refuse as too large.
    /// </summary>
    private static void CheckRegex(string pattern, string path, Errors errors)
    {
        if (pattern.Length is 0 or > 1024)
        {
            errors.Add(path, "must be 1 to 1024 characters");
            return;
        }
        try
        {
            _ = new Regex(pattern, RegexOptions.NonBacktracking, TimeSpan.FromSeconds(1));
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            errors.Add(path, $"does not compile: {e.Message}");
            return;
        }
        switch (Re2ProgramSize.Estimate(pattern, out var unsupported))
        {
            case null:
                errors.Add(path, $"uses {unsupported}: write it in RE2's syntax (https://github.com/google/re2/wiki/Syntax)");
                break;
            case > Re2ProgramSize.EnvoyErrorLevel and var size:
                errors.Add(path, $"compiles to about {size} RE2 instructions; Envoy refuses a regex above {Re2ProgramSize.EnvoyErrorLevel} " +
                    "(re2.max_program_size.error_level) and with it the whole route table: shorten it or split it over several routes");
                break;
        }
    }

    private sealed class Errors(string resource)
    {
        public List<FieldError> List { get; } = [];

        public void Add(string path, string message) => List.Add(new FieldError(resource, path, message));
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex(@"^(\*\.)?[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*$")]
    private static partial Regex HostName();

    [GeneratedRegex("^:?[a-z0-9!#$%&'*+.^_`|~-]+$")]
    private static partial Regex HeaderName();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")]
    private static partial Regex PlatformName();

    [GeneratedRegex(@"^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/([\x21-\x7e]{1,511}/)?[\w+=,.@-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex IamRoleArn();

    [GeneratedRegex(@"^spiffe://[a-z0-9.-]{1,255}(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$", RegexOptions.CultureInvariant)]
    private static partial Regex SpiffeId();
}
