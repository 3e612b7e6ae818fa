using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Hosting;

/// <summary>
/// Who is calling. In AWS the HTTP API authorizes admin routes with IAM, and the Lambda Web Adapter passes the
/// request context in x-amzn-request-context: the caller is its authorizer.iam.userArn (Auth:Mode=Iam; the
/// header is trusted only then, since only API Gateway can invoke the function). Elsewhere a bearer token from
/// configuration (Auth:Tokens:{principal} = token) names the caller.
/// </summary>
public static class Auth
{
    public const string OperatorPolicy = "operator";
    private const string SchemeName = "mesh";

    public static IServiceCollection AddMeshAuth(this IServiceCollection services)
    {
        // Both functions ask for it, and the local host runs both.
        if (services.Any(s => s.ServiceType == typeof(CallerAuthenticationHandler))) return services;
        services.AddSingleton<CallerSettings>();
        services.AddAuthentication(SchemeName).AddScheme<AuthenticationSchemeOptions, CallerAuthenticationHandler>(SchemeName, null);
        services.AddAuthorizationBuilder().AddPolicy(OperatorPolicy, p => p.RequireAuthenticatedUser());
        return services;
    }

    /// <summary>The principal recorded as a change's actor.</summary>
    public static string Actor(this HttpContext context) => context.User.Identity?.Name ?? "anonymous";

    /// <summary>How callers are named, read from configuration once (not on every request): Auth:Mode and Auth:Tokens.</summary>
    public sealed class CallerSettings(IConfiguration configuration)
    {
        /// <summary>Behind API Gateway with IAM authorization (Auth:Mode=Iam): the caller is the request context's IAM principal.</summary>
        public bool Iam { get; } = string.Equals(configuration["Auth:Mode"], "Iam", StringComparison.OrdinalIgnoreCase);

        /// <summary>Each principal's bearer token (Auth:Tokens:{principal} = token).</summary>
        public IReadOnlyList<(string Principal, byte[] Token)> Tokens { get; } =
            [.. configuration.GetSection("Auth:Tokens").GetChildren().Where(e => e.Value is { Length: > 0 }).Select(e => (e.Key, Encoding.UTF8.GetBytes(e.Value!)))];
    }

    private sealed class CallerAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, CallerSettings settings)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var principal = settings.Iam ? IamCaller() : TokenHolder();
            if (principal is null) return Task.FromResult(AuthenticateResult.NoResult());
            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, principal)], SchemeName);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
        }

        protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
        {
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            Response.Headers.WWWAuthenticate = "Bearer";
            await Problems.Status(StatusCodes.Status401Unauthorized, "Not authenticated",
                "writes need a caller: a bearer token (Authorization: Bearer ...) or, in AWS, SigV4-signed requests").ExecuteAsync(Context);
        }

        private string? IamCaller()
        {
            if (Request.Headers["x-amzn-request-context"].FirstOrDefault() is not { Length: > 0 } header) return null;
            try
            {
                using var context = JsonDocument.Parse(header);
                return context.RootElement.TryGetProperty("authorizer", out var authorizer)
                    && authorizer.TryGetProperty("iam", out var iam)
                    && iam.TryGetProperty("userArn", out var arn) && arn.GetString() is { Length: > 0 } userArn ? userArn : null;
            }
            catch (JsonException)
            {
                return null;
            }
        }

        private string? TokenHolder()
        {
            if (Request.Headers.Authorization.FirstOrDefault() is not { } header || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return null;
            var presented = Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim());
            foreach (var (principal, token) in settings.Tokens)
            {
                if (CryptographicOperations.FixedTimeEquals(presented, token)) return principal;
            }
            return null;
        }
    }
}
