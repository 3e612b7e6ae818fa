using System.Text.Json.Nodes;
using System.Text.Json.Schema;
using Mesh.Core.Model;

namespace Mesh.Api;

/// <summary>The JSON Schema of the mesh document, generated from the same strict contract the API reads it with.</summary>
public static class MeshSpecSchema
{
    private static readonly Lazy<string> Schema = new(() =>
    {
        var schema = JsonSchemaExporter.GetJsonSchemaAsNode(EditJson.Default.MeshSpec, new JsonSchemaExporterOptions { TreatNullObliviousAsNonNullable = true });
        if (schema is JsonObject root)
        {
            root.Insert(0, "$schema", "https://json-schema.org/draft/2020-12/schema");
            root.Insert(1, "title", "Mesh Pipeline mesh document (PUT /v1/meshes/{mesh}/spec)");
        }
        return schema.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n";
    });

    public static string Text => Schema.Value;
}
