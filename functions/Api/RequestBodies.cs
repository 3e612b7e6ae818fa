using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Mesh.Core.Editing;
using Mesh.Core.Model;
using Mesh.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Mesh.Api;

/// <summary>Edit bodies are strict: an unknown field is an error, not something silently dropped.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    UseStringEnumConverter = true,
    ReadCommentHandling = JsonCommentHandling.Disallow)]
[JsonSerializable(typeof(ServiceDefinition))]
[JsonSerializable(typeof(RouteTable))]
[JsonSerializable(typeof(ServicePolicy))]
[JsonSerializable(typeof(MeshSettings))]
[JsonSerializable(typeof(MeshSpec))]
[JsonSerializable(typeof(GatewayDefinition))]
public sealed partial class EditJson : JsonSerializerContext;

/// <summary>A body that parsed, or the problem that says why it did not.</summary>
public readonly record struct Body<T>(T? Value, ProblemHttpResult? Problem);

public static class RequestBodies
{
    /// <summary>Far above any real service, route table or policy; a bigger body is a mistake or an attack.</summary>
    public const int MaxBytes = 256 * 1024;

    /// <summary>A whole mesh's document: about 2 KB a service, so some 2,000 services.</summary>
    public const int MaxSpecBytes = 4 * 1024 * 1024;

    /// <param name="yaml">Also takes application/yaml, converted to JSON before the same checks.</param>
    public static async Task<Body<T>> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> type, string resource, CancellationToken cancellationToken,
        int maxBytes = MaxBytes, bool yaml = false) where T : class
    {
        var contentType = request.ContentType ?? "";
        var isYaml = yaml && (contentType.StartsWith("application/yaml", StringComparison.OrdinalIgnoreCase) || contentType.StartsWith("application/x-yaml", StringComparison.OrdinalIgnoreCase));
        if (!isYaml && !contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
            return new(null, Problems.Status(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", yaml ? "send the document as application/json or application/yaml" : "send the resource as application/json"));
        if (request.ContentLength > maxBytes)
            return new(null, TooLarge(maxBytes));
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes) return new(null, TooLarge(maxBytes));
            buffer.Write(chunk, 0, read);
        }
        try
        {
            var json = isYaml ? YamlToJson.Convert(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)) : buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
            if (StrictJson.FirstProblem(json, type) is { } problem)
                return new(null, Problems.Invalid(StatusCodes.Status400BadRequest, "Malformed JSON", [new FieldError(resource, problem.Path, problem.Message)]));
            var value = JsonSerializer.Deserialize(json, type);
            return value is null
                ? new(null, Problems.Invalid(StatusCodes.Status400BadRequest, "Malformed JSON", [new FieldError(resource, "$", "the body is null; send a JSON object")]))
                : new(value, null);
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            return new(null, Problems.Invalid(StatusCodes.Status400BadRequest, "Malformed YAML", [new FieldError(resource, "$", $"line {e.Start.Line}, column {e.Start.Column}: {e.Message}")]));
        }
        catch (JsonException e)
        {
            var message = e.Message.Split(" Path:")[0];
            return new(null, Problems.Invalid(StatusCodes.Status400BadRequest, "Malformed JSON", [new FieldError(resource, e.Path ?? "$", message)]));
        }
    }

    private static ProblemHttpResult TooLarge(int maxBytes) =>
        Problems.Status(StatusCodes.Status413PayloadTooLarge, "Body too large", $"an edit body may be at most {maxBytes} bytes");
}
