using System.Globalization;
using System.Text.Json;
using Amazon.DynamoDBv2.Model;
using Mesh.Contracts.State;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using static Mesh.Adapters.DynamoDb.DynamoDbTable;

namespace Mesh.Adapters.DynamoDb;

/// <summary>Meshes, their services and gateways, and their change log, each change one transaction under the mesh's revision.</summary>
public sealed class DynamoDbDesiredStateStore(DynamoDbTable table) : IDesiredStateStore
{
    private const string SettingsKey = "SETTINGS";
    /// <summary>Gateways' items, named to sort after META like the services' SVC#.</summary>
    private const string GatewayPrefix = "VGW#";

    /// <summary>A DynamoDB transaction takes at most 100 items: a change carries at most 50 services and gateways.</summary>
    public int MaxServicesPerChange => 50;

    public async Task<IReadOnlyList<string>> ListMeshesAsync(CancellationToken cancellationToken)
    {
        var items = await table.QueryAsync(new QueryRequest
        {
            TableName = table.Name,
            KeyConditionExpression = "pk = :pk",
            ExpressionAttributeValues = new() { [":pk"] = S("MESHES") },
            ConsistentRead = true,
        }, cancellationToken);
        return [.. items.Select(i => i["sk"].S)];
    }

    public async Task<MeshState?> GetMeshAsync(string mesh, CancellationToken cancellationToken)
    {
        // META sorts after CHANGE# and HEAD# and before SETTINGS, SVC# and VGW#: one query reads the revision, the settings, every
        // service and every gateway.
        var items = await table.QueryAsync(new QueryRequest
        {
            TableName = table.Name,
            KeyConditionExpression = "pk = :pk AND sk >= :meta",
            ExpressionAttributeValues = new() { [":pk"] = S($"MESH#{mesh}"), [":meta"] = S(MetaKey) },
            ConsistentRead = true,
        }, cancellationToken);
        if (items.FirstOrDefault(i => i["sk"].S == MetaKey) is not { } meta) return null;
        var services = items.Where(i => i["sk"].S.StartsWith("SVC#", StringComparison.Ordinal))
            .Select(i => JsonSerializer.Deserialize(i["body"].S, StateJson.Default.StoredService)!.ToDefinition());
        var settings = items.FirstOrDefault(i => i["sk"].S == SettingsKey) is { } stored ? JsonSerializer.Deserialize(stored["body"].S, StateJson.Default.MeshSettings) : null;
        var gateways = items.Where(i => i["sk"].S.StartsWith(GatewayPrefix, StringComparison.Ordinal))
            .Select(i => JsonSerializer.Deserialize(i["body"].S, StateJson.Default.GatewayDefinition)!);
        return new MeshState(mesh, services, long.Parse(meta["revision"].N, CultureInfo.InvariantCulture), meta["generation"].S, settings, gateways);
    }

    /// <summary>
    /// One transaction: the mesh's META item under its revision guard, the registry entry, every service written or
    /// deleted, and the change record. Retried on transaction conflicts; a failed guard returns false.
    /// </summary>
    public async Task<bool> TryApplyAsync(ChangeRecord change, CancellationToken cancellationToken)
    {
        var pk = $"MESH#{change.Mesh}";
        var items = new List<TransactWriteItem>();
        var expected = new Dictionary<string, AttributeValue> { [":expected"] = Number(change.Revision - 1), [":generation"] = S(change.Generation) };
        const string guard = "revision = :expected AND generation = :generation";
        switch (change)
        {
            case { Lifecycle: MeshLifecycle.Deleted }:
                items.Add(new TransactWriteItem { Delete = new Delete { TableName = table.Name, Key = Key(pk, MetaKey), ConditionExpression = guard, ExpressionAttributeValues = expected } });
                items.Add(new TransactWriteItem { Delete = new Delete { TableName = table.Name, Key = Key("MESHES", change.Mesh) } });
                break;
            case { Revision: 1 }:
                items.Add(new TransactWriteItem { Put = new Put { TableName = table.Name, Item = Meta(pk, 1, change.Generation), ConditionExpression = "attribute_not_exists(pk)" } });
                items.Add(new TransactWriteItem { Put = new Put { TableName = table.Name, Item = Key("MESHES", change.Mesh) } });
                break;
            default:
                items.Add(new TransactWriteItem { Put = new Put { TableName = table.Name, Item = Meta(pk, change.Revision, change.Generation), ConditionExpression = guard, ExpressionAttributeValues = expected } });
                break;
        }
        if (change.Lifecycle == MeshLifecycle.Deleted)
        {
            items.Add(new TransactWriteItem { Delete = new Delete { TableName = table.Name, Key = Key(pk, SettingsKey) } });
        }
        else if (change.Settings is { } settings)
        {
            var item = Key(pk, SettingsKey);
            item["body"] = S(JsonSerializer.Serialize(settings.After, StateJson.Default.MeshSettings));
            items.Add(new TransactWriteItem { Put = new Put { TableName = table.Name, Item = item } });
        }
        foreach (var service in change.Services)
        {
            if (service.After is not { } after)
            {
                items.Add(new TransactWriteItem { Delete = new Delete { TableName = table.Name, Key = Key(pk, $"SVC#{service.Name}") } });
                continue;
            }
            var item = Key(pk, $"SVC#{service.Name}");
            item["body"] = S(JsonSerializer.Serialize(after, StateJson.Default.StoredService));
            if (after.Service.Workload is { } workload)
            {
                item["gsi1pk"] = S($"WLSVC#{workload.Key.Value}");
                item["gsi1sk"] = S(new FleetId(change.Mesh, service.Name).ToString());
            }
            items.Add(new TransactWriteItem { Put = new Put { TableName = table.Name, Item = item } });
        }
        foreach (var gateway in change.Gateways)
        {
            var key = Key(pk, GatewayPrefix + gateway.Name);
            if (gateway.After is not { } after)
            {
                items.Add(new TransactWriteItem { Delete = new Delete { TableName = table.Name, Key = key } });
                continue;
            }
            key["body"] = S(JsonSerializer.Serialize(after, StateJson.Default.GatewayDefinition));
            items.Add(new TransactWriteItem { Put = new Put { TableName = table.Name, Item = key } });
        }
        items.Add(new TransactWriteItem { Put = new Put { TableName = table.Name, Item = ChangeItem(change) } });
        try
        {
            await table.TransactAsync(new TransactWriteItemsRequest { TransactItems = items }, cancellationToken);
            return true;
        }
        catch (TransactionCanceledException e) when (e.CancellationReasons?.FirstOrDefault()?.Code == "ConditionalCheckFailed")
        {
            return false;
        }
    }

