using System.Security.Cryptography;
using System.Text;
using Mesh.Tests.Support;

namespace Mesh.Tests.Deploy;

/// <summary>samples.json holds complete Lambda events, usable with `sam local invoke -e`.</summary>
public class SampleEventTests
{
    [Fact]
    public void Every_ingest_sample_is_a_complete_sqs_event_whose_digests_match_its_bodies()
    {
        var required = new[] { "messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody", "eventSource", "eventSourceARN", "awsRegion" };
        foreach (var sample in Repo.Samples.Samples)
        {
            foreach (var record in sample.Event.GetProperty("Records").EnumerateArray())
            {
                Assert.All(required, field => Assert.True(record.TryGetProperty(field, out _), $"{sample.Name}: no {field}"));
                Assert.Equal("aws:sqs", record.GetProperty("eventSource").GetString());
                var body = record.GetProperty("body").GetString()!;
#pragma warning disable CA5351 // SQS's own digest of the body, which Lambda passes on: checked, not used for security.
                Assert.Equal(Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(body))), record.GetProperty("md5OfBody").GetString());
#pragma warning restore CA5351
            }
        }
    }

    /// <summary>
    /// Each Api sample, handed to the app the way the Lambda Web Adapter hands an HTTP API event over: method, raw path and
    /// query, headers, body, and the request context in x-amzn-request-context (where the IAM caller is).
    /// </summary>
    private const string Domain = "xds.mesh.example.com";

    [Fact]
    public async Task Every_api_sample_is_an_http_api_event_the_api_answers_as_the_adapter_delivers_it()
    {
        // As template.yaml configures the Api function, with ControlPlaneDomain = Domain.
        await using var host = await LocalHostFixture.StartAsync(new KeyValuePair<string, string?>("Auth:Mode", "Iam"),
            new KeyValuePair<string, string?>("Xds:ControlPlaneCluster", Domain), new KeyValuePair<string, string?>("Xds:ControlPlaneUrl", $"https://{Domain}"));
        Assert.NotEmpty(host.Samples.ApiSamples);
        foreach (var sample in host.Samples.ApiSamples)
        {
            var e = sample.Event;
            Assert.Equal("2.0", e.GetProperty("version").GetString());
            var http = e.GetProperty("requestContext").GetProperty("http");
            var query = e.GetProperty("rawQueryString").GetString();
            using var request = new HttpRequestMessage(new HttpMethod(http.GetProperty("method").GetString()!),
                e.GetProperty("rawPath").GetString() + (string.IsNullOrEmpty(query) ? "" : "?" + query));
            if (e.TryGetProperty("body", out var body))
                request.Content = new StringContent(body.GetString()!, Encoding.UTF8, e.GetProperty("headers").GetProperty("content-type").GetString()!);
            foreach (var header in e.GetProperty("headers").EnumerateObject().Where(h => h.Name != "content-type"))
                request.Headers.TryAddWithoutValidation(header.Name, header.Value.GetString());
            request.Headers.Add("x-amzn-request-context", System.Text.Json.JsonSerializer.Serialize(e.GetProperty("requestContext")));
            using var response = await host.Http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, $"{sample.Name}: {(int)response.StatusCode} {text}");
            // A bootstrap fetched through API Gateway points the proxy back at the API's https address.
            if (sample.Name.EndsWith("bootstrap", StringComparison.Ordinal))
            {
                Assert.Contains($"address: \"{Domain}\"\n                port_value: 443", text);
                Assert.Contains($"sni: \"{Domain}\"", text);
                // The certificate must name the API's host (a SAN check), not merely chain to a public CA.
                Assert.Contains("san_type: \"DNS\"", text);
                Assert.Contains($"exact: \"{Domain}\"", text);
            }
            Assert.Equal(e.GetProperty("routeKey").GetString(), e.GetProperty("requestContext").GetProperty("routeKey").GetString());
        }
    }

    [Fact]
    public void The_iam_samples_carry_the_caller_where_api_gateway_puts_it()
    {
        // Every route needs IAM, the proxies' polls included: each sample names its signer.
        foreach (var sample in Repo.Samples.ApiSamples)
        {
            var caller = sample.Event.GetProperty("requestContext").GetProperty("authorizer").GetProperty("iam").GetProperty("userArn").GetString();
            Assert.StartsWith("arn:aws:sts::", caller);
        }
        Assert.Contains(Repo.Samples.ApiSamples, s => s.Event.GetProperty("rawPath").GetString()!.StartsWith("/v3/", StringComparison.Ordinal));
    }
}
