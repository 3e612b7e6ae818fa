using System.Net;
using System.Text.Json;
using Envoy.Schema;
using Mesh.Core.Compile;
using Mesh.Tests.Support;

namespace Mesh.Tests.Http;

/// <summary>The ECS and EKS fragments, parsed: App Mesh's interception, Envoy's identity and health, and a bootstrap Envoy accepts.</summary>
public class SidecarFragmentTests
{
    private static async Task<JsonElement> FragmentAsync(LocalHostFixture host, string platform, string query = "")
    {
        using var response = await host.Http.GetAsync($"/v1/meshes/shop/fleets/checkout-api/sidecar?platform={platform}{query}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    /// <summary>The bootstrap as the start command leaves it: placeholders replaced by the task's or pod's id and zone.</summary>
    private static JsonElement StartedBootstrap(string bootstrap, string node, string zone, string region)
    {
        var started = bootstrap.Replace(SidecarFragments.NodePlaceholder, node, StringComparison.Ordinal)
            .Replace(SidecarFragments.ZonePlaceholder, zone, StringComparison.Ordinal).Replace(SidecarFragments.RegionPlaceholder, region, StringComparison.Ordinal);
        Assert.Empty(EnvoySchema.CheckMessage(started, "envoy.config.bootstrap.v3.Bootstrap"));
        return JsonDocument.Parse(started).RootElement.Clone();
    }

    [Fact]
    public async Task The_ecs_fragment_intercepts_as_app_mesh_did_and_starts_envoy_from_the_fleets_bootstrap()
    {
        await using var host = await LocalHostFixture.StartAsync();
        var fragment = await FragmentAsync(host, "ecs", "&image=123456789012.dkr.ecr.eu-west-1.amazonaws.com/envoy:v1.33");
        var envoy = Assert.Single(fragment.GetProperty("containerDefinitions").EnumerateArray());
        Assert.Equal("123456789012.dkr.ecr.eu-west-1.amazonaws.com/envoy:v1.33", envoy.GetProperty("image").GetString());

        var proxy = fragment.GetProperty("proxyConfiguration");
        Assert.Equal("APPMESH", proxy.GetProperty("type").GetString());
        Assert.Equal(envoy.GetProperty("name").GetString(), proxy.GetProperty("containerName").GetString());
        var properties = proxy.GetProperty("properties").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("value").GetString()!);
        // Envoy's own traffic must not be redirected back to itself: it runs as the ignored user.
        Assert.Equal(envoy.GetProperty("user").GetString(), properties["IgnoredUID"]);
        Assert.Equal(("15000", "15001", "8080"), (properties["ProxyIngressPort"], properties["ProxyEgressPort"], properties["AppPorts"]));
        Assert.Contains("169.254.170.2", properties["EgressIgnoredIPs"], StringComparison.Ordinal);

        var health = envoy.GetProperty("healthCheck").GetProperty("command").EnumerateArray().Select(c => c.GetString()).ToList();
        Assert.Equal("CMD-SHELL", health[0]);
        Assert.Contains("127.0.0.1:9901/ready", health[1], StringComparison.Ordinal);
        var dependsOn = Assert.Single(fragment.GetProperty("appContainerDependsOn").EnumerateArray());
        Assert.Equal(("envoy", "HEALTHY"), (dependsOn.GetProperty("containerName").GetString(), dependsOn.GetProperty("condition").GetString()));

        var command = Assert.Single(envoy.GetProperty("command").EnumerateArray()).GetString()!;
        Assert.Contains("ECS_CONTAINER_METADATA_URI_V4", command, StringComparison.Ordinal);
        // The SDS files the mTLS contexts name are written where they look, from the fragment's own variables.
        Assert.Contains($"\"${SidecarFragments.CertificateSecretVariable}\" > '/tmp/envoy-sds/svid.json'", command, StringComparison.Ordinal);
        Assert.Contains($"\"${SidecarFragments.ValidationSecretVariable}\" > '/tmp/envoy-sds/bundle.json'", command, StringComparison.Ordinal);
        var secret = envoy.GetProperty("environment").EnumerateArray().Single(e => e.GetProperty("name").GetString() == SidecarFragments.CertificateSecretVariable).GetProperty("value").GetString()!;
        Assert.Empty(EnvoySchema.CheckMessage(secret, "envoy.service.discovery.v3.DiscoveryResponse"));
        Assert.EndsWith("exec envoy -c /tmp/envoy.json", command, StringComparison.Ordinal);
        var bootstrap = envoy.GetProperty("environment").EnumerateArray().Single(e => e.GetProperty("name").GetString() == SidecarFragments.BootstrapVariable).GetProperty("value").GetString()!;
        var started = StartedBootstrap(bootstrap, "8f2c4d61a9b34e0c", "eu-west-1a", "eu-west-1");
        Assert.Equal("shop/checkout-api", started.GetProperty("node").GetProperty("cluster").GetString());
        Assert.Equal("8f2c4d61a9b34e0c", started.GetProperty("node").GetProperty("id").GetString());
        Assert.Equal("eu-west-1", started.GetProperty("node").GetProperty("locality").GetProperty("region").GetString());
    }

    [Fact]
    public async Task The_eks_fragment_has_the_init_container_that_redirects_and_an_envoy_sidecar_as_the_ignored_user()
    {
        await using var host = await LocalHostFixture.StartAsync();
        var fragment = await FragmentAsync(host, "eks");
        var init = Assert.Single(fragment.GetProperty("initContainers").EnumerateArray());
        Assert.Contains("NET_ADMIN", init.GetProperty("securityContext").GetProperty("capabilities").GetProperty("add").EnumerateArray().Select(c => c.GetString()));
        var env = init.GetProperty("env").EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!, e => e.GetProperty("value").GetString()!);
        var envoy = Assert.Single(fragment.GetProperty("containers").EnumerateArray());
        Assert.Equal(env["APPMESH_IGNORE_UID"], envoy.GetProperty("securityContext").GetProperty("runAsUser").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(("15000", "15001", "8080", "1"), (env["APPMESH_ENVOY_INGRESS_PORT"], env["APPMESH_ENVOY_EGRESS_PORT"], env["APPMESH_APP_PORTS"], env["APPMESH_START_ENABLED"]));
        Assert.Equal(9901, envoy.GetProperty("readinessProbe").GetProperty("httpGet").GetProperty("port").GetInt32());
        var bootstrap = envoy.GetProperty("env").EnumerateArray().Single(e => e.GetProperty("name").GetString() == SidecarFragments.BootstrapVariable).GetProperty("value").GetString()!;
        Assert.Equal("checkout-api-7c9d8f6b54-mq4tz", StartedBootstrap(bootstrap, "checkout-api-7c9d8f6b54-mq4tz", "", "").GetProperty("node").GetProperty("id").GetString());
    }

    [Theory]
    [InlineData("?platform=lambda", "$.platform")]
    [InlineData("", "$.platform")]
    [InlineData("?platform=ecs&image=a%20b", "$.image")]
    [InlineData("?platform=ecs&image=x%0Ay", "$.image")]
    public async Task A_bad_query_is_a_400_naming_the_parameter(string query, string path)
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var response = await host.Http.GetAsync($"/v1/meshes/shop/fleets/checkout-api/sidecar{query}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains((await LocalHostFixture.JsonAsync(response)).GetProperty("errors").EnumerateArray(), e => e.GetProperty("path").GetString() == path);
    }
}
