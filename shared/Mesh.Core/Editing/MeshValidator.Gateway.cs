using Mesh.Core.Compile;
using Mesh.Core.Model;

namespace Mesh.Core.Editing;

public static partial class MeshValidator
{
    public static string GatewayResource(string gateway) => $"gateways/{gateway}";

    /// <summary>
    /// A gateway: its listeners (one per port), its routes in order (none shadowed by an earlier one, each reaching a
    /// listener and a service port that speaks HTTP), rewrites that fit their match, and exact hostnames that no other
    /// gateway routes (a name resolves to one gateway's load balancer).
    /// </summary>
    private static List<FieldError> ValidateGateway(MeshState mesh, GatewayDefinition gateway, XdsSettings settings)
    {
        var errors = new Errors(GatewayResource(gateway.Name));
        if (!IsDnsLabel(gateway.Name)) errors.Add("$.name", DnsLabelRule);
        else if (mesh.Services.ContainsKey(gateway.Name)) errors.Add("$.name", $"'{gateway.Name}' is a service of mesh '{mesh.Name}'; a gateway's fleet needs a name of its own");
        if (gateway.Listeners.IsEmpty) errors.Add("$.listeners", "name at least one listener");
        for (var i = 0; i < gateway.Listeners.Length; i++) ValidateListener(gateway, i, settings, errors);
        if (gateway.Observability is { } own) ValidateObservabilityOverride(own, errors);
        ValidateProxyIdentities(gateway.ProxyIdentities, errors);
        for (var i = 0; i < gateway.Routes.Length; i++) ValidateGatewayRoute(mesh, gateway, i, errors);
        return errors.List;
    }

    private static void ValidateListener(GatewayDefinition gateway, int index, XdsSettings settings, Errors errors)
    {
        var listener = gateway.Listeners[index];
        var at = $"$.listeners[{index}]";
        if (listener.Port is < 1 or > 65535) errors.Add($"{at}.port", "must be between 1 and 65535");
        else if (listener.Port == settings.AdminPort) errors.Add($"{at}.port", $"is Envoy's admin port {settings.AdminPort}");
        else if (gateway.Listeners.Take(index).Any(l => l.Port == listener.Port)) errors.Add($"{at}.port", $"port {listener.Port} is already a listener of this gateway");
        if (!Enum.IsDefined(listener.Protocol)) errors.Add($"{at}.protocol", "must be http, http2 or grpc");
        if (listener.Tls is { } tls)
        {
            CheckFile(tls.CertificateChain, $"{at}.tls.certificateChain");
            CheckFile(tls.PrivateKey, $"{at}.tls.privateKey");
            if (tls.ClientValidation is { } client)
            {
                CheckFile(client.TrustedCa, $"{at}.tls.clientValidation.trustedCa");
                if (client.SubjectAltNames.Length > EditLimits.MaxAllowedCallers)
                    errors.Add($"{at}.tls.clientValidation.subjectAltNames", $"at most {EditLimits.MaxAllowedCallers}");
                for (var s = 0; s < client.SubjectAltNames.Length; s++)
                {
                    if (client.SubjectAltNames[s] is not { Length: > 0 and <= EditLimits.MaxTextLength })
                        errors.Add($"{at}.tls.clientValidation.subjectAltNames[{s}]", $"must be 1 to {EditLimits.MaxTextLength} characters");
                }
            }
        }
        if (listener.Limits is { } limits)
        {
            if (limits.MaxConnections is < 1 or > 1_000_000) errors.Add($"{at}.limits.maxConnections", "must be between 1 and 1000000");
            if (limits.MaxConcurrentStreams is < 1 or > 2_147_483_647) errors.Add($"{at}.limits.maxConcurrentStreams", "must be at least 1");
            if (limits.MaxConcurrentStreams is not null && listener.Protocol == GatewayProtocol.Http)
                errors.Add($"{at}.limits.maxConcurrentStreams", "applies to http2 and grpc listeners");
        }

        // The gateway writes these into its SDS files (JSON) from a shell command: plain absolute paths only.
        void CheckFile(string path, string field)
        {
            if (!CertificatePath().IsMatch(path)) errors.Add(field, "must be an absolute path of letters, digits and . _ - / (at most 256 characters)");
        }
    }

