using Mesh.Core.Model;

namespace Mesh.Core.Editing;

/// <summary>
/// Documented limits on what one service may hold, checked before anything else, so that refusing an oversized edit
/// costs little (10,000 routes are refused by their count, not by compiling 10,000 regexes and comparing each route
/// with every earlier one). Each is far above what a real service needs.
/// </summary>
public static class EditLimits
{
    public const int MaxServicesPerMesh = 5000;
    public const int MaxBackends = 200;
    public const int MaxSubsets = 50;
    public const int MaxHostnames = 50;
    public const int MaxRoutes = 100;
    public const int MaxTargetsPerRoute = 10;
    public const int MaxMatchesPerRoute = 20;
    public const int MaxRetryConditions = 16;
    public const int MaxAllowedCallers = 200;
    public const int MaxGatewaysPerMesh = 100;
    public const int MaxGatewayListeners = 10;
    public const int MaxGatewayRoutes = 200;
    /// <summary>Path, header and query regexes: short enough that RE2 compiles each in microseconds.</summary>
    public const int MaxRegexLength = 1024;
    /// <summary>Any other text field: names, values, versions, hostnames.</summary>
    public const int MaxTextLength = 1024;

    /// <summary>The limits this mesh exceeds, for the services and gateways that <paramref name="changed"/> names (null: all).</summary>
    public static IReadOnlyList<FieldError> Exceeded(MeshState mesh, IReadOnlySet<string>? changed = null)
    {
        var errors = new List<FieldError>();
        if (mesh.Services.Count > MaxServicesPerMesh)
            errors.Add(new FieldError($"meshes/{mesh.Name}", "$.services", $"a mesh may have at most {MaxServicesPerMesh} services"));
        if (mesh.Gateways.Count > MaxGatewaysPerMesh)
            errors.Add(new FieldError($"meshes/{mesh.Name}", "$.gateways", $"a mesh may have at most {MaxGatewaysPerMesh} gateways"));
        foreach (var service in mesh.Services.Values.Where(s => changed is null || changed.Contains(s.Name)))
        {
            Check(errors, MeshValidator.ServiceResource(service.Name), service);
            Check(errors, MeshValidator.RoutesResource(service.Name), service.Routes);
            Check(errors, MeshValidator.PolicyResource(service.Name), service.Policy);
        }
        foreach (var gateway in mesh.Gateways.Values.Where(g => changed is null || changed.Contains(g.Name)))
            Check(errors, MeshValidator.GatewayResource(gateway.Name), gateway);
        return errors;
    }

    private static void Check(List<FieldError> errors, string resource, GatewayDefinition gateway)
    {
        Count(errors, resource, "$.listeners", gateway.Listeners.Length, MaxGatewayListeners);
        if (Count(errors, resource, "$.routes", gateway.Routes.Length, MaxGatewayRoutes)) return;
        for (var r = 0; r < gateway.Routes.Length; r++)
        {
            var (route, at) = (gateway.Routes[r], $"$.routes[{r}]");
            Text(errors, resource, $"{at}.name", route.Name, MaxTextLength);
            Count(errors, resource, $"{at}.target.subsets", route.Target.Subsets.Length, MaxTargetsPerRoute);
            Text(errors, resource, $"{at}.match.hostname.exact", route.Match.Hostname?.Exact, MaxTextLength);
            Text(errors, resource, $"{at}.match.hostname.suffix", route.Match.Hostname?.Suffix, MaxTextLength);
            Text(errors, resource, $"{at}.match.grpcService", route.Match.GrpcService, MaxTextLength);
            Text(errors, resource, $"{at}.rewrite.prefix", route.Rewrite?.Prefix, MaxTextLength);
            Text(errors, resource, $"{at}.rewrite.path", route.Rewrite?.Path, MaxTextLength);
            CheckMatch(errors, resource, at, route.Match.ToRouteMatch() with { Prefix = route.Match.Prefix }, route.Retry);
        }
    }

