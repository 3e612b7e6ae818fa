using System.Net;
using System.Text;
using Mesh.Tests.Http;
using Mesh.Tests.Support;

namespace Mesh.Tests.Reliability;

/// <summary>Inputs that once answered 500 or were taken as something they were not: each is now a 4xx naming the field, and nothing changes.</summary>
public class BadInputTests
{
    private const string Service = """{"port": 8080, "protocol": "http", "backends": ["payments", "inventory-api"], "subsets": [{"name": "v57", "version": "57"}, {"name": "v58", "version": "58"}]""";

    public static TheoryData<string, string, string, HttpStatusCode, string> BadEdits => new()
    {
        { "null backend", "services/checkout-api", Service.Replace("\"payments\",", "null,", StringComparison.Ordinal) + "}", HttpStatusCode.BadRequest, "$.backends[0]" },
        { "null subset", "services/checkout-api", """{"port": 8080, "subsets": [null]}""", HttpStatusCode.BadRequest, "$.subsets[0]" },
        { "null hostname", "services/checkout-api", """{"port": 8080, "hostnames": ["a.example", null]}""", HttpStatusCode.BadRequest, "$.hostnames[1]" },
        { "null route", "services/checkout-api/routes", """{"routes": [null]}""", HttpStatusCode.BadRequest, "$.routes[0]" },
        { "null target", "services/checkout-api/routes", """{"routes": [{"name": "r", "targets": [null]}]}""", HttpStatusCode.BadRequest, "$.routes[0].targets[0]" },
        { "null header match", "services/checkout-api/routes", """{"routes": [{"name": "r", "match": {"headers": [null]}, "targets": [{"weight": 100}]}]}""", HttpStatusCode.BadRequest, "$.routes[0].match.headers[0]" },
        { "null query match", "services/checkout-api/routes", """{"routes": [{"name": "r", "match": {"queryParameters": [null]}, "targets": [{"weight": 100}]}]}""", HttpStatusCode.BadRequest, "$.routes[0].match.queryParameters[0]" },
        { "null allowed caller", "services/checkout-api/policy", """{"mtls": "STRICT", "allowedCallers": [null]}""", HttpStatusCode.BadRequest, "$.allowedCallers[0]" },
        { "weights that overflow an int", "services/checkout-api/routes", """{"routes": [{"name": "r", "targets": [{"subset": "v57", "weight": 2147483647}, {"subset": "v58", "weight": 2147483647}]}]}""", HttpStatusCode.UnprocessableEntity, "$.routes[0].targets[0].weight" },
        { "routes inside a service", "services/checkout-api", Service + """, "routes": []}""", HttpStatusCode.BadRequest, "$.routes" },
        { "policy inside a service", "services/checkout-api", Service + """, "policy": {}}""", HttpStatusCode.BadRequest, "$.policy" },
        { "a key given twice", "services/checkout-api", """{"port": 8080, "port": 9090}""", HttpStatusCode.BadRequest, "$.port" },
        { "a nested key given twice", "services/checkout-api/policy", """{"outlierDetection": {"consecutive5xx": 5, "consecutive5xx": 6}}""", HttpStatusCode.BadRequest, "$.outlierDetection.consecutive5xx" },
        { "a control character in a path prefix", "services/checkout-api/routes", """{"routes": [{"name": "r", "match": {"prefix": "/a\u0000b"}, "targets": [{"weight": 100}]}]}""", HttpStatusCode.BadRequest, "$.routes[0].match.prefix" },
        { "a newline in a header value", "services/checkout-api/routes", """{"routes": [{"name": "r", "match": {"headers": [{"name": "x", "exact": "a\nb"}]}, "targets": [{"weight": 100}]}]}""", HttpStatusCode.BadRequest, "$.routes[0].match.headers[0].exact" },
        { "a workload service that is no platform name", "services/checkout-api", """{"port": 8080, "workload": {"platform": "ecs", "cluster": "payments-prod", "service": "check out"}}""", HttpStatusCode.UnprocessableEntity, "$.workload.service" },
        { "a workload port name that is no DNS label", "services/checkout-api", """{"port": 8080, "workload": {"platform": "eks", "cluster": "c1", "namespace": "default", "service": "s", "portName": "HTTP_1"}}""", HttpStatusCode.UnprocessableEntity, "$.workload.portName" },
        { "the outbound listener's port as the app port", "services/checkout-api", Service.Replace("8080", "15001", StringComparison.Ordinal) + "}", HttpStatusCode.UnprocessableEntity, "$.port" },
        { "envoy's admin port as the app port", "services/checkout-api", Service.Replace("8080", "9901", StringComparison.Ordinal) + "}", HttpStatusCode.UnprocessableEntity, "$.port" },
        { "too many routes", "services/checkout-api/routes", $$"""{"routes": [{{string.Join(",", Enumerable.Range(0, 10_000).Select(_ => """{"targets":[]}"""))}}]}""", HttpStatusCode.UnprocessableEntity, "$.routes" },
        { "an IAM role that is no role ARN", "services/checkout-api", """{"port": 8080, "proxyIdentities": {"iamRoles": ["arn:aws:iam::210987654321:user/alice"]}}""", HttpStatusCode.UnprocessableEntity, "$.proxyIdentities.iamRoles[0]" },
        { "a null IAM role", "services/checkout-api", """{"port": 8080, "proxyIdentities": {"iamRoles": [null]}}""", HttpStatusCode.BadRequest, "$.proxyIdentities.iamRoles[0]" },
        { "a SPIFFE ID of another scheme", "services/checkout-api", """{"port": 8080, "proxyIdentities": {"spiffeIds": ["https://mesh.local/x"]}}""", HttpStatusCode.UnprocessableEntity, "$.proxyIdentities.spiffeIds[0]" },
        { "identities as a string", "services/checkout-api", """{"port": 8080, "proxyIdentities": "storefront"}""", HttpStatusCode.BadRequest, "$.proxyIdentities" },
        { "an unknown data plane", "services/checkout-api", """{"port": 8080, "dataPlane": "sidecarless"}""", HttpStatusCode.BadRequest, "$.dataPlane" },
        { "a regex longer than the limit", "services/checkout-api/routes", $$"""{"routes": [{"name": "r", "match": {"regex": "/{{new string('a', 2000)}}"}, "targets": [{"weight": 100}]}]}""", HttpStatusCode.UnprocessableEntity, "$.routes[0].match.regex" },
    };

