using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Mesh.Tests.Support;

namespace Mesh.Tests.Http;

/// <summary>The whole mesh as one document: export, plan, apply atomically, round trips in JSON and YAML.</summary>
public class MeshSpecTests
{
    private const string Spec = "/v1/meshes/shop/spec";

    private static async Task<HttpResponseMessage> PutAsync(HttpClient client, string path, string body, string? ifMatch, string mediaType = "application/json")
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, path) { Content = new StringContent(body, Encoding.UTF8, mediaType) };
        if (ifMatch is not null) request.Headers.IfMatch.Add(EntityTagHeaderValue.Parse(ifMatch));
        return await client.SendAsync(request);
    }

    [Fact]
    public async Task Exporting_and_applying_again_changes_nothing_in_json_and_in_yaml()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        using var exported = await alice.GetAsync(Spec);
        var tag = exported.Headers.ETag!.ToString();
        var json = await exported.Content.ReadAsStringAsync();
        Assert.Equal("shop", (string?)JsonNode.Parse(json)!["mesh"]);

        using var applied = await PutAsync(alice, Spec, json, tag);
        Assert.True(applied.StatusCode == HttpStatusCode.OK, await applied.Content.ReadAsStringAsync());
        Assert.False((await LocalHostFixture.JsonAsync(applied)).TryGetProperty("change", out _));
        // (Re-sending an unchanged mesh reconciles it, which records the seeding change's versions: state is read after.)
        var before = await PolicyApiTests.StateAsync(host);
        var yaml = await alice.GetStringAsync($"{Spec}?format=yaml");
        Assert.Contains("mesh: \"shop\"", yaml, StringComparison.Ordinal);
        using var appliedYaml = await PutAsync(alice, Spec, yaml, tag, "application/yaml");
        Assert.Equal(HttpStatusCode.OK, appliedYaml.StatusCode);
        Assert.False((await LocalHostFixture.JsonAsync(appliedYaml)).TryGetProperty("change", out var yamlChange), yamlChange.ToString());
        Assert.Equal(before, await PolicyApiTests.StateAsync(host));
    }

    [Fact]
    public async Task Applying_a_document_makes_the_mesh_exactly_that_as_one_change_that_exports_back_and_rolls_back()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        using var exported = await alice.GetAsync(Spec);
        var original = await exported.Content.ReadAsStringAsync();
        var document = JsonNode.Parse(original)!;
        document["settings"]!["egress"]!["mode"] = "DROP_ALL";
        var services = document["services"]!.AsArray();
        services.Add(JsonNode.Parse("""{"service": {"name": "reviews", "port": 9080}, "routes": [], "policy": {"mtls": "STRICT", "allowedCallers": ["storefront"]}}"""));
        var storefront = services.Single(s => (string?)s!["service"]!["name"] == "storefront")!;
        storefront["service"]!["backends"]!.AsArray().Add("reviews");
        var wanted = document.ToJsonString();

        var plan = await LocalHostFixture.JsonAsync(await PutAsync(alice, $"{Spec}?dryRun=true", wanted, exported.Headers.ETag!.ToString()));
        using var applied = await PutAsync(alice, Spec, wanted, exported.Headers.ETag!.ToString());
        Assert.Equal(HttpStatusCode.OK, applied.StatusCode);
        var result = await LocalHostFixture.JsonAsync(applied);
        Assert.Equal(plan.GetProperty("plan").GetRawText(), result.GetProperty("plan").GetRawText());
        var resources = result.GetProperty("change").GetProperty("resources").EnumerateArray().Select(r => r.GetProperty("resource").GetString()).ToList();
        Assert.Equal(["services/reviews", "services/reviews/policy", "services/storefront", "settings"], resources.Order());

        // Normalised: the defaults filled in, services in name order, each naming its mesh.
        var exportedAgain = await alice.GetStringAsync(Spec);
        var spec = System.Text.Json.JsonSerializer.Deserialize(wanted, Mesh.Contracts.State.StateJson.Default.MeshSpec)!;
        spec = spec with { Services = [.. spec.Services.OrderBy(s => s.Service.Name, StringComparer.Ordinal).Select(s => s with { Service = s.Service with { Mesh = "shop" } })] };
        var normalised = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(spec, Mesh.Contracts.State.StateJson.Default.MeshSpec));
        Assert.True(JsonNode.DeepEquals(normalised, JsonNode.Parse(exportedAgain)), exportedAgain);

        using var rollback = await alice.PostAsync($"/v1/meshes/shop/changes/{result.GetProperty("change").GetProperty("id").GetString()}/rollback", null);
        Assert.Equal(HttpStatusCode.OK, rollback.StatusCode);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(original), JsonNode.Parse(await alice.GetStringAsync(Spec))));
    }

    [Theory]
    [InlineData("""{"name": "inventory-api", "port": 70000}""", "services/inventory-api", "$.port")]
    [InlineData(null, "services/checkout-api", "$.backends[0]")]
    public async Task A_document_with_one_bad_service_changes_nothing_and_names_that_services_field(string? inventory, string resource, string path)
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        var before = await PolicyApiTests.StateAsync(host);
        using var exported = await alice.GetAsync(Spec);
        var document = JsonNode.Parse(await exported.Content.ReadAsStringAsync())!;
        var services = document["services"]!.AsArray();
        var index = services.Select((s, i) => (s, i)).Single(x => (string?)x.s!["service"]!["name"] == (inventory is null ? "payments" : "inventory-api")).i;
        if (inventory is null) services.RemoveAt(index);   // checkout-api still calls payments
        else services[index]!["service"] = JsonNode.Parse(inventory);

        using var response = await PutAsync(alice, Spec, document.ToJsonString(), exported.Headers.ETag!.ToString());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var problem = await LocalHostFixture.JsonAsync(response);
        Assert.Contains(problem.GetProperty("errors").EnumerateArray(), e => e.GetProperty("resource").GetString() == resource && e.GetProperty("path").GetString() == path);
        Assert.Equal(before, await PolicyApiTests.StateAsync(host));
    }

    [Theory]
    [InlineData("""{"mesh": "other", "services": []}""", "$.mesh")]
    [InlineData("""{"services": [{"service": {"name": "a", "port": 80}}, {"service": {"name": "a", "port": 81}}]}""", "$.services[1].service.name")]
    [InlineData("""{"services": [{"service": {"port": 80}}]}""", "$.services[0].service.name")]
    [InlineData("""{"services": [{"service": {"name": "a", "port": 80}, "extra": 1}]}""", "$.services[0].extra")]
    public async Task A_document_that_contradicts_itself_is_refused_naming_the_field(string body, string path)
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        using var response = await PutAsync(alice, Spec, body, await PolicyApiTests.ETagAsync(alice, Spec));
        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.UnprocessableEntity, response.StatusCode.ToString());
        Assert.Contains((await LocalHostFixture.JsonAsync(response)).GetProperty("errors").EnumerateArray(), e => e.GetProperty("path").GetString() == path);
    }

    [Fact]
    public async Task A_new_mesh_is_created_from_a_yaml_document_in_one_change()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        const string yaml = """
            mesh: books
            settings:
              egress: {mode: DROP_ALL}
            services:
              - service: {name: web, port: 8080, backends: [api]}
              - service: {name: api, port: 9090, protocol: grpc}
                policy: {requestTimeoutMs: 2500}
            """;
        using var created = await PutAsync(alice, "/v1/meshes/books/spec", yaml, null, "application/yaml");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var change = (await LocalHostFixture.JsonAsync(created)).GetProperty("change");
        Assert.Equal("Created", change.GetProperty("lifecycle").GetString());
        Assert.Equal(2, (await LocalHostFixture.JsonAsync(await alice.GetAsync("/v1/meshes/books/fleets"))).GetArrayLength());
        Assert.Equal(2500, (await LocalHostFixture.JsonAsync(await alice.GetAsync("/v1/meshes/books/services/api/policy"))).GetProperty("requestTimeoutMs").GetInt32());
        Assert.Equal(HttpStatusCode.PreconditionRequired, (await PutAsync(alice, "/v1/meshes/books/spec", yaml, null, "application/yaml")).StatusCode);
    }

    [Theory]
    [InlineData("mesh: [unclosed", "$")]
    [InlineData("base: &a {x: 1}\nother: *a", "$")]
    [InlineData("services:\n  - service: {name: a, port: \"80\"}", "$.services[0].service.port")]
    public async Task Bad_yaml_is_refused_with_a_400(string yaml, string path)
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var alice = host.As("alice");
        using var response = await PutAsync(alice, Spec, yaml, await PolicyApiTests.ETagAsync(alice, Spec), "application/yaml");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains((await LocalHostFixture.JsonAsync(response)).GetProperty("errors").EnumerateArray(), e => e.GetProperty("path").GetString() == path);
    }

    [Fact]
    public async Task The_committed_schema_of_the_document_is_the_one_served()
    {
        await using var host = await LocalHostFixture.StartAsync();
        var served = await host.Http.GetStringAsync("/v1/schemas/mesh-spec.json");
        var schema = JsonNode.Parse(served)!;
        Assert.NotNull(schema["properties"]!["services"]);
        await Golden.AssertMatchesAsync(Path.Combine(Repo.Root, "mesh-spec.schema.json"), served);
    }
}

public class YamlToJsonTests
{
    [Theory]
    [InlineData("port: 1e400", "{\"port\":\"1e400\"}")]
    [InlineData("a: 'true'\nb: true\nc: ~\nd: -12\ne: 1.5", "{\"a\":\"true\",\"b\":true,\"c\":null,\"d\":-12,\"e\":1.5}")]
    public void Plain_scalars_follow_the_core_schema_and_nothing_infinite_reaches_json(string yaml, string json) =>
        Assert.Equal(json, System.Text.Encoding.UTF8.GetString(Mesh.Api.YamlToJson.Convert(System.Text.Encoding.UTF8.GetBytes(yaml))));

    [Fact]
    public void Nesting_beyond_the_limit_is_a_yaml_error_not_a_crash()
    {
        var deep = string.Concat(Enumerable.Repeat("[", 200)) + string.Concat(Enumerable.Repeat("]", 200));
        Assert.Throws<YamlDotNet.Core.YamlException>(() => Mesh.Api.YamlToJson.Convert(System.Text.Encoding.UTF8.GetBytes(deep)));
    }
}
