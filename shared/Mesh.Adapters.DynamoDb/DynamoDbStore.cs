using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Mesh.Core.Endpoints;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Snapshots;
using Mesh.Core.Storage;

namespace Mesh.Adapters.DynamoDb;

/// <summary>
/// Every port on one DynamoDB table (design in the README):
///   WL#{workload}  / SRC#{sourceId}   ledger entry; revision-guarded; terminal entries expire after 15 days
///   MESH#{mesh}    / SVC#{service}    service definition (GSI1: WLSVC#{workload} → mesh/service)
///   MESH#{mesh}    / HEAD#{service}   fleet head; sequence-guarded
///   MESHES         / {mesh}           mesh registry
///   SNAP#{fleet}#{version} / {chunk}  immutable, gzip-compressed snapshot in chunks under the 400 KB item limit
/// Reads that feed a compile are strongly consistent queries on the base table.
/// </summary>
public sealed class DynamoDbStore(IAmazonDynamoDB client, string tableName, TimeProvider clock, int chunkBytes = DynamoDbStore.ChunkBytes) : IMeshStore
{
    /// <summary>Longer than SQS's longest retention (14 days): no queued event outlives the tombstone it must meet.</summary>
    public static readonly TimeSpan TombstoneLifetime = TimeSpan.FromDays(15);

    /// <summary>Leaves room under DynamoDB's 400 KB item limit for keys and attributes.</summary>
    public const int ChunkBytes = 350 * 1024;

    private const string Gsi = "gsi1";
    private const int TransactionAttempts = 5;

    // ---- endpoint ledger ----

