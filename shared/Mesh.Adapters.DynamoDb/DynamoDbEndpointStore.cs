using System.Globalization;
using System.Text.Json;
using Amazon.DynamoDBv2.Model;
using Mesh.Contracts.State;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using static Mesh.Adapters.DynamoDb.DynamoDbTable;

namespace Mesh.Adapters.DynamoDb;

/// <summary>The endpoint ledger: an item per source under its workload's partition, written under its revision.</summary>
public sealed class DynamoDbEndpointStore(DynamoDbTable table) : IEndpointStore
{
    private readonly ParsedObservations _parsed = new();

    public async Task<LedgerEntry?> GetAsync(WorkloadKey workload, string sourceId, CancellationToken cancellationToken)
    {
        var response = await table.Client.GetItemAsync(new GetItemRequest
        {
            TableName = table.Name,
            Key = Key($"WL#{workload.Value}", $"SRC#{sourceId}"),
            ConsistentRead = true,
        }, cancellationToken);
        if (response.Item is not { Count: > 0 } item) return null;
        return new LedgerEntry(ReadObservation(item), long.Parse(item["revision"].N, CultureInfo.InvariantCulture));
    }

    public async Task<bool> TryWriteAsync(SourceObservation observation, long? expectedRevision, CancellationToken cancellationToken)
    {
        var item = Key($"WL#{observation.Workload.Value}", $"SRC#{observation.SourceId}");
        item["version"] = Number(observation.Version);
        item["terminal"] = new AttributeValue { BOOL = observation.Terminal };
        item["revision"] = Number((expectedRevision ?? 0) + 1);
        item["body"] = new AttributeValue { S = JsonSerializer.Serialize(observation, StateJson.Default.SourceObservation) };
        item["gsi1pk"] = S($"SRC#{observation.SourceId}");
        item["gsi1sk"] = S($"WL#{observation.Workload.Value}");
        if (observation.Terminal) item[TtlAttribute] = Number(table.Clock.GetUtcNow().Add(TombstoneLifetime).ToUnixTimeSeconds());
        var request = new PutItemRequest { TableName = table.Name, Item = item };
        if (expectedRevision is { } expected)
        {
            request.ConditionExpression = "revision = :expected";
            request.ExpressionAttributeValues = new() { [":expected"] = Number(expected) };
        }
        else
        {
            request.ConditionExpression = "attribute_not_exists(pk)";
        }
        try
        {
            await table.Client.PutItemAsync(request, cancellationToken);
            return true;
        }
        catch (ConditionalCheckFailedException)
        {
            return false;
        }
    }

    /// <summary>From the index (eventually consistent): a moved slice's old entry is emptied at the latest by the next event of the slice.</summary>
    public async Task<IReadOnlyList<LedgerEntry>> ListBySourceAsync(string sourceId, CancellationToken cancellationToken)
    {
        var keys = await table.QueryAsync(new QueryRequest
        {
            TableName = table.Name,
            IndexName = Gsi,
            KeyConditionExpression = "gsi1pk = :pk",
            ExpressionAttributeValues = new() { [":pk"] = S($"SRC#{sourceId}") },
        }, cancellationToken);
        var entries = new List<LedgerEntry>();
        foreach (var key in keys)
        {
            if (key["gsi1sk"].S is { Length: > 3 } workload && await GetAsync(new WorkloadKey(workload[3..]), sourceId, cancellationToken) is { } entry) entries.Add(entry);
        }
        return entries;
    }

    /// <summary>One consistent Query per workload partition, a few at a time.</summary>
    public async Task<IReadOnlyDictionary<WorkloadKey, IReadOnlyList<SourceObservation>>> ListLiveAsync(IReadOnlyCollection<WorkloadKey> workloads, CancellationToken cancellationToken)
    {
        var live = new System.Collections.Concurrent.ConcurrentDictionary<WorkloadKey, IReadOnlyList<SourceObservation>>();
        await Parallel.ForEachAsync(workloads.Distinct(), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (workload, ct) => live[workload] = await ListLiveAsync(workload, ct));
        return live;
    }

    private async Task<IReadOnlyList<SourceObservation>> ListLiveAsync(WorkloadKey workload, CancellationToken cancellationToken)
    {
        var items = await table.QueryAsync(new QueryRequest
        {
            TableName = table.Name,
            KeyConditionExpression = "pk = :pk AND begins_with(sk, :prefix)",
            FilterExpression = "terminal = :false",
            ExpressionAttributeValues = new() { [":pk"] = S($"WL#{workload.Value}"), [":prefix"] = S("SRC#"), [":false"] = new AttributeValue { BOOL = false } },
            ConsistentRead = true,
        }, cancellationToken);
        return [.. items.Select(item => _parsed.Get(item["sk"].S, workload.Value, long.Parse(item["revision"].N, CultureInfo.InvariantCulture), item["body"].S))];
    }

    private static SourceObservation ReadObservation(Dictionary<string, AttributeValue> item) =>
        JsonSerializer.Deserialize(item["body"].S, StateJson.Default.SourceObservation) ?? throw new InvalidDataException("empty ledger entry");
}
