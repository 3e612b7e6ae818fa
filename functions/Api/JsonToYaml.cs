using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Mesh.Api;

/// <summary>
/// JSON to YAML through YamlDotNet's event emitter (no reflection, so it survives Native AOT). Strings are
/// double-quoted so that a value like "on" or "1.0" stays a string for Envoy's YAML loader.
/// </summary>
public static class JsonToYaml
{
    public static string Convert(ReadOnlyMemory<byte> json)
    {
        using var document = JsonDocument.Parse(json);
        using var text = new StringWriter();
        var emitter = new Emitter(text);
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart());
        Write(emitter, document.RootElement);
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());
        return text.ToString();
    }

    private static void Write(IEmitter emitter, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                emitter.Emit(new MappingStart());
                foreach (var property in element.EnumerateObject())
                {
                    emitter.Emit(new Scalar(property.Name));
                    Write(emitter, property.Value);
                }
                emitter.Emit(new MappingEnd());
                break;
            case JsonValueKind.Array:
                emitter.Emit(new SequenceStart(null, null, false, SequenceStyle.Block));
                foreach (var item in element.EnumerateArray()) Write(emitter, item);
                emitter.Emit(new SequenceEnd());
                break;
            case JsonValueKind.String:
                emitter.Emit(new Scalar(null, null, element.GetString()!, ScalarStyle.DoubleQuoted, false, true));
                break;
            default:
                emitter.Emit(new Scalar(element.GetRawText()));
                break;
        }
    }
}
