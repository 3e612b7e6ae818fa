using System.Collections;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Validate;

namespace Envoy.Schema;

/// <summary>
/// The protoc-gen-validate rules declared in Envoy's protos, read from the descriptors' options and applied to a
/// parsed message tree: required messages and oneofs, numeric, string, enum, repeated, map and duration rules.
/// Deprecated fields are reported too: Envoy warns on them and can be configured to reject them.
/// </summary>
internal static partial class PgvRules
{
    public static IReadOnlyList<string> Check(IMessage message)
    {
        var problems = new List<string>();
        CheckMessage(message, message.Descriptor.Name, problems);
        return problems;
    }

    private static void CheckMessage(IMessage message, string path, List<string> problems)
    {
        var descriptor = message.Descriptor;
        var options = descriptor.GetOptions();
        if (options is not null && options.GetExtension(ValidateExtensions.Disabled)) return;

        foreach (var oneof in descriptor.Oneofs.Where(o => !o.IsSynthetic))
        {
            if (oneof.GetOptions()?.GetExtension(ValidateExtensions.Required) == true && oneof.Accessor.GetCaseFieldDescriptor(message) is null)
                problems.Add($"{path}: one of {string.Join("/", oneof.Fields.Select(f => f.Name))} is required");
        }

        foreach (var field in descriptor.Fields.InDeclarationOrder())
        {
            var fieldPath = $"{path}.{field.Name}";
            var rules = field.GetOptions()?.GetExtension(ValidateExtensions.Rules);
            var present = IsPresent(field, message);
            if (present && field.GetOptions()?.Deprecated == true)
                problems.Add($"{fieldPath}: deprecated field");
            if (field.RealContainingOneof is not null && !present) continue;
            if (field.HasPresence && !present && field.FieldType != FieldType.Message) continue;
            var value = field.Accessor.GetValue(message);

            if (field.IsMap)
            {
                var map = (IDictionary)value;
                if (rules?.Map is { } mapRules)
                {
                    if (mapRules.HasMinPairs && (ulong)map.Count < mapRules.MinPairs) problems.Add($"{fieldPath}: needs at least {mapRules.MinPairs} entries");
                    if (mapRules.HasMaxPairs && (ulong)map.Count > mapRules.MaxPairs) problems.Add($"{fieldPath}: allows at most {mapRules.MaxPairs} entries");
                }
                var valueField = field.MessageType.FindFieldByNumber(2);
                foreach (DictionaryEntry entry in map)
                {
                    var entryPath = $"{fieldPath}[{entry.Key}]";
                    if (rules?.Map?.Keys is { } keyRules) CheckValue(keyRules, field.MessageType.FindFieldByNumber(1), entry.Key, entryPath, problems);
                    if (rules?.Map?.Values is { } valueRules) CheckValue(valueRules, valueField, entry.Value, entryPath, problems);
                    Recurse(entry.Value, entryPath, problems);
                }
                continue;
            }
            if (field.IsRepeated)
            {
                var list = (IList)value;
                if (rules?.Repeated is { } repeated)
                {
                    if (repeated.HasMinItems && (ulong)list.Count < repeated.MinItems) problems.Add($"{fieldPath}: needs at least {repeated.MinItems} items");
                    if (repeated.HasMaxItems && (ulong)list.Count > repeated.MaxItems) problems.Add($"{fieldPath}: allows at most {repeated.MaxItems} items");
                    if (repeated.Unique && list.Cast<object>().Distinct().Count() != list.Count) problems.Add($"{fieldPath}: items must be unique");
                }
                for (var i = 0; i < list.Count; i++)
                {
                    if (rules?.Repeated?.Items is { } itemRules) CheckValue(itemRules, field, list[i], $"{fieldPath}[{i}]", problems);
                    Recurse(list[i], $"{fieldPath}[{i}]", problems);
                }
                continue;
            }
            if (rules is not null) CheckValue(rules, field, value, fieldPath, problems);
            Recurse(value, fieldPath, problems);
        }
    }

    private static bool IsPresent(FieldDescriptor field, IMessage message)
    {
        if (field.IsMap || field.IsRepeated) return ((ICollection)field.Accessor.GetValue(message)).Count > 0;
        if (field.HasPresence) return field.Accessor.HasValue(message);
        var value = field.Accessor.GetValue(message);
        return value switch
        {
            null => false,
            string s => s.Length > 0,
            ByteString b => b.Length > 0,
            bool b => b,
            System.Enum e => Convert.ToInt32(e, System.Globalization.CultureInfo.InvariantCulture) != 0,
            IConvertible c => c.ToDouble(System.Globalization.CultureInfo.InvariantCulture) != 0,
            _ => true,
        };
    }