    public async Task<ChangeRecord?> GetChangeAsync(string mesh, string id, CancellationToken cancellationToken)
    {
        var response = await table.Client.GetItemAsync(new GetItemRequest { TableName = table.Name, Key = Key($"MESH#{mesh}", $"CHANGE#{id}"), ConsistentRead = true }, cancellationToken);
        return response.Item is { Count: > 0 } item ? ReadChange(item) : null;
    }

    public async Task<ChangePage> ListChangesAsync(string mesh, string? after, int limit, CancellationToken cancellationToken)
    {
        // BETWEEN is inclusive, so the page may start with the change it continues after: ask for two more.
        var response = await table.Client.QueryAsync(new QueryRequest
        {
            TableName = table.Name,
            KeyConditionExpression = "pk = :pk AND sk BETWEEN :low AND :high",
            ExpressionAttributeValues = new()
            {
                [":pk"] = S($"MESH#{mesh}"), [":low"] = S("CHANGE#"), [":high"] = S(after is null ? "CHANGE#\uffff" : $"CHANGE#{after}"),
            },
            ScanIndexForward = false,
            Limit = limit + 2,
            ConsistentRead = true,
        }, cancellationToken);
        var changes = (response.Items ?? []).Select(ReadChange).Where(c => c.Id != after).Take(limit + 1).ToList();
        return changes.Count > limit ? new ChangePage(changes[..limit], changes[limit - 1].Id) : new ChangePage(changes, null);
    }

    public async Task RecordPublishedAsync(string mesh, string id, IReadOnlyList<PublishedVersion> published, CancellationToken cancellationToken)
    {
        var change = await GetChangeAsync(mesh, id, cancellationToken) ?? throw new InvalidOperationException($"no change {id} in mesh '{mesh}'");
        await table.Client.PutItemAsync(new PutItemRequest { TableName = table.Name, Item = ChangeItem(change with { Published = [.. published] }) }, cancellationToken);
    }

    /// <summary>From a global secondary index, so eventually consistent: a service defined a moment ago may be missed once.</summary>
    public async Task<IReadOnlyList<FleetId>> FindByWorkloadAsync(WorkloadKey workload, CancellationToken cancellationToken)
    {
        var items = await table.QueryAsync(new QueryRequest
        {
            TableName = table.Name,
            IndexName = Gsi,
            KeyConditionExpression = "gsi1pk = :pk",
            ExpressionAttributeValues = new() { [":pk"] = S($"WLSVC#{workload.Value}") },
        }, cancellationToken);
        return [.. items.Select(i => FleetId.TryParse(i["gsi1sk"].S, out var fleet) ? fleet : throw new InvalidDataException($"bad index entry {i["gsi1sk"].S}"))];
    }

    private Dictionary<string, AttributeValue> ChangeItem(ChangeRecord change)
    {
        var item = Key($"MESH#{change.Mesh}", $"CHANGE#{change.Id}");
        item["body"] = S(JsonSerializer.Serialize(change, StateJson.Default.ChangeRecord));
        return item;
    }

    private static Dictionary<string, AttributeValue> Meta(string pk, long revision, string generation)
    {
        var item = Key(pk, MetaKey);
        item["revision"] = Number(revision);
        item["generation"] = S(generation);
        return item;
    }

    private static ChangeRecord ReadChange(Dictionary<string, AttributeValue> item) =>
        JsonSerializer.Deserialize(item["body"].S, StateJson.Default.ChangeRecord) ?? throw new InvalidDataException("empty change record");
}
