using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Mesh.Api;

/// <summary>
/// What the serializer lets through but an edit body must not have: a key given twice (which one would win is a
/// guess), a field the endpoint does not take (one the type ignores, like a service's routes, which are edited at
/// their own resource), a null inside an array, and control characters in a string (a NUL or a newline reaches
/// stores, logs and proxies). Checked against the body's type, before it is deserialized.
/// </summary>
public static class StrictJson
{
    public readonly record struct Problem(string Path, string Message);

    public static Problem? FirstProblem(ReadOnlySpan<byte> json, JsonTypeInfo type)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException)
        {
            // Not JSON at all: the serializer says where, with the path it reached.
            return null;
        }
        using (document) return Walk("$", document.RootElement, type);
    }

    private static Problem? Walk(string path, JsonElement element, JsonTypeInfo type)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object when type.Kind == JsonTypeInfoKind.Object:
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    if (!seen.Add(property.Name)) return new Problem($"{path}.{property.Name}", "is given twice; give each field once");
                    var known = type.Properties.FirstOrDefault(p => p.Name == property.Name && p.Set is not null);
                    if (known is null) return new Problem($"{path}.{property.Name}", $"is not a field of this resource");
                    if (Walk($"{path}.{property.Name}", property.Value, type.Options.GetTypeInfo(known.PropertyType)) is { } problem) return problem;
                }
                return null;
            case JsonValueKind.Array when type.Kind == JsonTypeInfoKind.Enumerable && type.ElementType is { } elementType:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.Null) return new Problem($"{path}[{i}]", "is null; leave it out instead");
                    if (Walk($"{path}[{i}]", item, type.Options.GetTypeInfo(elementType)) is { } problem) return problem;
                    i++;
                }
                return null;
            case JsonValueKind.String when element.GetString()!.Any(char.IsControl):
                return new Problem(path, "contains control characters");
            default:
                // Other scalars, and shapes that do not match the type: the serializer names those.
                return null;
        }
    }
}
