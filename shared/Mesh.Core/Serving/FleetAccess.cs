using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Mesh.Core.Compile;
using Mesh.Core.Model;
using Mesh.Core.Ports;

namespace Mesh.Core.Serving;

/// <summary>What a proxy presented to prove which fleet it belongs to.</summary>
public abstract record ProxyCredential;

/// <summary>The IAM principal that signed the request (SigV4, checked by API Gateway): a role's session or a user.</summary>
public sealed record IamPrincipal(string Arn) : ProxyCredential;

/// <summary>The SPIFFE ID in the URI SAN of the client certificate the proxy connected with (checked against the mesh's CA).</summary>
public sealed record SpiffeId(string Id) : ProxyCredential;

/// <summary>A fleet token the control plane issued into the fleet's bootstrap (node.metadata).</summary>
public sealed record FleetToken(string Token) : ProxyCredential;

public enum AccessVerdict { Allowed, Unauthenticated, Forbidden }

public sealed record AccessDecision(AccessVerdict Verdict, string Reason)
{
    public static AccessDecision Allowed { get; } = new(AccessVerdict.Allowed, "");
}

/// <summary>
/// Per-fleet tokens: an HMAC of the fleet's name under a key only the control plane holds, so any of its processes
/// can check one without storing it. A token grants exactly one fleet.
/// </summary>
public sealed class FleetTokens(byte[] key)
{
    public const string MetadataKey = "mesh_fleet_token";
    private const string Prefix = "mft1.";

    public string Issue(FleetId fleet) => Prefix + Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(fleet.ToString())))
        .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public bool Grants(string token, FleetId fleet) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(Issue(fleet)));
}

/// <summary>
/// Whether a proxy may have a fleet's configuration. When proxy identity is required, it must present a credential
/// that names this fleet: the fleet's own SPIFFE ID or one its service lists, an IAM role its service lists, or the
/// fleet's token. Nothing presented is 401; something that proves another fleet (or nothing) is 403. The services'
/// lists are read from the desired state at most once per <see cref="PolicyLifetime"/> per mesh.
/// </summary>
public sealed class FleetAccess(IDesiredStateStore desired, XdsSettings settings, TimeProvider clock, FleetTokens? tokens = null)
{
    public static readonly TimeSpan PolicyLifetime = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<string, (MeshState? Mesh, DateTimeOffset ReadAt)> _meshes = new(StringComparer.Ordinal);

    public bool Required => settings.ProxyIdentityRequired;

    public async Task<AccessDecision> CheckAsync(FleetId fleet, IReadOnlyList<ProxyCredential> credentials, CancellationToken cancellationToken)
    {
        if (!settings.ProxyIdentityRequired) return AccessDecision.Allowed;
        if (credentials.Count == 0)
            return new(AccessVerdict.Unauthenticated, "a proxy must prove its fleet: a signed request, a client certificate, or the fleet token its bootstrap carries");
        var allowed = credentials.All(c => c is FleetToken) ? null : await IdentitiesAsync(fleet, cancellationToken);
        foreach (var credential in credentials)
        {
            if (Grants(credential, fleet, allowed)) return AccessDecision.Allowed;
        }
        return new(AccessVerdict.Forbidden, $"{Describe(credentials[0])} may not fetch the configuration of fleet '{fleet}'");
    }

    private bool Grants(ProxyCredential credential, FleetId fleet, ProxyIdentities? allowed) => credential switch
    {
        FleetToken token => tokens is not null && tokens.Grants(token.Token, fleet),
        SpiffeId spiffe => spiffe.Id == MeshIdentity.Of(settings, fleet.Mesh, fleet.Service) || allowed is not null && allowed.SpiffeIds.Contains(spiffe.Id, StringComparer.Ordinal),
        IamPrincipal iam => allowed is not null && allowed.IamRoles.Any(role => IamRoles.Matches(role, iam.Arn)),
        _ => false,
    };

    private async Task<ProxyIdentities?> IdentitiesAsync(FleetId fleet, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (!_meshes.TryGetValue(fleet.Mesh, out var cached) || now - cached.ReadAt >= PolicyLifetime)
        {
            cached = (await desired.GetMeshAsync(fleet.Mesh, cancellationToken), now);
            _meshes[fleet.Mesh] = cached;
        }
        return cached.Mesh?.ProxyIdentitiesOf(fleet.Service);
    }

    private static string Describe(ProxyCredential credential) => credential switch
    {
        IamPrincipal iam => $"IAM principal '{iam.Arn}'",
        SpiffeId spiffe => $"certificate identity '{spiffe.Id}'",
        FleetToken => "the fleet token presented",
        _ => "the caller",
    };
}

/// <summary>IAM role ARNs against the principal a SigV4 signature resolves to.</summary>
public static class IamRoles
{
    /// <summary>
    /// A role ARN (arn:aws:iam::ACCOUNT:role/PATH/NAME) matches itself and its sessions
    /// (arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION, which carry no path), in the same partition and account.
    /// </summary>
    public static bool Matches(string roleArn, string principalArn)
    {
        if (string.Equals(roleArn, principalArn, StringComparison.Ordinal)) return true;
        var role = roleArn.Split(':', 6);
        var principal = principalArn.Split(':', 6);
        if (role.Length != 6 || principal.Length != 6 || role[0] != "arn" || principal[0] != "arn") return false;
        if (role[1] != principal[1] || role[2] != "iam" || principal[2] != "sts" || role[4] != principal[4] || role[4].Length == 0) return false;
        if (!role[5].StartsWith("role/", StringComparison.Ordinal) || !principal[5].StartsWith("assumed-role/", StringComparison.Ordinal)) return false;
        var roleName = role[5][(role[5].LastIndexOf('/') + 1)..];
        var session = principal[5]["assumed-role/".Length..].Split('/');
        return session.Length == 2 && roleName.Length > 0 && session[0] == roleName;
    }
}
