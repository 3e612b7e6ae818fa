using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;

namespace Envoy.Schema;

/// <summary>
/// Checks JSON the way Envoy reads dynamic configuration: a strict proto3 JSON parse against Envoy's API
/// descriptors (unknown fields, bad enum names and unknown @types fail), then the protoc-gen-validate rules
/// Envoy enforces on every resource, recursing into typed_config Anys as Envoy does when it builds extensions.
/// </summary>
public static class EnvoySchema
{
    public static TypeRegistry Registry => Envoy.Api.EnvoyTypes.Registry;

    /// <summary>Parses one resource written as an Any ({"@type": ..., fields}) and returns every problem Envoy would reject it for.</summary>
    public static IReadOnlyList<string> CheckResource(string json)
    {
        IMessage message;
        try
        {
            message = Unpack(Parser.Parse<Any>(json));
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException or InvalidOperationException)
        {
            return [$"does not parse as Envoy's API: {e.Message}"];
        }
        return PgvRules.Check(message);
    }

    /// <summary>Parses a message of a named type (e.g. envoy.config.bootstrap.v3.Bootstrap) and checks it.</summary>
    public static IReadOnlyList<string> CheckMessage(string json, string fullName)
    {
        var descriptor = Registry.Find(fullName) ?? throw new ArgumentException($"{fullName} is not a known Envoy type", nameof(fullName));
        IMessage message;
        try
        {
            message = Parser.Parse(json, descriptor);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException)
        {
            return [$"does not parse as {fullName}: {e.Message}"];
        }
        return PgvRules.Check(message);
    }

    internal static IMessage Unpack(Any any)
    {
        var name = Any.GetTypeName(any.TypeUrl);
        var descriptor = Registry.Find(name) ?? throw new InvalidOperationException($"unknown @type {any.TypeUrl}");
        return descriptor.Parser.ParseFrom(any.Value);
    }

    private static JsonParser Parser => new(JsonParser.Settings.Default.WithTypeRegistry(Registry).WithIgnoreUnknownFields(false));
}
