using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Mesh.Core.Editing;
using Mesh.Core.Endpoints;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Resilience;
using Mesh.Core.Serving;
using Mesh.Core.Snapshots;
using Mesh.Contracts.State;

namespace Mesh.Adapters.DynamoDb;

/// <summary>
/// Every port on one DynamoDB table (design in the README):
///   WL#{workload}  / SRC#{sourceId}   ledger entry; revision-guarded; terminal entries expire after 15 days
///   MESH#{mesh}    / META             the mesh's revision; every change is guarded by it
///   MESH#{mesh}    / SVC#{service}    service with its routes and policy (GSI1: WLSVC#{workload} → mesh/service)
///   MESH#{mesh}    / CHANGE#{id}      change record, written in the same transaction as the services it changes
///   MESH#{mesh}    / HEAD#{service}   fleet head; sequence-guarded
///   MESHES         / {mesh}           mesh registry
///   POLLS#{fleet}  / {node}#{type}#{names}  a proxy's last poll of one subscription; expires after a day
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
    /// <summary>Epoch seconds after which DynamoDB deletes the item (terminal ledger entries, proxy polls).</summary>
    public const string TtlAttribute = "expiresAt";
    private const string MetaKey = "META";
    /// <summary>Transaction conflicts and unprocessed batch items: a few short tries, then the caller's (SQS's or the editor's) retry.</summary>
    private readonly GuardedRetry _retry = new(5, TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(400), clock);

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
        item["gsi1pk"] = S($"SRC#{observation.SourceId}");
        item["gsi1sk"] = S($"WL#{observation.Workload.Value}");
        if (observation.Terminal) item[TtlAttribute] = Number(clock.GetUtcNow().Add(TombstoneLifetime).ToUnixTimeSeconds());
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

    /// <summary>From the index (eventually consistent): a moved slice's old entry is emptied at the latest by the next event of the slice.</summary>
    public async Task<IReadOnlyList<LedgerEntry>> ListBySourceAsync(string sourceId, CancellationToken cancellationToken)
    {
        var keys = await QueryAsync(new QueryRequest
        {
            TableName = tableName,
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

    /// <summary>A DynamoDB transaction takes at most 100 items: a change carries at most 50 services.</summary>
    public int MaxServicesPerChange => 50;

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
        // META sorts after CHANGE# and HEAD# and before SVC#: one query reads the revision and every service.
        var items = await QueryAsync(new QueryRequest
        {
            TableName = tableName,
            KeyConditionExpression = "pk = :pk AND sk >= :meta",
            ExpressionAttributeValues = new() { [":pk"] = S($"MESH#{mesh}"), [":meta"] = S(MetaKey) },
            ConsistentRead = true,
        }, cancellationToken);
        if (items.FirstOrDefault(i => i["sk"].S == MetaKey) is not { } meta) return null;
        var services = items.Where(i => i["sk"].S.StartsWith("SVC#", StringComparison.Ordinal))
            .Select(i => JsonSerializer.Deserialize(i["body"].S, StateJson.Default.StoredService)!.ToDefinition());
        return new MeshState(mesh, services, long.Parse(meta["revision"].N, CultureInfo.InvariantCulture), meta["generation"].S);
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
                items.Add(new TransactWriteItem { Delete = new Delete { TableName = tableName, Key = Key(pk, MetaKey), ConditionExpression = guard, ExpressionAttributeValues = expected } });
                items.Add(new TransactWriteItem { Delete = new Delete { TableName = tableName, Key = Key("MESHES", change.Mesh) } });
                break;
            case { Revision: 1 }:
                items.Add(new TransactWriteItem { Put = new Put { TableName = tableName, Item = Meta(pk, 1, change.Generation), ConditionExpression = "attribute_not_exists(pk)" } });
                items.Add(new TransactWriteItem { Put = new Put { TableName = tableName, Item = Key("MESHES", change.Mesh) } });
                break;
            default:
                items.Add(new TransactWriteItem { Put = new Put { TableName = tableName, Item = Meta(pk, change.Revision, change.Generation), ConditionExpression = guard, ExpressionAttributeValues = expected } });
                break;
        }
        foreach (var service in change.Services)
        {
            if (service.After is not { } after)
            {
                items.Add(new TransactWriteItem { Delete = new Delete { TableName = tableName, Key = Key(pk, $"SVC#{service.Name}") } });
                continue;
            }
            var item = Key(pk, $"SVC#{service.Name}");
            item["body"] = S(JsonSerializer.Serialize(after, StateJson.Default.StoredService));
            if (after.Service.Workload is { } workload)
            {
                item["gsi1pk"] = S($"WLSVC#{workload.Key.Value}");
                item["gsi1sk"] = S(new FleetId(change.Mesh, service.Name).ToString());
            }
            items.Add(new TransactWriteItem { Put = new Put { TableName = tableName, Item = item } });
        }
        items.Add(new TransactWriteItem { Put = new Put { TableName = tableName, Item = ChangeItem(change) } });
        try
        {
            await TransactAsync(new TransactWriteItemsRequest { TransactItems = items }, cancellationToken);
            return true;
        }
        catch (TransactionCanceledException e) when (e.CancellationReasons?.FirstOrDefault()?.Code == "ConditionalCheckFailed")
        {
            return false;
        }
    }

    public async Task<ChangeRecord?> GetChangeAsync(string mesh, string id, CancellationToken cancellationToken)
    {
        var response = await client.GetItemAsync(new GetItemRequest { TableName = tableName, Key = Key($"MESH#{mesh}", $"CHANGE#{id}"), ConsistentRead = true }, cancellationToken);
        return response.Item is { Count: > 0 } item ? ReadChange(item) : null;
    }

    public async Task<ChangePage> ListChangesAsync(string mesh, string? after, int limit, CancellationToken cancellationToken)
    {
        // BETWEEN is inclusive, so the page may start with the change it continues after: ask for two more.
        var response = await client.QueryAsync(new QueryRequest
        {
            TableName = tableName,
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
        await client.PutItemAsync(new PutItemRequest { TableName = tableName, Item = ChangeItem(change with { Published = [.. published] }) }, cancellationToken);
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
    public async Task<bool> TryCommitAsync(FleetSnapshot snapshot, long expectedSequence, MeshStamp compiledFrom, DateTimeOffset committedAt, CancellationToken cancellationToken)
    {
        await WriteChunksAsync(snapshot, cancellationToken);
        var head = Key($"MESH#{snapshot.Fleet.Mesh}", $"HEAD#{snapshot.Fleet.Service}");
        head["sequence"] = Number(expectedSequence + 1);
        head["version"] = S(snapshot.Version);
        head["committedAt"] = S(committedAt.ToString("O", CultureInfo.InvariantCulture));
        head["compiledGeneration"] = S(compiledFrom.Generation);
        head["compiledRevision"] = Number(compiledFrom.Revision);
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
            await _retry.RunAsync($"chunks of snapshot {snapshot.Version} of {snapshot.Fleet}", async _ =>
            {
                var response = await client.BatchWriteItemAsync(new BatchWriteItemRequest { RequestItems = pending }, cancellationToken);
                pending = response.UnprocessedItems ?? [];
                return pending.GetValueOrDefault(tableName) is not { Count: > 0 };
            }, cancellationToken);
        }
    }

    // ---- proxy polls ----

    /// <summary>A proxy gone this long is forgotten.</summary>

    public async Task<ProxyPoll?> GetPollAsync(SubscriptionKey key, CancellationToken cancellationToken)
    {
        var response = await client.GetItemAsync(new GetItemRequest { TableName = tableName, Key = PollKey(key) }, cancellationToken);
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
        item["at"] = S(poll.At.ToString("O", CultureInfo.InvariantCulture));
        item[TtlAttribute] = Number(poll.At.Add(IProxyStatusStore.PollLifetime).ToUnixTimeSeconds());
        await client.PutItemAsync(new PutItemRequest { TableName = tableName, Item = item }, cancellationToken);
    }

    public async Task<IReadOnlyList<ProxyPoll>> ListPollsAsync(FleetId fleet, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var items = await QueryAsync(new QueryRequest
        {
            TableName = tableName,
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
        DateTimeOffset.Parse(item["at"].S, CultureInfo.InvariantCulture));

    // ---- table ----

    /// <summary>The table this store needs; template.yaml declares the same (a test compares them).</summary>
    public static CreateTableRequest TableDefinition(string tableName) => new()
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
    };

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
        try
        {
            await client.CreateTableAsync(TableDefinition(tableName), cancellationToken);
        }
        catch (ResourceInUseException)
        {
            // Another process created it between our look and our create: it exists, which is all we wanted.
            return;
        }
        await client.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest
        {
            TableName = tableName,
            TimeToLiveSpecification = new TimeToLiveSpecification { AttributeName = TtlAttribute, Enabled = true },
        }, cancellationToken);
    }

    // ---- helpers ----

    /// <summary>Retried while another transaction holds an item; after the last attempt the cancellation is the caller's.</summary>
    private Task TransactAsync(TransactWriteItemsRequest request, CancellationToken cancellationToken) =>
        _retry.RunAsync("transaction", async attempt =>
        {
            try
            {
                await client.TransactWriteItemsAsync(request, cancellationToken);
                return true;
            }
            catch (TransactionCanceledException e) when (attempt < _retry.MaxAttempts && e.CancellationReasons?.Any(r => r.Code == "TransactionConflict") == true)
            {
                return false;
            }
        }, cancellationToken);

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
        DateTimeOffset.Parse(item["committedAt"].S, CultureInfo.InvariantCulture),
        new MeshStamp(item["compiledGeneration"].S, long.Parse(item["compiledRevision"].N, CultureInfo.InvariantCulture)));

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

    private static string SnapshotKey(FleetId fleet, string version) => $"SNAP#{fleet}#{version}";

    private static Dictionary<string, AttributeValue> Key(string pk, string sk) => new() { ["pk"] = S(pk), ["sk"] = S(sk) };

    private static AttributeValue S(string value) => new() { S = value };

    private static AttributeValue Number(long value) => new() { N = value.ToString(CultureInfo.InvariantCulture) };
}
