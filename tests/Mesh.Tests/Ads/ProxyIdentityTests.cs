using System.Net;
using Microsoft.Extensions.DependencyInjection;
using System.Net.Http.Json;
using System.Text.Json;
using Envoy.Schema;
using Mesh.Core.Editing;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Serving;
using Mesh.Tests.Support;

namespace Mesh.Tests.Ads;

/// <summary>Every proxy is bound to its fleet: REST polls signed by IAM (AWS) or carrying the fleet token, and bootstraps per transport.</summary>
public sealed class ProxyIdentityTests
{
    private const string StorefrontRole = "arn:aws:iam::210987654321:role/ecs/storefront-task";

    [Fact]
    public async Task In_aws_a_poll_signed_by_the_fleets_role_is_served_another_role_is_forbidden_and_an_unsigned_one_unauthenticated()
    {
        await using var host = await LocalHostFixture.StartAsync(new KeyValuePair<string, string?>("Auth:Mode", "Iam"));
        var desired = host.Services.GetRequiredService<IDesiredStateStore>();
        var services = host.Samples.DesiredState.Services.Select(s => s.Name == "storefront"
            ? s with { ProxyIdentities = new ProxyIdentities { IamRoles = [StorefrontRole] } } : s).ToList();
        await desired.PutServicesAsync(services, CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, (await PollAsync(host, "shop/storefront", "arn:aws:sts::210987654321:assumed-role/storefront-task/3f1c9a")).StatusCode);
        using var otherFleet = await PollAsync(host, "shop/payments", "arn:aws:sts::210987654321:assumed-role/storefront-task/3f1c9a");
        Assert.Equal(HttpStatusCode.Forbidden, otherFleet.StatusCode);
        Assert.Equal("application/problem+json", otherFleet.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Forbidden, (await PollAsync(host, "shop/storefront", "arn:aws:sts::210987654321:assumed-role/payments-task/77")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await PollAsync(host, "shop/storefront", "arn:aws:sts::999999999999:assumed-role/storefront-task/1")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PollAsync(host, "shop/storefront", null)).StatusCode);

        // Refused polls are not recorded: payments has no proxy.
        var tracker = host.Services.GetRequiredService<ProxyTracker>();
        Assert.Equal(0, await tracker.CountProxiesAsync(new FleetId("shop", "payments"), CancellationToken.None));
        Assert.Equal(1, await tracker.CountProxiesAsync(new FleetId("shop", "storefront"), CancellationToken.None));
    }

    [Fact]
    public async Task Locally_a_poll_with_another_fleets_token_is_forbidden_and_one_without_a_token_unauthenticated()
    {
        await using var host = await LocalHostFixture.StartAsync(AdsHost.Settings());
        Assert.Equal(HttpStatusCode.OK, (await host.PollAsync("shop/storefront", "clusters", "")).StatusCode);
        var storefrontToken = AdsProtocolTests.Token("shop/storefront");
        Assert.Equal(HttpStatusCode.Forbidden, (await PollWithTokenAsync(host, "shop/payments", storefrontToken)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await PollWithTokenAsync(host, "shop/storefront", "mft1.made-up")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PollWithTokenAsync(host, "shop/storefront", null)).StatusCode);
    }

