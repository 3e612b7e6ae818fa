using System.Globalization;
using System.Text.Json;
using Amazon.DynamoDBv2.Model;
using Mesh.Contracts.State;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using static Mesh.Adapters.DynamoDb.DynamoDbTable;

namespace Mesh.Adapters.DynamoDb;

/// <summary>Each proxy subscription's last poll, an item that expires by TTL.</summary>
public sealed class DynamoDbProxyStatusStore(DynamoDbTable table) : IProxyStatusStore
{
    /// <summary>A proxy gone this long is forgotten.</summary>

    public async Task<ProxyPoll?> GetPollAsync(SubscriptionKey key, CancellationToken cancellationToken)
    {
        var response = await table.Client.GetItemAsync(new GetItemRequest { TableName = table.Name, Key = PollKey(key) }, cancellationToken);
        return response.Item is { Count: > 0 } item ? ReadPoll(key, item) : null;
    }

    public async Task RecordPollAsync(ProxyPoll poll, CancellationToken cancellationToken)
    {
        var item = PollKey(poll.Key);
        item["node"] = S(poll.Key.NodeId);
        item["type"] = S(poll.Key.Type.PathName());
        item["names"] = S(poll.Key.Names);
        item["reported"] = S(poll.Reported);
        if (poll.Served is { } served) item["served"] = S(served);
        if (poll.Rejected is { } rejected) item["rejected"] = S(rejected);
        if (poll.RejectionReason is { } reason) item["rejectionReason"] = S(reason);
        item["at"] = S(poll.At.ToString("O", CultureInfo.InvariantCulture));
        item[TtlAttribute] = Number(poll.At.Add(IProxyStatusStore.PollLifetime).ToUnixTimeSeconds());
        await table.Client.PutItemAsync(new PutItemRequest { TableName = table.Name, Item = item }, cancellationToken);
    }

    public async Task ForgetPollAsync(SubscriptionKey key, CancellationToken cancellationToken) =>
        await table.Client.DeleteItemAsync(new DeleteItemRequest { TableName = table.Name, Key = PollKey(key) }, cancellationToken);

    public async Task<IReadOnlyList<ProxyPoll>> ListPollsAsync(FleetId fleet, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var items = await table.QueryAsync(new QueryRequest
        {
            TableName = table.Name,
            KeyConditionExpression = "pk = :pk",
            ExpressionAttributeValues = new() { [":pk"] = S($"POLLS#{fleet}") },
        }, cancellationToken);
        return [.. items
            .Select(i => XdsTypes.TryParsePathName(i["type"].S, out var type) ? ReadPoll(new SubscriptionKey(fleet, i["node"].S, type, i["names"].S), i) : null)
            .OfType<ProxyPoll>()
            .Where(p => p.At >= since)];
    }

    private static Dictionary<string, AttributeValue> PollKey(SubscriptionKey key) =>
        Key($"POLLS#{key.Fleet}", $"{key.NodeId}#{key.Type.PathName()}#{key.Names}");

    private static ProxyPoll ReadPoll(SubscriptionKey key, Dictionary<string, AttributeValue> item) => new(
        key, item["reported"].S, item.GetValueOrDefault("served")?.S, item.GetValueOrDefault("rejected")?.S,
        DateTimeOffset.Parse(item["at"].S, CultureInfo.InvariantCulture))
    {
        RejectionReason = item.GetValueOrDefault("rejectionReason")?.S,
    };
}
