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
    /// <summary>Path, header and query regexes: short enough that RE2 compiles each in microseconds.</summary>
    public const int MaxRegexLength = 1024;
    /// <summary>Any other text field: names, values, versions, hostnames.</summary>
    public const int MaxTextLength = 1024;

    /// <summary>The limits this mesh exceeds, for the services that <paramref name="changed"/> names (null: all).</summary>
    public static IReadOnlyList<FieldError> Exceeded(MeshState mesh, IReadOnlySet<string>? changed = null)
    {
        var errors = new List<FieldError>();
        if (mesh.Services.Count > MaxServicesPerMesh)
            errors.Add(new FieldError($"meshes/{mesh.Name}", "$.services", $"a mesh may have at most {MaxServicesPerMesh} services"));
        foreach (var service in mesh.Services.Values.Where(s => changed is null || changed.Contains(s.Name)))
        {
            Check(errors, MeshValidator.ServiceResource(service.Name), service);
            Check(errors, MeshValidator.RoutesResource(service.Name), service.Routes);
            Check(errors, MeshValidator.PolicyResource(service.Name), service.Policy);
        }
        return errors;
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
            Count(errors, resource, $"{at}.match.headers", route.Match.Headers.Length, MaxMatchesPerRoute);
            Count(errors, resource, $"{at}.match.queryParameters", route.Match.QueryParameters.Length, MaxMatchesPerRoute);
            if (route.Retry is { } retry) Count(errors, resource, $"{at}.retry.on", retry.On.Length, MaxRetryConditions);
            Text(errors, resource, $"{at}.match.regex", route.Match.Regex, MaxRegexLength);
            Text(errors, resource, $"{at}.match.prefix", route.Match.Prefix, MaxTextLength);
            Text(errors, resource, $"{at}.match.path", route.Match.Path, MaxTextLength);
            for (var h = 0; h < Math.Min(route.Match.Headers.Length, MaxMatchesPerRoute); h++)
            {
                var header = route.Match.Headers[h];
                Text(errors, resource, $"{at}.match.headers[{h}].regex", header.Regex, MaxRegexLength);
                Text(errors, resource, $"{at}.match.headers[{h}].exact", header.Exact, MaxTextLength);
                Text(errors, resource, $"{at}.match.headers[{h}].prefix", header.Prefix, MaxTextLength);
                Text(errors, resource, $"{at}.match.headers[{h}].name", header.Name, MaxTextLength);
            }
            for (var q = 0; q < Math.Min(route.Match.QueryParameters.Length, MaxMatchesPerRoute); q++)
            {
                var query = route.Match.QueryParameters[q];
                Text(errors, resource, $"{at}.match.queryParameters[{q}].regex", query.Regex, MaxRegexLength);
                Text(errors, resource, $"{at}.match.queryParameters[{q}].exact", query.Exact, MaxTextLength);
                Text(errors, resource, $"{at}.match.queryParameters[{q}].name", query.Name, MaxTextLength);
            }
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
