using Microsoft.AspNetCore.Http;
using System.Text.Json;
using Mesh.Hosting.Metrics;

namespace Mesh.Hosting;

/// <summary>What the Lambda Web Adapter tells a request about its invocation: the request id (and the X-Ray trace header).</summary>
public static class LambdaContext
{
    public const string Header = "x-amzn-lambda-context";
    public const string TraceHeader = "x-amzn-trace-id";

    /// <summary>The invocation's request id; null outside Lambda or when the header is not the adapter's JSON.</summary>
    public static string? RequestId(HttpContext http)
    {
        if (http.Request.Headers[Header].FirstOrDefault() is not { Length: > 0 and <= 8192 } header) return null;
        try
        {
            using var context = JsonDocument.Parse(header);
            return context.RootElement.ValueKind == JsonValueKind.Object && context.RootElement.TryGetProperty("request_id", out var id) && id.ValueKind == JsonValueKind.String
                ? LogText.Safe(id.GetString())
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>An invocation's metrics, carrying its request and trace ids as properties (as Powertools names them).</summary>
    public static InvocationMetrics Metrics(string service, HttpContext http)
    {
        var metrics = new InvocationMetrics(service);
        if (RequestId(http) is { } requestId) metrics.Property("function_request_id", requestId);
        if (http.Request.Headers[TraceHeader].FirstOrDefault() is { Length: > 0 and <= 256 } trace) metrics.Property("xray_trace_id", LogText.Safe(trace));
        return metrics;
    }
}
