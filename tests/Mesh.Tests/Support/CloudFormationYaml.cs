using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace Mesh.Tests.Support;

/// <summary>
/// Reads a CloudFormation YAML template into JSON, turning the short tags into their long forms (!Ref X →
/// {"Ref":"X"}, !GetAtt A.B → {"Fn::GetAtt":["A","B"]}, !Sub s → {"Fn::Sub":"s"}, and so on). Scalars stay strings.
/// </summary>
public static class CloudFormationYaml
{
    public static JsonObject Load(string path)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(path);
        stream.Load(reader);
        return Convert(stream.Documents[0].RootNode)!.AsObject();
    }

    private static JsonNode? Convert(YamlNode node)
    {
        JsonNode? value = node switch
        {
            YamlScalarNode scalar => TagOf(node) == "!GetAtt"
                ? new JsonArray([.. scalar.Value!.Split('.', 2).Select(p => (JsonNode)p)])
                : scalar.Value is null ? null : JsonValue.Create(scalar.Value),
            YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(Convert)]),
            YamlMappingNode mapping => new JsonObject(mapping.Children.Select(p => KeyValuePair.Create(((YamlScalarNode)p.Key).Value!, Convert(p.Value)))),
            _ => throw new InvalidDataException($"unexpected YAML node {node.GetType().Name}"),
        };
        var tag = TagOf(node);
        if (tag is null || !tag.StartsWith('!') || tag.StartsWith("!!", StringComparison.Ordinal)) return value;
        return new JsonObject { [tag == "!Ref" ? "Ref" : "Fn::" + tag[1..]] = value };
    }

    private static string? TagOf(YamlNode node) => node.Tag.IsEmpty || node.Tag.IsNonSpecific ? null : node.Tag.Value;

    /// <summary>The names an intrinsic value refers to: Ref targets, GetAtt resources, and ${Name} or ${Name.Attr} inside Sub.</summary>
    public static IEnumerable<string> References(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o when o["Ref"] is JsonValue name:
                yield return name.GetValue<string>();
                break;
            case JsonObject o when o["Fn::GetAtt"] is JsonArray getAtt:
                yield return getAtt[0]!.GetValue<string>();
                break;
            case JsonObject o when o["Fn::Sub"] is JsonValue sub:
                foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(sub.GetValue<string>(), @"\$\{([A-Za-z0-9:]+)(\.[A-Za-z0-9]+)?\}"))
                    yield return m.Groups[1].Value;
                break;
            case JsonObject o:
                foreach (var child in o) foreach (var r in References(child.Value)) yield return r;
                break;
            case JsonArray a:
                foreach (var child in a) foreach (var r in References(child)) yield return r;
                break;
        }
    }
}