    public async Task<LedgerEntry?> GetAsync(WorkloadKey workload, string sourceId, CancellationToken cancellationToken)
    {
        var response = await client.GetItemAsync(new GetItemRequest
        {
            TableName = tableName,
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
        if (observation.Terminal) item["expiresAt"] = Number(clock.GetUtcNow().Add(TombstoneLifetime).ToUnixTimeSeconds());
        var request = new PutItemRequest { TableName = tableName, Item = item };
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
            await client.PutItemAsync(request, cancellationToken);
            return true;
        }
        catch (ConditionalCheckFailedException)
        {
            return false;
        }
    }

    public async Task<IReadOnlyList<SourceObservation>> ListLiveAsync(WorkloadKey workload, CancellationToken cancellationToken)
    {
        var items = await QueryAsync(new QueryRequest
        {
            TableName = tableName,
            KeyConditionExpression = "pk = :pk AND begins_with(sk, :prefix)",
            FilterExpression = "terminal = :false",
            ExpressionAttributeValues = new() { [":pk"] = S($"WL#{workload.Value}"), [":prefix"] = S("SRC#"), [":false"] = new AttributeValue { BOOL = false } },
            ConsistentRead = true,
        }, cancellationToken);
        return [.. items.Select(ReadObservation)];
    }

    // ---- desired state ----

    public async Task<IReadOnlyList<string>> ListMeshesAsync(CancellationToken cancellationToken)
    {
        var items = await QueryAsync(new QueryRequest
        {
            TableName = tableName,
            KeyConditionExpression = "pk = :pk",
            ExpressionAttributeValues = new() { [":pk"] = S("MESHES") },
            ConsistentRead = true,
        }, cancellationToken);
        return [.. items.Select(i => i["sk"].S)];
    }

    public async Task<MeshState?> GetMeshAsync(string mesh, CancellationToken cancellationToken)
    {
        var items = await QueryAsync(new QueryRequest
        {
            TableName = tableName,
            KeyConditionExpression = "pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues = new() { [":pk"] = S($"MESH#{mesh}"), [":prefix"] = S("SVC#") },
            ConsistentRead = true,
        }, cancellationToken);
        if (items.Count == 0) return null;
        return new MeshState(mesh, items.Select(i => JsonSerializer.Deserialize(i["body"].S, StateJson.Default.ServiceDefinition)!));
    }

    /// <summary>The service and the mesh's registry entry in one transaction, retried on transaction conflicts.</summary>
    public async Task PutServiceAsync(ServiceDefinition service, CancellationToken cancellationToken)
    {
        var item = Key($"MESH#{service.Mesh}", $"SVC#{service.Name}");
        item["body"] = S(JsonSerializer.Serialize(service, StateJson.Default.ServiceDefinition));
        if (service.Workload is { } workload)
        {
            item["gsi1pk"] = S($"WLSVC#{workload.Key.Value}");
            item["gsi1sk"] = S(service.Fleet.ToString());
        }
        await TransactAsync(new TransactWriteItemsRequest
        {
            TransactItems =
            [
                new TransactWriteItem { Put = new Put { TableName = tableName, Item = item } },
                new TransactWriteItem { Put = new Put { TableName = tableName, Item = Key("MESHES", service.Mesh) } },
            ],
        }, cancellationToken);
    }

    /// <summary>From a global secondary index, so eventually consistent: a service defined a moment ago may be missed once.</summary>
    public async Task<IReadOnlyList<FleetId>> FindByWorkloadAsync(WorkloadKey workload, CancellationToken cancellationToken)
    {
        var items = await QueryAsync(new QueryRequest
        {
            TableName = tableName,
            IndexName = Gsi,
            KeyConditionExpression = "gsi1pk = :pk",
            ExpressionAttributeValues = new() { [":pk"] = S($"WLSVC#{workload.Value}") },
        }, cancellationToken);
        return [.. items.Select(i => FleetId.TryParse(i["gsi1sk"].S, out var fleet) ? fleet : throw new InvalidDataException($"bad index entry {i["gsi1sk"].S}"))];
    }

    // ---- snapshots ----

    public async Task<SnapshotHead?> GetHeadAsync(FleetId fleet, CancellationToken cancellationToken)
    {
        var response = await client.GetItemAsync(new GetItemRequest
        {
            TableName = tableName,
            Key = Key($"MESH#{fleet.Mesh}", $"HEAD#{fleet.Service}"),
            ConsistentRead = true,
        }, cancellationToken);
        return response.Item is { Count: > 0 } item ? ReadHead(fleet.Mesh, item) : null;
    }

    public async Task<IReadOnlyList<SnapshotHead>> ListHeadsAsync(string mesh, CancellationToken cancellationToken)
    {
        var items = await QueryAsync(new QueryRequest
        {
            TableName = tableName,
            KeyConditionExpression = "pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues = new() { [":pk"] = S($"MESH#{mesh}"), [":prefix"] = S("HEAD#") },
            ConsistentRead = true,
        }, cancellationToken);
        return [.. items.Select(i => ReadHead(mesh, i))];
    }

    public async Task<FleetSnapshot?> GetAsync(FleetId fleet, string version, CancellationToken cancellationToken)
    {
        var chunks = await QueryAsync(new QueryRequest
        {
            TableName = tableName,
            KeyConditionExpression = "pk = :pk",
            ExpressionAttributeValues = new() { [":pk"] = S(SnapshotKey(fleet, version)) },
            ConsistentRead = true,
        }, cancellationToken);
        if (chunks.Count == 0) return null;
        var expected = int.Parse(chunks[0]["chunks"].N, CultureInfo.InvariantCulture);
        if (chunks.Count != expected) throw new InvalidDataException($"snapshot {version} of {fleet} has {chunks.Count} of {expected} chunks");
        using var compressed = new MemoryStream();
        foreach (var chunk in chunks) chunk["data"].B.WriteTo(compressed);
        compressed.Position = 0;
        using var gzip = new GZipStream(compressed, CompressionMode.Decompress);
        using var stored = new MemoryStream();
        await gzip.CopyToAsync(stored, cancellationToken);
        return SnapshotCodec.Decode(stored.GetBuffer().AsMemory(0, (int)stored.Length));
    }

    /// <summary>
    /// Writes the snapshot's chunks (immutable and content-addressed, so a retry or a racing writer writes the same
    /// bytes), then moves the head under its sequence guard. Until the head moves, nothing refers to the chunks.
    /// </summary>
    public async Task<bool> TryCommitAsync(FleetSnapshot snapshot, long expectedSequence, DateTimeOffset committedAt, CancellationToken cancellationToken)
    {
        await WriteChunksAsync(snapshot, cancellationToken);
        var head = Key($"MESH#{snapshot.Fleet.Mesh}", $"HEAD#{snapshot.Fleet.Service}");
        head["sequence"] = Number(expectedSequence + 1);
        head["version"] = S(snapshot.Version);
        head["committedAt"] = S(committedAt.ToString("O", CultureInfo.InvariantCulture));
        var request = new PutItemRequest { TableName = tableName, Item = head };
        if (expectedSequence == 0)
        {
            request.ConditionExpression = "attribute_not_exists(pk)";
        }
        else
        {
            request.ConditionExpression = "#sequence = :expected";
            request.ExpressionAttributeNames = new() { ["#sequence"] = "sequence" };
            request.ExpressionAttributeValues = new() { [":expected"] = Number(expectedSequence) };
        }
        try
        {
            await client.PutItemAsync(request, cancellationToken);
            return true;
        }
        catch (ConditionalCheckFailedException)
        {
            return false;
        }
    }

    private async Task WriteChunksAsync(FleetSnapshot snapshot, CancellationToken cancellationToken)
    {
        var key = SnapshotKey(snapshot.Fleet, snapshot.Version);
        var compressed = Compress(SnapshotCodec.Encode(snapshot));
        var count = Math.Max(1, (compressed.Length + chunkBytes - 1) / chunkBytes);
        var writes = Enumerable.Range(0, count).Select(i =>
        {
            var item = Key(key, i.ToString("D5", CultureInfo.InvariantCulture));
            item["chunks"] = Number(count);
            item["data"] = new AttributeValue { B = new MemoryStream(compressed, i * chunkBytes, Math.Min(chunkBytes, compressed.Length - i * chunkBytes)) };
            return new WriteRequest { PutRequest = new PutRequest { Item = item } };
        }).ToList();
        // BatchWriteItem takes at most 25 items and 16 MB; a chunk is at most 350 KB, so 25 of them stay under.
        foreach (var batch in writes.Chunk(25))
        {
            var pending = new Dictionary<string, List<WriteRequest>> { [tableName] = [.. batch] };
            for (var attempt = 0; pending.Count > 0 && pending.GetValueOrDefault(tableName) is { Count: > 0 }; attempt++)
            {
                if (attempt > 0) await Task.Delay(TimeSpan.FromMilliseconds(25 << Math.Min(attempt, 6)), cancellationToken);
                if (attempt > 8) throw new InvalidOperationException($"snapshot {snapshot.Version} of {snapshot.Fleet}: chunks left unprocessed after {attempt} attempts");
                var response = await client.BatchWriteItemAsync(new BatchWriteItemRequest { RequestItems = pending }, cancellationToken);
                pending = response.UnprocessedItems ?? [];
            }
        }
    }

    // ---- table ----

    /// <summary>Creates the table (on-demand, with the GSI and TTL) if it does not exist: for DynamoDB Local and tests; SAM creates it in AWS.</summary>
    public static async Task EnsureTableAsync(IAmazonDynamoDB client, string tableName, CancellationToken cancellationToken)
    {
        try
        {
            await client.DescribeTableAsync(tableName, cancellationToken);
            return;
        }
        catch (ResourceNotFoundException)
        {
        }
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = tableName,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            AttributeDefinitions =
            [
                new AttributeDefinition("pk", ScalarAttributeType.S), new AttributeDefinition("sk", ScalarAttributeType.S),
                new AttributeDefinition("gsi1pk", ScalarAttributeType.S), new AttributeDefinition("gsi1sk", ScalarAttributeType.S),
            ],
            KeySchema = [new KeySchemaElement("pk", KeyType.HASH), new KeySchemaElement("sk", KeyType.RANGE)],
            GlobalSecondaryIndexes =
            [
                new GlobalSecondaryIndex
                {
                    IndexName = Gsi,
                    KeySchema = [new KeySchemaElement("gsi1pk", KeyType.HASH), new KeySchemaElement("gsi1sk", KeyType.RANGE)],
                    Projection = new Projection { ProjectionType = ProjectionType.KEYS_ONLY },
                },
            ],
        }, cancellationToken);
        await client.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest
        {
            TableName = tableName,
            TimeToLiveSpecification = new TimeToLiveSpecification { AttributeName = "expiresAt", Enabled = true },
        }, cancellationToken);
    }

    // ---- helpers ----

    private async Task TransactAsync(TransactWriteItemsRequest request, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await client.TransactWriteItemsAsync(request, cancellationToken);
                return;
            }
            catch (TransactionCanceledException e) when (attempt < TransactionAttempts && e.CancellationReasons?.Any(r => r.Code == "TransactionConflict") == true)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20 << attempt), cancellationToken);
            }
        }
    }

    private async Task<List<Dictionary<string, AttributeValue>>> QueryAsync(QueryRequest request, CancellationToken cancellationToken)
    {
        var items = new List<Dictionary<string, AttributeValue>>();
        do
        {
            var response = await client.QueryAsync(request, cancellationToken);
            if (response.Items is not null) items.AddRange(response.Items);
            request.ExclusiveStartKey = response.LastEvaluatedKey is { Count: > 0 } last ? last : null;
        }
        while (request.ExclusiveStartKey is not null);
        return items;
    }

    private static byte[] Compress(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest)) gzip.Write(bytes);
        return output.ToArray();
    }

    private static SourceObservation ReadObservation(Dictionary<string, AttributeValue> item) =>
        JsonSerializer.Deserialize(item["body"].S, StateJson.Default.SourceObservation) ?? throw new InvalidDataException("empty ledger entry");

    private static SnapshotHead ReadHead(string mesh, Dictionary<string, AttributeValue> item) => new(
        new FleetId(mesh, item["sk"].S["HEAD#".Length..]),
        long.Parse(item["sequence"].N, CultureInfo.InvariantCulture),
        item["version"].S,
        DateTimeOffset.Parse(item["committedAt"].S, CultureInfo.InvariantCulture));

    private static string SnapshotKey(FleetId fleet, string version) => $"SNAP#{fleet}#{version}";

    private static Dictionary<string, AttributeValue> Key(string pk, string sk) => new() { ["pk"] = S(pk), ["sk"] = S(sk) };

    private static AttributeValue S(string value) => new() { S = value };

    private static AttributeValue Number(long value) => new() { N = value.ToString(CultureInfo.InvariantCulture) };
}
