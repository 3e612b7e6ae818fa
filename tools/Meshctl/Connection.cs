using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Amazon.Runtime.Signing;

namespace Mesh.Cli;

/// <summary>A call the API refused: its status and the problem's errors (resource, JSON path, message).</summary>
public sealed class ApiException(HttpStatusCode status, string title, IReadOnlyList<string> errors) : Exception(title)
{
    public HttpStatusCode Status => status;
    public IReadOnlyList<string> Errors => errors;
}

/// <summary>
/// How meshctl reaches the API: the local host with a bearer token (--token, MESHCTL_TOKEN, or the local host's
/// .local/token), or the deployed API signed with SigV4 (--sigv4: the default credential chain, execute-api).
/// </summary>
public sealed class Connection(HttpClient http)
{
    public const string DefaultServer = "http://127.0.0.1:8080";

    public static Connection Open(GlobalSettings settings, HttpMessageHandler? transport = null, AWSCredentials? credentials = null)
    {
        var server = new Uri(settings.Server ?? Environment.GetEnvironmentVariable("MESHCTL_SERVER") ?? DefaultServer);
        transport ??= new SocketsHttpHandler();
        HttpClient http;
        if (settings.SigV4)
        {
            var region = settings.Region ?? Environment.GetEnvironmentVariable("AWS_REGION") ?? throw new InvalidOperationException("--sigv4 needs --region or AWS_REGION");
            credentials ??= new DefaultAWSCredentialsIdentityResolver().ResolveIdentity(null);
            http = new HttpClient(new SigV4SigningHandler(credentials, RegionEndpoint.GetBySystemName(region), "execute-api", transport));
        }
        else
        {
            http = new HttpClient(transport);
            var token = settings.Token ?? Environment.GetEnvironmentVariable("MESHCTL_TOKEN") ?? LocalToken();
            if (token is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        http.BaseAddress = server;
        http.Timeout = TimeSpan.FromSeconds(60);
        return new Connection(http);
    }

    /// <summary>The local host writes its operator token here, beside its store.</summary>
    private static string? LocalToken() => File.Exists(Path.Combine(".local", "token")) ? File.ReadAllText(Path.Combine(".local", "token")).Trim() : null;

    public async Task<(JsonElement Body, string? ETag)> GetJsonAsync(string path, CancellationToken cancellationToken = default)
    {
        using var response = await http.GetAsync(path, cancellationToken);
        return (await ReadAsync(response, cancellationToken), response.Headers.ETag?.ToString());
    }

    public async Task<string> GetTextAsync(string path, CancellationToken cancellationToken = default)
    {
        using var response = await http.GetAsync(path, cancellationToken);
        if (!response.IsSuccessStatusCode) await ReadAsync(response, cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    public async Task<string?> ETagAsync(string path, CancellationToken cancellationToken = default)
    {
        using var response = await http.GetAsync(path, cancellationToken);
        return response.StatusCode == HttpStatusCode.NotFound ? null : (await ReadAsync(response, cancellationToken), response.Headers.ETag?.ToString()).Item2;
    }

    public async Task<JsonElement> SendAsync(HttpMethod method, string path, HttpContent? content, string? ifMatch, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (ifMatch is not null) request.Headers.IfMatch.Add(EntityTagHeaderValue.Parse(ifMatch));
        request.Headers.Add("X-Change-Reason", "meshctl");
        using var response = await http.SendAsync(request, cancellationToken);
        return await ReadAsync(response, cancellationToken);
    }

    private static async Task<JsonElement> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonElement body = default;
        if (text.Length > 0)
        {
            try
            {
                body = JsonDocument.Parse(text).RootElement.Clone();
            }
            catch (JsonException)
            {
                if (response.IsSuccessStatusCode) throw;
            }
        }
        if (response.IsSuccessStatusCode) return body;
        var title = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("title", out var t) ? t.GetString()! : response.ReasonPhrase ?? "error";
        var detail = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("detail", out var d) ? d.GetString() : text;
        var errors = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("errors", out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Select(e => $"{e.GetProperty("resource").GetString()} {e.GetProperty("path").GetString()}: {e.GetProperty("message").GetString()}").ToList()
            : [detail ?? ""];
        throw new ApiException(response.StatusCode, $"{(int)response.StatusCode} {title}", errors);
    }
}