    [Theory]
    [InlineData("rest", null)]
    [InlineData("ads", "GRPC")]
    [InlineData("delta", "DELTA_GRPC")]
    public async Task Each_transport_has_a_bootstrap_envoy_accepts_carrying_the_fleets_token(string transport, string? apiType)
    {
        await using var host = await LocalHostFixture.StartAsync(AdsHost.Settings());
        using var alice = host.As("alice");
        var url = $"/v1/meshes/shop/fleets/storefront/bootstrap?node=sf-1&zone=eu-west-1a&transport={transport}";
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Http.GetAsync(url)).StatusCode);
        var json = await alice.GetStringAsync(url);
        Assert.Empty(EnvoySchema.CheckMessage(json, "envoy.config.bootstrap.v3.Bootstrap"));
        var bootstrap = JsonDocument.Parse(json).RootElement;
        Assert.Equal(AdsProtocolTests.Token("shop/storefront"), bootstrap.GetProperty("node").GetProperty("metadata").GetProperty(FleetTokens.MetadataKey).GetString());
        var dynamic = bootstrap.GetProperty("dynamic_resources");
        if (apiType is null)
        {
            Assert.False(dynamic.TryGetProperty("ads_config", out _));
            Assert.Equal("REST", dynamic.GetProperty("cds_config").GetProperty("api_config_source").GetProperty("api_type").GetString());
            return;
        }
        Assert.Equal(apiType, dynamic.GetProperty("ads_config").GetProperty("api_type").GetString());
        Assert.True(dynamic.GetProperty("lds_config").TryGetProperty("ads", out _));
        var xds = bootstrap.GetProperty("static_resources").GetProperty("clusters").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "xds-grpc");
        var address = xds.GetProperty("load_assignment").GetProperty("endpoints")[0].GetProperty("lb_endpoints")[0].GetProperty("endpoint").GetProperty("address").GetProperty("socket_address");
        Assert.Equal(AdsHost.AdsAddress(host).Port, address.GetProperty("port_value").GetInt32());
        Assert.True(xds.GetProperty("typed_extension_protocol_options").EnumerateObject().Single().Value.GetProperty("explicit_http_config").TryGetProperty("http2_protocol_options", out _));
    }

    [Fact]
    public async Task In_aws_the_rest_bootstrap_signs_its_polls_with_sigv4_and_envoy_accepts_it()
    {
        await using var host = await LocalHostFixture.StartAsync(new("Auth:Mode", "Iam"), new("AWS_REGION", "eu-west-1"), new("Xds:ControlPlaneUrl", "https://api.mesh.example.com"));
        var json = await host.Http.GetStringAsync("/v1/meshes/shop/fleets/storefront/bootstrap?node=sf-1");
        Assert.Empty(EnvoySchema.CheckMessage(json, "envoy.config.bootstrap.v3.Bootstrap"));
        var cluster = JsonDocument.Parse(json).RootElement.GetProperty("static_resources").GetProperty("clusters").EnumerateArray()
            .Single(c => c.GetProperty("name").GetString() == "localhost");
        var filters = cluster.GetProperty("typed_extension_protocol_options").EnumerateObject().Single().Value.GetProperty("http_filters");
        var signing = filters[0].GetProperty("typed_config");
        Assert.Equal("execute-api", signing.GetProperty("service_name").GetString());
        Assert.Equal("eu-west-1", signing.GetProperty("region").GetString());
        Assert.Equal("envoy.filters.http.upstream_codec", filters[filters.GetArrayLength() - 1].GetProperty("name").GetString());
    }

    [Fact]
    public async Task A_proxyless_grpc_fleet_gets_grpcs_bootstrap_and_no_sidecar()
    {
        await using var host = await LocalHostFixture.StartAsync(AdsHost.Settings());
        var desired = host.Services.GetRequiredService<IDesiredStateStore>();
        await desired.PutServicesAsync([.. host.Samples.DesiredState.Services.Select(s => s.Name == "storefront" ? s with { DataPlane = DataPlane.ProxylessGrpc } : s)], CancellationToken.None);
        using var alice = host.As("alice");
        var bootstrap = JsonDocument.Parse(await alice.GetStringAsync("/v1/meshes/shop/fleets/storefront/bootstrap?node=sf-1&zone=eu-west-1b")).RootElement;
        var server = Assert.Single(bootstrap.GetProperty("xds_servers").EnumerateArray());
        Assert.Equal($"127.0.0.1:{AdsHost.AdsAddress(host).Port}", server.GetProperty("server_uri").GetString());
        Assert.Equal("insecure", server.GetProperty("channel_creds")[0].GetProperty("type").GetString());
        Assert.Equal("eu-west-1b", bootstrap.GetProperty("node").GetProperty("locality").GetProperty("zone").GetString());
        using var sidecar = await alice.GetAsync("/v1/meshes/shop/fleets/storefront/sidecar?platform=ecs");
        Assert.Equal(HttpStatusCode.BadRequest, sidecar.StatusCode);
    }

    [Theory]
    [InlineData("arn:aws:iam::210987654321:role/storefront", "arn:aws:sts::210987654321:assumed-role/storefront/i-0abc", true)]
    [InlineData("arn:aws:iam::210987654321:role/ecs/tasks/storefront", "arn:aws:sts::210987654321:assumed-role/storefront/task", true)]
    [InlineData("arn:aws:iam::210987654321:role/storefront", "arn:aws:iam::210987654321:role/storefront", true)]
    [InlineData("arn:aws:iam::210987654321:role/storefront", "arn:aws:sts::210987654321:assumed-role/storefront-admin/x", false)]
    [InlineData("arn:aws:iam::210987654321:role/storefront", "arn:aws:sts::123456789012:assumed-role/storefront/x", false)]
    [InlineData("arn:aws:iam::210987654321:role/storefront", "arn:aws-cn:sts::210987654321:assumed-role/storefront/x", false)]
    [InlineData("arn:aws:iam::210987654321:role/storefront", "arn:aws:iam::210987654321:user/storefront", false)]
    [InlineData("arn:aws:iam::210987654321:role/storefront", "arn:aws:sts::210987654321:assumed-role/storefront", false)]
    public void A_role_matches_its_own_sessions_only(string role, string principal, bool matches) =>
        Assert.Equal(matches, IamRoles.Matches(role, principal));

    private static async Task<HttpResponseMessage> PollAsync(LocalHostFixture host, string fleet, string? principal)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v3/discovery:clusters")
        {
            Content = JsonContent.Create(new Dictionary<string, object> { ["node"] = new Dictionary<string, string> { ["id"] = "p1", ["cluster"] = fleet }, ["version_info"] = "" }),
        };
        if (principal is not null)
            request.Headers.Add("x-amzn-request-context", JsonSerializer.Serialize(new { authorizer = new { iam = new { userArn = principal } } }));
        return await host.Http.SendAsync(request);
    }

    private static async Task<HttpResponseMessage> PollWithTokenAsync(LocalHostFixture host, string fleet, string? token)
    {
        var node = new Dictionary<string, object> { ["id"] = "p1", ["cluster"] = fleet };
        if (token is not null) node["metadata"] = new Dictionary<string, string> { [FleetTokens.MetadataKey] = token };
        return await host.Http.PostAsJsonAsync("/v3/discovery:clusters", new Dictionary<string, object> { ["node"] = node, ["version_info"] = "" });
    }
}
