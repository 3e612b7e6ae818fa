using Mesh.Core.Editing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Mesh.Hosting;

/// <summary>The one place RFC 9457 problem details are built, for every refusal of every function.</summary>
public static class Problems
{
    public static ProblemHttpResult Status(int status, string title, string detail) =>
        TypedResults.Problem(title: title, detail: detail, statusCode: status);

    /// <summary>Problem details whose "errors" name each offending field by resource and JSON path.</summary>
    public static ProblemHttpResult Invalid(int status, string title, IReadOnlyList<FieldError> errors) =>
        TypedResults.Problem(title: title, statusCode: status,
            detail: string.Join("; ", errors.Take(5).Select(e => $"{e.Resource} {e.Path}: {e.Message}")) + (errors.Count > 5 ? $"; and {errors.Count - 5} more" : ""),
            extensions: new Dictionary<string, object?> { ["errors"] = errors.ToArray() });

    public static ProblemHttpResult NotFound(string title, string detail) => Status(StatusCodes.Status404NotFound, title, detail);
}

/// <summary>Text from outside (message ids, names, reasons) made safe for one log line: control characters are escaped, never written.</summary>
public static class LogText
{
    public static string Safe(string? text)
    {
        if (text is null) return "";
        if (!text.Any(char.IsControl)) return text;
        var safe = new System.Text.StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (char.IsControl(c)) safe.Append(c switch { '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", _ => $"\\u{(int)c:x4}" });
            else safe.Append(c);
        }
        return safe.ToString();
    }
}