    private static void Recurse(object? value, string path, List<string> problems)
    {
        switch (value)
        {
            case Any any:
                IMessage inner;
                try
                {
                    inner = EnvoySchema.Unpack(any);
                }
                catch (InvalidOperationException e)
                {
                    problems.Add($"{path}: {e.Message}");
                    return;
                }
                CheckMessage(inner, $"{path}<{inner.Descriptor.Name}>", problems);
                break;
            case Duration or Timestamp or Struct or Value:
                break;
            case IMessage message:
                CheckMessage(message, path, problems);
                break;
        }
    }

    private static void CheckValue(FieldRules rules, FieldDescriptor field, object? value, string path, List<string> problems)
    {
        if (rules.Message is { Required: true } && value is null)
        {
            problems.Add($"{path}: is required");
            return;
        }
        if (rules.Message is { Skip: true }) return;
        switch (rules.TypeCase)
        {
            case FieldRules.TypeOneofCase.String when value is string text:
                CheckString(rules.String, text, path, problems);
                break;
            case FieldRules.TypeOneofCase.Bytes when value is ByteString bytes:
                if (rules.Bytes.HasMinLen && (ulong)bytes.Length < rules.Bytes.MinLen) problems.Add($"{path}: needs at least {rules.Bytes.MinLen} bytes");
                if (rules.Bytes.HasMaxLen && (ulong)bytes.Length > rules.Bytes.MaxLen) problems.Add($"{path}: allows at most {rules.Bytes.MaxLen} bytes");
                break;
            case FieldRules.TypeOneofCase.Enum when value is not null:
                var number = Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture);
                if (rules.Enum.DefinedOnly && field.EnumType.FindValueByNumber(number) is null) problems.Add($"{path}: {number} is not a defined {field.EnumType.Name}");
                if (rules.Enum.HasConst && number != rules.Enum.Const) problems.Add($"{path}: must be {rules.Enum.Const}");
                if (rules.Enum.In.Count > 0 && !rules.Enum.In.Contains(number)) problems.Add($"{path}: must be one of {string.Join(",", rules.Enum.In)}");
                if (rules.Enum.NotIn.Contains(number)) problems.Add($"{path}: must not be {number}");
                break;
            case FieldRules.TypeOneofCase.Duration:
                if (rules.Duration.Required && value is null) problems.Add($"{path}: is required");
                if (value is Duration duration) CheckRange(rules.Duration, (decimal)duration.Seconds + duration.Nanos / 1_000_000_000m, path, problems, d => d is Duration x ? (decimal)x.Seconds + x.Nanos / 1_000_000_000m : null);
                break;
            case FieldRules.TypeOneofCase.Any:
                if (rules.Any.Required && value is null) problems.Add($"{path}: is required");
                if (value is Any any && rules.Any.In.Count > 0 && !rules.Any.In.Contains(any.TypeUrl)) problems.Add($"{path}: @type {any.TypeUrl} is not allowed here");
                break;
            case FieldRules.TypeOneofCase.Float or FieldRules.TypeOneofCase.Double or FieldRules.TypeOneofCase.Int32 or FieldRules.TypeOneofCase.Int64
                or FieldRules.TypeOneofCase.Uint32 or FieldRules.TypeOneofCase.Uint64 or FieldRules.TypeOneofCase.Sint32 or FieldRules.TypeOneofCase.Sint64
                or FieldRules.TypeOneofCase.Fixed32 or FieldRules.TypeOneofCase.Fixed64 or FieldRules.TypeOneofCase.Sfixed32 or FieldRules.TypeOneofCase.Sfixed64:
                if (value is null) break;  // an unset wrapper: only message.required applies
                var numericRules = (IMessage)FieldRules.Descriptor.FindFieldByNumber((int)rules.TypeCase).Accessor.GetValue(rules);
                CheckRange(numericRules, Convert.ToDecimal(value, System.Globalization.CultureInfo.InvariantCulture), path, problems,
                    v => v is null ? null : Convert.ToDecimal(v, System.Globalization.CultureInfo.InvariantCulture));
                break;
        }
    }

    /// <summary>const, lt, lte, gt, gte, in and not_in, read generically from any numeric or duration rule message.</summary>
    private static void CheckRange(IMessage rules, decimal value, string path, List<string> problems, Func<object?, decimal?> convert)
    {
        decimal? Bound(string name)
        {
            var f = rules.Descriptor.FindFieldByName(name);
            return f is not null && f.Accessor.HasValue(rules) ? convert(f.Accessor.GetValue(rules)) : null;
        }
        var exact = Bound("const");
        if (exact is { } c && value != c) problems.Add($"{path}: must be {c}");
        var lt = Bound("lt");
        var lte = Bound("lte");
        var gt = Bound("gt");
        var gte = Bound("gte");
        var lower = gt ?? gte;
        var upper = lt ?? lte;
        bool AboveLower() => gt is { } g ? value > g : gte is not { } ge || value >= ge;
        bool BelowUpper() => lt is { } l ? value < l : lte is not { } le || value <= le;
        // PGV: a lower bound above the upper bound means "outside the range".
        var ok = lower is not null && upper is not null && lower > upper ? AboveLower() || BelowUpper() : AboveLower() && BelowUpper();
        if (!ok)
            problems.Add($"{path}: {value} is out of range ({(gt is not null ? $"> {gt}" : gte is not null ? $">= {gte}" : "")} {(lt is not null ? $"< {lt}" : lte is not null ? $"<= {lte}" : "")})");
        var inField = rules.Descriptor.FindFieldByName("in");
        if (inField?.Accessor.GetValue(rules) is IList { Count: > 0 } allowed && !allowed.Cast<object>().Select(convert).Contains(value))
            problems.Add($"{path}: {value} is not an allowed value");
        var notInField = rules.Descriptor.FindFieldByName("not_in");
        if (notInField?.Accessor.GetValue(rules) is IList { Count: > 0 } denied && denied.Cast<object>().Select(convert).Contains(value))
            problems.Add($"{path}: {value} is not allowed");
    }

    private static void CheckString(StringRules rules, string text, string path, List<string> problems)
    {
        if (rules.IgnoreEmpty && text.Length == 0) return;
        var chars = (ulong)text.EnumerateRunes().Count();
        var bytes = (ulong)System.Text.Encoding.UTF8.GetByteCount(text);
        if (rules.HasConst && text != rules.Const) problems.Add($"{path}: must be '{rules.Const}'");
        if (rules.HasLen && chars != rules.Len) problems.Add($"{path}: must be {rules.Len} characters");
        if (rules.HasMinLen && chars < rules.MinLen) problems.Add($"{path}: needs at least {rules.MinLen} characters");
        if (rules.HasMaxLen && chars > rules.MaxLen) problems.Add($"{path}: allows at most {rules.MaxLen} characters");
        if (rules.HasMinBytes && bytes < rules.MinBytes) problems.Add($"{path}: needs at least {rules.MinBytes} bytes");
        if (rules.HasMaxBytes && bytes > rules.MaxBytes) problems.Add($"{path}: allows at most {rules.MaxBytes} bytes");
        if (rules.HasPrefix && !text.StartsWith(rules.Prefix, StringComparison.Ordinal)) problems.Add($"{path}: must start with '{rules.Prefix}'");
        if (rules.HasSuffix && !text.EndsWith(rules.Suffix, StringComparison.Ordinal)) problems.Add($"{path}: must end with '{rules.Suffix}'");
        if (rules.HasContains && !text.Contains(rules.Contains, StringComparison.Ordinal)) problems.Add($"{path}: must contain '{rules.Contains}'");
        if (rules.HasNotContains && text.Contains(rules.NotContains, StringComparison.Ordinal)) problems.Add($"{path}: must not contain '{rules.NotContains}'");
        if (rules.In.Count > 0 && !rules.In.Contains(text)) problems.Add($"{path}: '{text}' is not an allowed value");
        if (rules.NotIn.Contains(text)) problems.Add($"{path}: '{text}' is not allowed");
        if (rules.HasPattern && !Regex.IsMatch(text, rules.Pattern)) problems.Add($"{path}: '{text}' does not match {rules.Pattern}");
        var strict = !rules.HasStrict || rules.Strict;
        switch (rules.WellKnownCase)
        {
            case StringRules.WellKnownOneofCase.WellKnownRegex when rules.WellKnownRegex == KnownRegex.HttpHeaderName:
                if (!(strict ? StrictHeaderName() : LooseHeader()).IsMatch(text)) problems.Add($"{path}: '{text}' is not a valid HTTP header name");
                break;
            case StringRules.WellKnownOneofCase.WellKnownRegex when rules.WellKnownRegex == KnownRegex.HttpHeaderValue:
                if (!(strict ? StrictHeaderValue() : LooseHeader()).IsMatch(text)) problems.Add($"{path}: not a valid HTTP header value");
                break;
            case StringRules.WellKnownOneofCase.Ip when !System.Net.IPAddress.TryParse(text, out _):
            case StringRules.WellKnownOneofCase.Ipv4 when !(System.Net.IPAddress.TryParse(text, out var v4) && v4.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork):
            case StringRules.WellKnownOneofCase.Ipv6 when !(System.Net.IPAddress.TryParse(text, out var v6) && v6.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6):
                problems.Add($"{path}: '{text}' is not a valid address");
                break;
            case StringRules.WellKnownOneofCase.Hostname when !Hostname().IsMatch(text):
                problems.Add($"{path}: '{text}' is not a valid host name");
                break;
        }
    }

    // The regexes protoc-gen-validate generates for these well-known rules.
    [GeneratedRegex(@"^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$")]
    private static partial Regex StrictHeaderName();

    [GeneratedRegex(@"^[^\u0000-\u0008\u000A-\u001F\u007F]*$")]
    private static partial Regex StrictHeaderValue();

    [GeneratedRegex(@"^[^\u0000\u000A\u000D]*$")]
    private static partial Regex LooseHeader();

    [GeneratedRegex(@"^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$")]
    private static partial Regex Hostname();
}
