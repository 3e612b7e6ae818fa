using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Envoy.Schema;
using Mesh.Tests.Support;
using YamlDotNet.Serialization;

namespace Mesh.Tests.Http;

public class ApiDocumentTests
{
    private static string DocumentPath => Path.Combine(Repo.Root, "openapi.json");

    /// <summary>The committed OpenAPI document is the one the running API generates from its routes. UPDATE_GOLDEN=1 rewrites it.</summary>
    [Fact]
    public async Task The_committed_openapi_document_matches_the_one_the_api_serves()
    {
        await using var host = await LocalHostFixture.StartAsync();
        var served = JsonNode.Parse(await host.Http.GetStringAsync("/openapi/v1.json"))!.AsObject();
        served.Remove("servers");
        var actual = served.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
        await Golden.AssertMatchesAsync(DocumentPath, actual);
        foreach (var path in new[] { "/v1/meshes/{mesh}/services/{service}/routes", "/v1/meshes/{mesh}/changes/{id}/rollback", "/v3/discovery:{type}" })
            Assert.True(served["paths"]!.AsObject().ContainsKey(path), path);
    }

    [Theory]
    [InlineData("json")]
    [InlineData("yaml")]
    public async Task A_fleets_bootstrap_in_json_or_yaml_is_a_bootstrap_envoys_schema_accepts(string format)
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var response = await host.Http.GetAsync($"/v1/meshes/shop/fleets/checkout-api/bootstrap?node=checkout-1&zone=us-east-1a&format={format}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        var json = format == "json" ? body : YamlAsJson(body);
        Assert.Empty(EnvoySchema.CheckMessage(json, "envoy.config.bootstrap.v3.Bootstrap"));
        Assert.Contains("\"shop/checkout-api\"", json);
    }

    [Fact]
    public async Task An_unknown_bootstrap_format_is_a_problem()
    {
        await using var host = await LocalHostFixture.StartAsync();
        using var response = await host.Http.GetAsync("/v1/meshes/shop/fleets/checkout-api/bootstrap?format=toml");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    /// <summary>Reads YAML as Envoy's loader does (to a JSON tree) with an independent reader, YamlDotNet's deserializer.</summary>
    private static string YamlAsJson(string yaml)
    {
        var tree = new DeserializerBuilder().Build().Deserialize<object>(yaml);
        return JsonSerializer.Serialize(ToJson(tree));
    }

    private static JsonNode? ToJson(object? node) => node switch
    {
        Dictionary<object, object?> map => new JsonObject(map.Select(p => KeyValuePair.Create((string)p.Key, ToJson(p.Value)))),
        List<object?> list => new JsonArray([.. list.Select(ToJson)]),
        string scalar when long.TryParse(scalar, out var number) => JsonValue.Create(number),
        string scalar when scalar is "true" or "false" => JsonValue.Create(scalar == "true"),
        string scalar => JsonValue.Create(scalar),
        _ => null,
    };
}