    private static void ValidateGatewayRoute(MeshState mesh, GatewayDefinition gateway, int index, Errors errors)
    {
        var route = gateway.Routes[index];
        var at = $"$.routes[{index}]";
        var match = route.Match;
        if (!IsDnsLabel(route.Name)) errors.Add($"{at}.name", DnsLabelRule);
        else if (gateway.Routes.Take(index).Any(r => r.Name == route.Name)) errors.Add($"{at}.name", $"route '{route.Name}' is defined twice");

        var listeners = GatewayRouting.ListenersOf(gateway, route).ToList();
        if (match.Port is { } port && !gateway.Listeners.Any(l => l.Port == port))
            errors.Add($"{at}.match.port", $"port {port} is not a listener of this gateway");
        if (new[] { match.Prefix, match.Path, match.Regex, match.GrpcService }.Count(s => s is not null) > 1)
            errors.Add($"{at}.match", "set at most one of prefix, path, regex and grpcService");
        if (match.GrpcService is { } grpc)
        {
            if (!GrpcServiceName().IsMatch(grpc)) errors.Add($"{at}.match.grpcService", "must be a gRPC service name such as 'shop.v1.Checkout'");
            if (listeners.Any(l => l.Protocol != GatewayProtocol.Grpc)) errors.Add($"{at}.match.grpcService", "applies to grpc listeners: set match.port to one");
        }
        ValidateMatch(match.ToRouteMatch() with { Prefix = match.Prefix }, $"{at}.match", errors);
        if (match.Hostname is { } host)
        {
            if ((host.Exact is null) == (host.Suffix is null)) errors.Add($"{at}.match.hostname", "set exactly one of exact and suffix");
            if (host.Exact is { } exact && !HostName().IsMatch(exact)) errors.Add($"{at}.match.hostname.exact", "must be a DNS name");
            if (host.Suffix is { } suffix && !HostSuffix().IsMatch(suffix)) errors.Add($"{at}.match.hostname.suffix", "must be the end of a DNS name, such as 'example.com' or '.example.com'");
            if (host.Exact is { } claimed && mesh.Gateways.Values.FirstOrDefault(g => g.Name != gateway.Name && g.Routes.Any(r => string.Equals(r.Match.Hostname?.Exact, claimed, StringComparison.OrdinalIgnoreCase))) is { } other)
                errors.Add($"{at}.match.hostname.exact", $"'{claimed}' is routed by gateway '{other.Name}' too; a name resolves to one gateway's load balancer");
        }

        ValidateGatewayTarget(mesh, route, at, errors);
        ValidateRewrite(route, listeners, at, errors);
        if (route.TimeoutMs is < 0 or > 3_600_000) errors.Add($"{at}.timeoutMs", "must be between 0 (none) and 3600000");
        if (route.IdleTimeoutMs is < 0 or > 3_600_000) errors.Add($"{at}.idleTimeoutMs", "must be between 0 (none) and 3600000");
        if (route.Retry is { } retry) ValidateRetry(retry, new RouteRule { TimeoutMs = route.TimeoutMs }, $"{at}.retry", errors);

        for (var earlier = 0; earlier < index; earlier++)
        {
            if (!RouteShadowing.Covers(gateway.Routes[earlier], route)) continue;
            errors.Add($"{at}.match", $"can never match: route '{gateway.Routes[earlier].Name}' ($.routes[{earlier}]) comes first and matches every request this one would");
            break;
        }
    }

    private static void ValidateGatewayTarget(MeshState mesh, GatewayRoute route, string at, Errors errors)
    {
        var target = route.Target;
        if (!mesh.Services.TryGetValue(target.Service, out var service))
        {
            errors.Add($"{at}.target.service", $"'{target.Service}' is not a service of mesh '{mesh.Name}'");
            return;
        }
        var port = target.Port is { } number ? service.Ports.FirstOrDefault(p => p.Port == number) : service.Ports.First();
        if (port is null) errors.Add($"{at}.target.port", $"service '{service.Name}' has no port {target.Port}");
        else if (port.Protocol == ServiceProtocol.Tcp) errors.Add($"{at}.target.port", $"service '{service.Name}' speaks TCP on port {port.Port}; a gateway routes HTTP and gRPC");
        if (target.Subsets.IsEmpty) return;
        if (port is not null && port.Port != service.Port) errors.Add($"{at}.target.subsets", "subsets are of the service's main port");
        for (var t = 0; t < target.Subsets.Length; t++)
        {
            var subset = target.Subsets[t];
            if (subset.Weight is < 0 or > 100) errors.Add($"{at}.target.subsets[{t}].weight", "must be between 0 and 100");
            if (subset.Subset is not { } name) errors.Add($"{at}.target.subsets[{t}].subset", "is required");
            else if (!service.Subsets.Any(s => s.Name == name)) errors.Add($"{at}.target.subsets[{t}].subset", $"service '{service.Name}' has no subset '{name}'");
            if (target.Subsets.Take(t).Any(other => other.Subset == subset.Subset)) errors.Add($"{at}.target.subsets[{t}].subset", "is named by an earlier target too");
        }
        var total = target.Subsets.Sum(t => (long)t.Weight);
        if (total != 100) errors.Add($"{at}.target.subsets", $"weights must add up to 100, not {total}");
    }

    private static void ValidateRewrite(GatewayRoute route, IReadOnlyList<GatewayListener> listeners, string at, Errors errors)
    {
        if (route.Rewrite is not { } rewrite) return;
        var match = route.Match;
        var pathRewrite = rewrite.Prefix is not null || rewrite.Path is not null;
        if (pathRewrite && listeners.Any(l => l.Protocol == GatewayProtocol.Grpc))
            errors.Add($"{at}.rewrite", "a gRPC call's path names its method, so a route that rewrites paths cannot reach a grpc listener: set match.port to an http or http2 listener");
        if (rewrite.Prefix is { } prefix)
        {
            if (!prefix.StartsWith('/')) errors.Add($"{at}.rewrite.prefix", "must start with '/'");
            if (match.Path is not null || match.Regex is not null || match.GrpcService is not null) errors.Add($"{at}.rewrite.prefix", "rewrites a matched prefix: the route must match by prefix");
            else if ((match.Prefix ?? "/").EndsWith('/') && !prefix.EndsWith('/'))
                errors.Add($"{at}.rewrite.prefix", "must end with '/' as the matched prefix does, or a path's segments run together");
            if (rewrite.DefaultPrefix == false) errors.Add($"{at}.rewrite.defaultPrefix", "set prefix or defaultPrefix false, not both");
        }
        if (rewrite.Path is { } path)
        {
            if (!path.StartsWith('/')) errors.Add($"{at}.rewrite.path", "must start with '/'");
            if (match.Path is null && match.Regex is null) errors.Add($"{at}.rewrite.path", "replaces the whole path: the route must match a path or a regex");
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")]
    private static partial System.Text.RegularExpressions.Regex GrpcServiceName();

    [System.Text.RegularExpressions.GeneratedRegex(@"^\.?[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*$")]
    private static partial System.Text.RegularExpressions.Regex HostSuffix();
}
