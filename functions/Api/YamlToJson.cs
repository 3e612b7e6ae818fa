using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Mesh.Api;

/// <summary>
/// YAML to JSON through YamlDotNet's parser events (no reflection, so it survives Native AOT), with YAML 1.2's core
/// schema for plain scalars: null, booleans, integers and floats; anything quoted stays a string. Anchors and
/// aliases are refused: a document that expands itself is not one an operator writes.
/// </summary>
public static partial class YamlToJson
{
    public static byte[] Convert(ReadOnlySpan<byte> yaml)
    {
        var parser = new Parser(new StringReader(Encoding.UTF8.GetString(yaml)));
        var buffer = new ArrayBufferWriter<byte>(yaml.Length + 256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            parser.Consume<StreamStart>();
            if (parser.Accept<StreamEnd>(out _)) throw new YamlException("the document is empty");
            parser.Consume<DocumentStart>();
            Write(parser, w, 0);
            parser.Consume<DocumentEnd>();
            if (!parser.Accept<StreamEnd>(out _)) throw new YamlException("send one document, not several");
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Far deeper than any mesh document; deeper input is an attack on the writer's stack.</summary>
    public const int MaxDepth = 64;

    private static void Write(IParser parser, Utf8JsonWriter w, int depth)
    {
        if (depth > MaxDepth) throw new YamlException($"nested deeper than {MaxDepth} levels");
        if (parser.TryConsume<Scalar>(out var scalar))
        {
            Scalar(w, scalar);
        }
        else if (parser.TryConsume<SequenceStart>(out var sequence))
        {
            Refuse(sequence.Anchor);
            w.WriteStartArray();
            while (!parser.TryConsume<SequenceEnd>(out _)) Write(parser, w, depth + 1);
            w.WriteEndArray();
        }
        else if (parser.TryConsume<MappingStart>(out var mapping))
        {
            Refuse(mapping.Anchor);
            w.WriteStartObject();
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                var key = parser.Consume<Scalar>();
                Refuse(key.Anchor);
                w.WritePropertyName(key.Value);
                Write(parser, w, depth + 1);
            }
            w.WriteEndObject();
        }
        else
        {
            var current = parser.Current!;
            throw new YamlException(current.Start, current.End, "aliases are not accepted");
        }
    }

    private static void Refuse(AnchorName anchor)
    {
        if (!anchor.IsEmpty) throw new YamlException("anchors are not accepted");
    }

    private static void Scalar(Utf8JsonWriter w, Scalar scalar)
    {
        Refuse(scalar.Anchor);
        var value = scalar.Value;
        if (!scalar.IsPlainImplicit)
        {
            w.WriteStringValue(value);
            return;
        }
        switch (value)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                w.WriteNullValue();
                return;
            case "true" or "True" or "TRUE":
                w.WriteBooleanValue(true);
                return;
            case "false" or "False" or "FALSE":
                w.WriteBooleanValue(false);
                return;
        }
        if (Integer().IsMatch(value) && long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer)) w.WriteNumberValue(integer);
        else if (Float().IsMatch(value) && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number)) w.WriteNumberValue(number);
        else w.WriteStringValue(value);
    }

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex Integer();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex Float();
}
