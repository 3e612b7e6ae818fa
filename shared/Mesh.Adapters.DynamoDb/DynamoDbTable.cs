using System.Globalization;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Mesh.Core.Ports;
using Mesh.Core.Resilience;

namespace Mesh.Adapters.DynamoDb;

/// <summary>
/// One DynamoDB table shared by one class per port (design in the README):
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
public sealed class DynamoDbTable(IAmazonDynamoDB client, string name, TimeProvider clock)
{
    /// <summary>Longer than SQS's longest retention (14 days): no queued event outlives the tombstone it must meet.</summary>
    public static readonly TimeSpan TombstoneLifetime = TimeSpan.FromDays(15);

    /// <summary>Leaves room under DynamoDB's 400 KB item limit for keys and attributes.</summary>
    public const int ChunkBytes = 350 * 1024;

    public const string Gsi = "gsi1";
    /// <summary>Epoch seconds after which DynamoDB deletes the item (terminal ledger entries, proxy polls).</summary>
    public const string TtlAttribute = "expiresAt";
    public const string MetaKey = "META";

    public IAmazonDynamoDB Client { get; } = client;
    public string Name { get; } = name;
    public TimeProvider Clock { get; } = clock;

    /// <summary>Transaction conflicts and unprocessed batch items: a few short tries, then the caller's (SQS's or the editor's) retry.</summary>
    public GuardedRetry Retry { get; } = new(5, TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(400), clock);

    /// <summary>A store for every port, on this table.</summary>
    public static MeshStore Open(IAmazonDynamoDB client, string name, TimeProvider clock, int chunkBytes = ChunkBytes)
    {
        var table = new DynamoDbTable(client, name, clock);
        return new MeshStore(new DynamoDbEndpointStore(table), new DynamoDbDesiredStateStore(table), new DynamoDbSnapshotStore(table, chunkBytes), new DynamoDbProxyStatusStore(table));
    }

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

    /// <summary>Retried while another transaction holds an item; after the last attempt the cancellation is the caller's.</summary>
    public Task TransactAsync(TransactWriteItemsRequest request, CancellationToken cancellationToken) =>
        Retry.RunAsync("transaction", async attempt =>
        {
            try
            {
                await Client.TransactWriteItemsAsync(request, cancellationToken);
                return true;
            }
            catch (TransactionCanceledException e) when (attempt < Retry.MaxAttempts && e.CancellationReasons?.Any(r => r.Code == "TransactionConflict") == true)
            {
                return false;
            }
        }, cancellationToken);

    public async Task<List<Dictionary<string, AttributeValue>>> QueryAsync(QueryRequest request, CancellationToken cancellationToken)
    {
        var items = new List<Dictionary<string, AttributeValue>>();
        do
        {
            var response = await Client.QueryAsync(request, cancellationToken);
            if (response.Items is not null) items.AddRange(response.Items);
            request.ExclusiveStartKey = response.LastEvaluatedKey is { Count: > 0 } last ? last : null;
        }
        while (request.ExclusiveStartKey is not null);
        return items;
    }

    public static Dictionary<string, AttributeValue> Key(string pk, string sk) => new() { ["pk"] = S(pk), ["sk"] = S(sk) };

    public static AttributeValue S(string value) => new() { S = value };

    public static AttributeValue Number(long value) => new() { N = value.ToString(CultureInfo.InvariantCulture) };
}
