using System.Text.Json;
using Mesh.Core.Model;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Editing;

/// <summary>
/// Strong ETags for the editable resources, from their stored JSON: an edit that restores a resource's content
/// restores its ETag, and an edit of one resource leaves the others' ETags alone.
/// </summary>
public static class ResourceTags
{
    public static string Mesh(MeshState mesh) => Quote($"r{mesh.Revision}");

    public static string Service(ServiceDefinition service) =>
        Of(JsonSerializer.SerializeToUtf8Bytes(service, CanonicalJson.Default.ServiceDefinition));

    public static string Routes(ServiceDefinition service) =>
        Of(JsonSerializer.SerializeToUtf8Bytes(new RouteTable { Routes = service.Routes }, CanonicalJson.Default.RouteTable));

    public static string Policy(ServiceDefinition service) =>
        Of(JsonSerializer.SerializeToUtf8Bytes(service.Policy, CanonicalJson.Default.ServicePolicy));

    public static string Gateway(GatewayDefinition gateway) =>
        Of(JsonSerializer.SerializeToUtf8Bytes(gateway, CanonicalJson.Default.GatewayDefinition));

    public static string Settings(MeshSettings settings) =>
        Of(JsonSerializer.SerializeToUtf8Bytes(settings, CanonicalJson.Default.MeshSettings));

    private static string Of(byte[] json) => Quote(ContentHash.Of(json)[..16]);

    private static string Quote(string tag) => $"\"{tag}\"";
}
