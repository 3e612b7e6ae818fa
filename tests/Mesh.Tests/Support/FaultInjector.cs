using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Amazon.Runtime;

namespace Mesh.Tests.Support;

/// <summary>
/// Sits under the AWS SDK: answers chosen DynamoDB operations with the errors DynamoDB returns (throttling,
/// transaction conflicts) a set number of times, passes everything else through, and counts what crossed the wire.
/// </summary>
public sealed class FaultInjector : HttpClientFactory
{
    private readonly ConcurrentDictionary<string, int> _remaining = new();
    private readonly ConcurrentDictionary<string, string> _bodies = new();
    private long _requests;
    private long _requestBytes;
    private long _responseBytes;

    public long Requests => Interlocked.Read(ref _requests);
    public long RequestBytes => Interlocked.Read(ref _requestBytes);
    public long ResponseBytes => Interlocked.Read(ref _responseBytes);

    private readonly ConcurrentDictionary<string, int> _byOperation = new();

    /// <summary>Requests per operation since the last reset, e.g. "GetItem×2 PutItem×1".</summary>
    public string Breakdown => string.Join(" ", _byOperation.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}×{p.Value}"));

    public void Reset()
    {
        (_requests, _requestBytes, _responseBytes) = (0, 0, 0);
        _byOperation.Clear();
    }

    /// <summary>The next <paramref name="times"/> calls of <paramref name="operation"/> (e.g. "PutItem") get ThrottlingException.</summary>
    public void Throttle(string operation, int times) =>
        Fail(operation, times, """{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}""");

    /// <summary>The next <paramref name="times"/> TransactWriteItems calls are cancelled for a conflicting transaction.</summary>
    public void ConflictTransactions(int times) =>
        Fail("TransactWriteItems", times, """{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict, None]","CancellationReasons":[{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"},{"Code":"None"}]}""");

    public void Clear() => _remaining.Clear();

    private void Fail(string operation, int times, string body)
    {
        _remaining[operation] = times;
        _bodies[operation] = body;
    }

    public override HttpClient CreateHttpClient(IClientConfig clientConfig) => new(new Handler(this) { InnerHandler = new HttpClientHandler() });

    private sealed class Handler(FaultInjector owner) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var operation = request.Headers.TryGetValues("X-Amz-Target", out var targets) ? targets.First().Split('.').Last() : "";
            if (owner._remaining.TryGetValue(operation, out var left) && left > 0 && owner._remaining.TryUpdate(operation, left - 1, left))
            {
                return new HttpResponseMessage(HttpStatusCode.BadRequest)
                {
                    Content = new StringContent(owner._bodies[operation], Encoding.UTF8, "application/x-amz-json-1.0"),
                };
            }
            Interlocked.Increment(ref owner._requests);
            owner._byOperation.AddOrUpdate(operation, 1, (_, n) => n + 1);
            if (request.Content is not null) Interlocked.Add(ref owner._requestBytes, (await request.Content.ReadAsByteArrayAsync(cancellationToken)).Length);
            var response = await base.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            Interlocked.Add(ref owner._responseBytes, body.Length);
            var copy = new ByteArrayContent(body);
            foreach (var header in response.Content.Headers) copy.Headers.TryAddWithoutValidation(header.Key, header.Value);
            response.Content = copy;
            return response;
        }
    }
}