    [Theory]
    [MemberData(nameof(BadEdits))]
    public async Task A_bad_edit_is_a_4xx_naming_the_field_and_changes_nothing(string _, string resource, string body, HttpStatusCode status, string path)
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        var before = await PolicyApiTests.StateAsync(host);

        using var response = await PolicyApiTests.PutAsync(alice, $"/v1/meshes/shop/{resource}", body, await PolicyApiTests.ETagAsync(alice, $"/v1/meshes/shop/{resource}"));
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await LocalHostFixture.JsonAsync(response);
        Assert.Contains(problem.GetProperty("errors").EnumerateArray(), e => e.GetProperty("path").GetString() == path);
        Assert.Equal(before, await PolicyApiTests.StateAsync(host));
    }

    [Fact]
    public async Task A_proxyless_grpc_service_may_not_call_a_service_that_takes_only_mtls_nor_take_mtls_itself()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        const string payments = "/v1/meshes/shop/services/payments/policy";
        using (var strict = await PolicyApiTests.PutAsync(alice, payments, """{"mtls": "STRICT"}""", await PolicyApiTests.ETagAsync(alice, payments)))
            strict.EnsureSuccessStatusCode();
        var before = await PolicyApiTests.StateAsync(host);
        const string storefront = "/v1/meshes/shop/services/storefront";
        using var refused = await PolicyApiTests.PutAsync(alice, storefront, """{"port": 8080, "dataPlane": "proxyless-grpc", "backends": ["payments"]}""",
            await PolicyApiTests.ETagAsync(alice, storefront));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Contains((await LocalHostFixture.JsonAsync(refused)).GetProperty("errors").EnumerateArray(), e => e.GetProperty("path").GetString() == "$.backends[0]");
        Assert.Equal(before, await PolicyApiTests.StateAsync(host));
        using var ownMtls = await PolicyApiTests.PutAsync(alice, payments.Replace("services/payments/policy", "services/payments", StringComparison.Ordinal),
            """{"port": 9000, "protocol": "grpc", "dataPlane": "proxyless-grpc"}""", await PolicyApiTests.ETagAsync(alice, "/v1/meshes/shop/services/payments"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, ownMtls.StatusCode);
        Assert.Contains((await LocalHostFixture.JsonAsync(ownMtls)).GetProperty("errors").EnumerateArray(), e => e.GetProperty("path").GetString() == "$.dataPlane");
        Assert.Equal(before, await PolicyApiTests.StateAsync(host));
    }

    [Theory]
    [InlineData("transport=bogus")]
    [InlineData("transport=ADS")]
    [InlineData("transport=ads")]
    public async Task A_bootstrap_transport_that_is_not_offered_is_a_400_naming_it(string query)
    {
        // No ADS server here: ads is refused too, naming why.
        await using var host = await LocalHostFixture.StartAsync();
        using var response = await host.Http.GetAsync($"/v1/meshes/shop/fleets/storefront/bootstrap?{query}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains((await LocalHostFixture.JsonAsync(response)).GetProperty("errors").EnumerateArray(), e => e.GetProperty("path").GetString() == "$.transport");
    }

    [Theory]
    [InlineData("1")]
    [InlineData("yes")]
    [InlineData("on")]
    [InlineData("y")]
    [InlineData("")]
    [InlineData("true&dryRun=false")]
    public async Task Only_true_or_false_is_a_dry_run_answer_and_anything_else_applies_nothing(string value)
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        var before = await PolicyApiTests.StateAsync(host);
        var path = "/v1/meshes/shop/services/checkout-api/routes";
        using var response = await PolicyApiTests.PutAsync(alice, $"{path}?dryRun={value}",
            """{"routes": [{"name": "r", "targets": [{"subset": "v58", "weight": 100}]}]}""", await PolicyApiTests.ETagAsync(alice, path));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains((await LocalHostFixture.JsonAsync(response)).GetProperty("errors").EnumerateArray(), e => e.GetProperty("path").GetString() == "$.dryRun");
        Assert.Equal(before, await PolicyApiTests.StateAsync(host));
    }

    [Theory]
    [InlineData("""{"node":{"id":"p1","cluster":"shop/storefront"},"version_info":"","resource_names":[1]}""")]
    [InlineData("""{"node":{"id":"p1","cluster":"shop/storefront"},"version_info":7}""")]
    [InlineData("""{"node":"shop/storefront"}""")]
    [InlineData("""[]""")]
    [InlineData("""not json""")]
    public async Task A_malformed_discovery_request_is_a_400(string body)
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var response = await host.Http.PostAsync("/v3/discovery:endpoints", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Events_need_a_token_outside_lambda_and_bodies_have_limits()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var anonymous = await host.Http.PostAsync("/events", new StringContent("""{"Records":[]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);

        var huge = $$"""{"Records":[{"messageId":"m","body":"{{new string('x', 7 * 1024 * 1024)}}"}]}""";
        using var tooLarge = await host.PostEventsAsync(huge);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        var names = string.Join(",", Enumerable.Range(0, 60_000).Select(i => $"\"outbound|svc-{i}\""));
        using var xds = await host.Http.PostAsync("/v3/discovery:endpoints",
            new StringContent($$"""{"node":{"id":"p1","cluster":"shop/storefront"},"resource_names":[{{names}}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, xds.StatusCode);
    }

    [Fact]
    public async Task Responses_are_not_cached_or_sniffed_and_name_no_server()
    {
        await using var host = await LocalHostFixture.StartAsync();
        foreach (var path in new[] { "/v1/meshes", "/v1/meshes/shop/fleets/storefront/bootstrap", "/v1/meshes/nope" })
        {
            using var response = await host.Http.GetAsync(path);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
            Assert.False(response.Headers.Contains("Server"), path);
        }
    }

    [Fact]
    public async Task A_bootstrap_never_names_a_host_the_request_made_up()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var forged = new HttpRequestMessage(HttpMethod.Get, "/v1/meshes/shop/fleets/storefront/bootstrap");
        forged.Headers.Host = "evil.example";
        forged.Headers.Add("X-Forwarded-Proto", "https");
        using var response = await host.Http.SendAsync(forged);
        Assert.Equal(HttpStatusCode.MisdirectedRequest, response.StatusCode);
        Assert.DoesNotContain("evil.example", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        await using var configured = await LocalHostFixture.StartAsync(new KeyValuePair<string, string?>("Xds:ControlPlaneUrl", "https://xds.mesh.example"));
        using var named = new HttpRequestMessage(HttpMethod.Get, "/v1/meshes/shop/fleets/storefront/bootstrap");
        named.Headers.Host = "evil.example";
        using var bootstrap = await configured.Http.SendAsync(named);
        var body = await bootstrap.Content.ReadAsStringAsync();
        Assert.Contains("xds.mesh.example", body, StringComparison.Ordinal);
        Assert.DoesNotContain("evil.example", body, StringComparison.Ordinal);
    }
}
