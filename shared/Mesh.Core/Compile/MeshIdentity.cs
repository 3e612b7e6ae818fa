namespace Mesh.Core.Compile;

/// <summary>The identity a service's certificate carries, and the one its peers check for.</summary>
public static class MeshIdentity
{
    public static string Of(XdsSettings settings, string mesh, string service) => $"spiffe://{settings.TrustDomain}/mesh/{mesh}/service/{service}";
}
