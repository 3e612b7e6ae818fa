using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Amazon.Runtime;
using Mesh.Adapters.Aws;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Mesh.Tests.Support;

/// <summary>A request as it reached the loopback listener.</summary>
public sealed record WireRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string Target => Headers.GetValueOrDefault("x-amz-target", "");
    public string Text => Encoding.UTF8.GetString(Body);
}

/// <summary>
/// An AWS JSON 1.1 endpoint on 127.0.0.1 that records every request and answers from scripts per operation
/// (X-Amz-Target), or 200 with "{}" when a script has run out.
/// </summary>
public sealed class LoopbackAws : IAsyncDisposable
{
    public const string AccessKey = "AKIDEXAMPLE";
    public const string SecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    public const string Region = "eu-west-1";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<WireRequest> _requests = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<(int Status, string Body)>> _scripts = new(StringComparer.Ordinal);

    private LoopbackAws(WebApplication app) => _app = app;

    public IReadOnlyList<WireRequest> Requests => [.. _requests];
    public Uri Url => new(_app.Urls.First() + "/");

    /// <summary>Fallback for an operation without a script: (status, body).</summary>
    public Func<WireRequest, (int Status, string Body)> Default { get; set; } = _ => (200, "{}");

    public static async Task<LoopbackAws> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var loopback = new LoopbackAws(app);
        app.MapPost("/", loopback.HandleAsync);
        await app.StartAsync();
        return loopback;
    }

    /// <summary>The next answers to operation <paramref name="operation"/> ("RegisterInstance"), in order.</summary>
    public void Script(string operation, params (int Status, string Body)[] answers)
    {
        var queue = _scripts.GetOrAdd(operation, _ => new());
        foreach (var answer in answers) queue.Enqueue(answer);
    }

    public IReadOnlyList<WireRequest> Calls(string operation) => [.. Requests.Where(r => r.Target.EndsWith("." + operation, StringComparison.Ordinal))];

    public AwsJsonClient Client(AwsJsonService service, int maxAttempts = 5) =>
        new(service, new BasicAWSCredentials(AccessKey, SecretKey), new SocketsHttpHandler(),
            new AwsRetrySettings { MaxAttempts = maxAttempts, BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(5) });

    private async Task HandleAsync(HttpContext http)
    {
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer);
        var headers = http.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.Ordinal);
        var request = new WireRequest(http.Request.Method, http.Request.Path + http.Request.QueryString, headers, buffer.ToArray());
        _requests.Enqueue(request);
        var operation = request.Target[(request.Target.IndexOf('.', StringComparison.Ordinal) + 1)..];
        var (status, body) = _scripts.TryGetValue(operation, out var queue) && queue.TryDequeue(out var scripted) ? scripted : Default(request);
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/x-amz-json-1.1";
        await http.Response.WriteAsync(body);
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

/// <summary>
/// Checks a request's SigV4 signature from first principles (AWS's published algorithm, written out here, not the
/// SDK's signer): canonical request, string to sign, derived key. Returns the credential scope it was signed for.
/// </summary>
public static class SigV4
{
    /// <param name="targeted">JSON 1.1 calls sign their X-Amz-Target; a REST call (the API) has none.</param>
    public static string Verify(WireRequest request, string secretKey, bool targeted = true)
    {
        var authorization = request.Headers["authorization"];
        Assert.StartsWith("AWS4-HMAC-SHA256 ", authorization);
        var fields = authorization["AWS4-HMAC-SHA256 ".Length..].Split(',', StringSplitOptions.TrimEntries)
            .Select(f => f.Split('=', 2)).ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
        var scope = fields["Credential"][(fields["Credential"].IndexOf('/', StringComparison.Ordinal) + 1)..];
        var signedHeaders = fields["SignedHeaders"].Split(';');
        Assert.Contains("host", signedHeaders);
        Assert.Contains("x-amz-date", signedHeaders);
        if (targeted) Assert.Contains("x-amz-target", signedHeaders);

        var payloadHash = Hex(SHA256.HashData(request.Body));
        if (request.Headers.TryGetValue("x-amz-content-sha256", out var declared)) Assert.Equal(payloadHash, declared);
        var canonicalHeaders = string.Concat(signedHeaders.Select(h => $"{h}:{request.Headers[h].Trim()}\n"));
        var path = request.Path.Split('?', 2);
        var canonicalQuery = path.Length == 1 ? "" : string.Join('&', path[1].Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2)).OrderBy(p => p[0], StringComparer.Ordinal).Select(p => $"{p[0]}={(p.Length > 1 ? p[1] : "")}"));
        var canonicalRequest = $"{request.Method}\n{path[0]}\n{canonicalQuery}\n{canonicalHeaders}\n{fields["SignedHeaders"]}\n{payloadHash}";
        var stringToSign = $"AWS4-HMAC-SHA256\n{request.Headers["x-amz-date"]}\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest)))}";

        var key = Encoding.UTF8.GetBytes("AWS4" + secretKey);
        foreach (var part in scope.Split('/')) key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(part));
        Assert.Equal(Hex(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign))), fields["Signature"]);
        return scope;
    }

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
