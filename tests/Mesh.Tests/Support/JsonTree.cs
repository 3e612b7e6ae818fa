using System.Text.Json.Nodes;

namespace Mesh.Tests.Support;

public static class JsonTree
{
    /// <summary>A node and every node under it, depth first.</summary>
    public static IEnumerable<JsonNode> Descendants(JsonNode node) => node switch
    {
        JsonObject o => o.Select(p => p.Value).OfType<JsonNode>().SelectMany(Descendants).Prepend(node),
        JsonArray a => a.OfType<JsonNode>().SelectMany(Descendants).Prepend(node),
        _ => [node],
    };
}