    private static void Check(List<FieldError> errors, string resource, ServiceDefinition service)
    {
        Count(errors, resource, "$.backends", service.Backends.Length, MaxBackends);
        Count(errors, resource, "$.subsets", service.Subsets.Length, MaxSubsets);
        Count(errors, resource, "$.hostnames", service.Hostnames.Length, MaxHostnames);
        for (var i = 0; i < Math.Min(service.Subsets.Length, MaxSubsets); i++)
            Text(errors, resource, $"$.subsets[{i}].version", service.Subsets[i].Version, MaxTextLength);
        for (var i = 0; i < Math.Min(service.Hostnames.Length, MaxHostnames); i++)
            Text(errors, resource, $"$.hostnames[{i}]", service.Hostnames[i], MaxTextLength);
    }

    private static void Check(List<FieldError> errors, string resource, IReadOnlyList<RouteRule> routes)
    {
        if (Count(errors, resource, "$.routes", routes.Count, MaxRoutes)) return;
        for (var r = 0; r < routes.Count; r++)
        {
            var (route, at) = (routes[r], $"$.routes[{r}]");
            Text(errors, resource, $"{at}.name", route.Name, MaxTextLength);
            Count(errors, resource, $"{at}.targets", route.Targets.Length, MaxTargetsPerRoute);
            CheckMatch(errors, resource, at, route.Match, route.Retry);
        }
    }

    /// <summary>A route's match and retry conditions, at <paramref name="at"/>; the same for service and gateway routes.</summary>
    private static void CheckMatch(List<FieldError> errors, string resource, string at, RouteMatch match, RetryPolicy? retry)
    {
        Count(errors, resource, $"{at}.match.headers", match.Headers.Length, MaxMatchesPerRoute);
        Count(errors, resource, $"{at}.match.queryParameters", match.QueryParameters.Length, MaxMatchesPerRoute);
        if (retry is not null) Count(errors, resource, $"{at}.retry.on", retry.On.Length, MaxRetryConditions);
        Text(errors, resource, $"{at}.match.regex", match.Regex, MaxRegexLength);
        Text(errors, resource, $"{at}.match.prefix", match.Prefix, MaxTextLength);
        Text(errors, resource, $"{at}.match.path", match.Path, MaxTextLength);
        for (var h = 0; h < Math.Min(match.Headers.Length, MaxMatchesPerRoute); h++)
        {
            var header = match.Headers[h];
            Text(errors, resource, $"{at}.match.headers[{h}].regex", header.Regex, MaxRegexLength);
            Text(errors, resource, $"{at}.match.headers[{h}].exact", header.Exact, MaxTextLength);
            Text(errors, resource, $"{at}.match.headers[{h}].prefix", header.Prefix, MaxTextLength);
            Text(errors, resource, $"{at}.match.headers[{h}].name", header.Name, MaxTextLength);
        }
        for (var q = 0; q < Math.Min(match.QueryParameters.Length, MaxMatchesPerRoute); q++)
        {
            var query = match.QueryParameters[q];
            Text(errors, resource, $"{at}.match.queryParameters[{q}].regex", query.Regex, MaxRegexLength);
            Text(errors, resource, $"{at}.match.queryParameters[{q}].exact", query.Exact, MaxTextLength);
            Text(errors, resource, $"{at}.match.queryParameters[{q}].name", query.Name, MaxTextLength);
        }
    }

    private static void Check(List<FieldError> errors, string resource, ServicePolicy policy) =>
        Count(errors, resource, "$.allowedCallers", policy.AllowedCallers.Length, MaxAllowedCallers);

    /// <summary>True when over the limit.</summary>
    private static bool Count(List<FieldError> errors, string resource, string path, int count, int limit)
    {
        if (count <= limit) return false;
        errors.Add(new FieldError(resource, path, $"has {count} entries; the limit is {limit}"));
        return true;
    }

    private static void Text(List<FieldError> errors, string resource, string path, string? value, int limit)
    {
        if (value is { Length: var length } && length > limit) errors.Add(new FieldError(resource, path, $"is {length} characters long; the limit is {limit}"));
    }
}
