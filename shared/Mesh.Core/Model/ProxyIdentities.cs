using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace Mesh.Core.Model;

/// <summary>
/// Who may fetch a fleet's configuration, besides the holder of the fleet's own mesh certificate: IAM roles (an ECS
/// task role, an EKS pod role; a call signed with the role's session matches it) and further SPIFFE IDs.
/// </summary>
public sealed record ProxyIdentities
{
    public ImmutableArray<string> IamRoles { get; init => field = value.IsDefault ? [] : value; } = [];
    public ImmutableArray<string> SpiffeIds { get; init => field = value.IsDefault ? [] : value; } = [];
}

/// <summary>What runs beside a service's application: an Envoy sidecar, or nothing, the application being a gRPC client that speaks xDS itself.</summary>
public enum DataPlane
{
    [JsonStringEnumMemberName("envoy")] Envoy,
    [JsonStringEnumMemberName("proxyless-grpc")] ProxylessGrpc,
}
