using System.Text;
using Mesh.Adapters.DynamoDb;
using Mesh.LocalHost;
using Mesh.Tests.Support;

namespace Mesh.Tests.Reliability;

[Collection(DynamoDbCollection.Name)]
public class HygieneTests(DynamoDbLocal local)
{
    [Fact]
    public async Task A_newline_in_a_message_id_cannot_forge_a_log_line()
    {
        var log = new StringWriter();
        var settings = LocalPipeline.ContainerInstanceSettings(Repo.Samples)
            .Append(new("Store:SqlitePath", Path.Combine(Directory.CreateTempSubdirectory("mesh-log-").FullName, "mesh.db")))
            .Append(new("urls", "http://127.0.0.1:0"))
            .Append(new("Auth:Tokens:alice", "alice-token"));
        await using var app = LocalPipeline.Build([], settings, log);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", "alice-token");
        var forged = "m1\n    FAIL fleet shop/storefront refused";
        var batch = System.Text.Json.JsonSerializer.Serialize(new { Records = new[] { new { messageId = forged, body = "not an event" } } });
        using var response = await http.PostAsync("/events", new StringContent(batch, Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        await app.StopAsync();

        var lines = log.ToString().Split('\n');
        Assert.Contains(lines, l => l.Contains("m1\\n    FAIL fleet shop/storefront refused", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("    FAIL fleet shop/storefront refused", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Two_functions_creating_the_table_at_once_both_start()
    {
        var table = $"race-{Guid.NewGuid():N}";
        var client = local.Client();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => DynamoDbTable.EnsureTableAsync(client, table, CancellationToken.None)));
        Assert.Equal(table, (await client.DescribeTableAsync(table)).Table.TableName);
    }
}
