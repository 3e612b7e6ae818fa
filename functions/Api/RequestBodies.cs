using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Mesh.Core.Editing;
using Mesh.Core.Model;

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
public sealed partial class EditJson : JsonSerializerContext;

/// <summary>A body that parsed, or the problem that says why it did not.</summary>
public readonly record struct Body<T>(T? Value, IResult? Problem);

public static class RequestBodies
{
    /// <summary>Far above any real service, route table or policy; a bigger body is a mistake or an attack.</summary>
    public const int MaxBytes = 256 * 1024;

    public static async Task<Body<T>> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> type, string resource, CancellationToken cancellationToken) where T : class
    {
        if (request.ContentType is not { } contentType || !contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
            return new(null, Problems.Status(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", "send the resource as application/json"));
        if (request.ContentLength > MaxBytes)
            return new(null, TooLarge());
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBytes) return new(null, TooLarge());
            buffer.Write(chunk, 0, read);
        }
        try
        {
            var value = JsonSerializer.Deserialize(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), type);
            return value is null
                ? new(null, Problems.Invalid(StatusCodes.Status400BadRequest, "Malformed JSON", [new FieldError(resource, "$", "the body is null; send a JSON object")]))
                : new(value, null);
        }
        catch (JsonException e)
        {
            var message = e.Message.Split(" Path:")[0];
            return new(null, Problems.Invalid(StatusCodes.Status400BadRequest, "Malformed JSON", [new FieldError(resource, e.Path ?? "$", message)]));
        }
    }

    private static IResult TooLarge() =>
        Problems.Status(StatusCodes.Status413PayloadTooLarge, "Body too large", $"an edit body may be at most {MaxBytes} bytes");
}

public static class Problems
{
    public static IResult Status(int status, string title, string detail) => Results.Problem(title: title, detail: detail, statusCode: status);

    /// <summary>RFC 9457 problem details whose "errors" name each offending field by resource and JSON path.</summary>
    public static IResult Invalid(int status, string title, IReadOnlyList<FieldError> errors) =>
        Results.Problem(title: title, statusCode: status,
            detail: string.Join("; ", errors.Take(5).Select(e => $"{e.Resource} {e.Path}: {e.Message}")) + (errors.Count > 5 ? $"; and {errors.Count - 5} more" : ""),
            extensions: new Dictionary<string, object?> { ["errors"] = errors.ToArray() });
}
