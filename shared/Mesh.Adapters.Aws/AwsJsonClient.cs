using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Signing;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Timeout;

namespace Mesh.Adapters.Aws;

/// <summary>One AWS service on the JSON 1.1 protocol: its SigV4 signing name, its X-Amz-Target prefix, where it is.</summary>
public sealed record AwsJsonService(string DisplayName, string SigningName, string TargetPrefix, string Region, Uri Url)
{
    public static AwsJsonService CloudMap(string region, Uri? url = null) =>
        new("Cloud Map", "servicediscovery", "Route53AutoNaming_v20170314", region, url ?? new Uri($"https://servicediscovery.{region}.amazonaws.com/"));

    public static AwsJsonService EventBridge(string region, Uri? url = null) =>
        new("EventBridge", "events", "AWSEvents", region, url ?? new Uri($"https://events.{region}.amazonaws.com/"));
}

/// <summary>Retries with exponential back-off and jitter; each attempt has its own timeout. One call, at worst, fits well inside a function timeout.</summary>
public sealed record AwsRetrySettings
{
    public int MaxAttempts { get; init; } = 5;
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(100);
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(2);
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(3);
}

/// <summary>An AWS call that failed: refused by the service, or still failing after the last retry.</summary>
public sealed class AwsCallException(string message, HttpStatusCode? status, string? errorCode, Exception? inner = null) : Exception(message, inner)
{
    public HttpStatusCode? Status { get; } = status;
    /// <summary>The service's error type without its namespace ("InstanceNotFound"), when it sent one.</summary>
    public string? ErrorCode { get; } = errorCode;
    /// <summary>The error's body as the service sent it: some errors carry fields (ServiceAlreadyExists has ServiceId).</summary>
    public string? ErrorBody { get; init; }
}

/// <summary>
/// Calls one operation at a time: POST / with X-Amz-Target and the JSON body, signed with SigV4 by AWSSDK.Core's
/// signing handler, which signs every attempt anew. Throttling, 5xx, timeouts and broken connections are retried by
/// Microsoft.Extensions.Http.Resilience's handler, outside the signing handler so that each attempt is signed again.
/// </summary>
public sealed class AwsJsonClient : IDisposable
{
    private static readonly HashSet<string> ThrottlingCodes = new(StringComparer.Ordinal)
    {
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled", "RequestThrottledException",
        "RequestLimitExceeded", "TooManyRequestsException", "ProvisionedThroughputExceededException", "LimitExceededException",
    };

    private static readonly MediaTypeHeaderValue Json11 = new("application/x-amz-json-1.1");

    private readonly AwsJsonService _service;
    private readonly HttpClient _http;
    private readonly int _maxAttempts;

    public AwsJsonClient(AwsJsonService service, AWSCredentials credentials, HttpMessageHandler transport, AwsRetrySettings retry)
    {
        _service = service;
        _maxAttempts = retry.MaxAttempts;
        var pipeline = new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = retry.MaxAttempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = retry.BaseDelay,
                MaxDelay = retry.MaxDelay,
                ShouldHandle = args => args.Outcome switch
                {
                    { Exception: HttpRequestException or TimeoutRejectedException } => ValueTask.FromResult(true),
                    { Result: { } response } => IsRetryableAsync(response),
                    _ => ValueTask.FromResult(false),
                },
            })
            .AddTimeout(new HttpTimeoutStrategyOptions { Timeout = retry.AttemptTimeout })
            .Build();
        var signing = new SigV4SigningHandler(credentials, RegionEndpoint.GetBySystemName(service.Region), service.SigningName, transport);
        _http = new HttpClient(new ResilienceHandler(pipeline) { InnerHandler = signing }) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public async Task<TResponse> CallAsync<TRequest, TResponse>(string operation, TRequest request,
        JsonTypeInfo<TRequest> requestType, JsonTypeInfo<TResponse> responseType, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(request, requestType);
        HttpResponseMessage response;
        try
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, _service.Url) { Content = new ByteArrayContent(body) };
            message.Content.Headers.ContentType = Json11;
            message.Headers.Add("X-Amz-Target", $"{_service.TargetPrefix}.{operation}");
            response = await _http.SendAsync(message, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or TimeoutRejectedException)
        {
            throw new AwsCallException($"{_service.DisplayName} {operation} failed after {_maxAttempts} attempts: {e.Message}", null, null, e);
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var (code, text) = await ReadErrorAsync(response);
                var retried = await IsRetryableAsync(response) ? $" after {_maxAttempts} attempts" : "";
                throw new AwsCallException($"{_service.DisplayName} {operation} failed{retried}: HTTP {(int)response.StatusCode} {code ?? response.ReasonPhrase}: {text}",
                    response.StatusCode, code) { ErrorBody = await response.Content.ReadAsStringAsync(cancellationToken) };
            }
            var content = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            return JsonSerializer.Deserialize(content.Length == 0 ? "{}"u8 : content, responseType)
                ?? throw new AwsCallException($"{_service.DisplayName} {operation} answered null", response.StatusCode, null);
        }
    }

    public void Dispose() => _http.Dispose();

    private static async ValueTask<bool> IsRetryableAsync(HttpResponseMessage response)
    {
        // Read once here, inside the attempt, so the error can be read again when the last attempt fails.
        await response.Content.LoadIntoBufferAsync();
        if ((int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests) return true;
        if (response.StatusCode != HttpStatusCode.BadRequest) return false;
        var (code, _) = await ReadErrorAsync(response);
        return code is not null && ThrottlingCodes.Contains(code);
    }

    /// <summary>JSON 1.1 errors: {"__type":"com.amazonaws.servicediscovery#InstanceNotFound","Message":"..."}, or the x-amzn-ErrorType header.</summary>
    private static async Task<(string? Code, string Message)> ReadErrorAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        string? code = response.Headers.TryGetValues("x-amzn-ErrorType", out var header) ? header.First() : null;
        var message = body;
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                if (document.RootElement.TryGetProperty("__type", out var type)) code = type.GetString();
                if (document.RootElement.TryGetProperty("Message", out var text) || document.RootElement.TryGetProperty("message", out text))
                    message = text.GetString() ?? body;
            }
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's or load balancer's page): the body itself is the message.
        }
        code = code?.Split(':')[0];
        return (code is null ? null : code[(code.LastIndexOf('#') + 1)..], message);
    }
}
