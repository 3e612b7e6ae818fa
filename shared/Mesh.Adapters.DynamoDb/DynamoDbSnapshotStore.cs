using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using Amazon.DynamoDBv2.Model;
using Mesh.Contracts.State;
using Mesh.Core.Model;
using Mesh.Core.Ports;
using Mesh.Core.Snapshots;
using static Mesh.Adapters.DynamoDb.DynamoDbTable;

namespace Mesh.Adapters.DynamoDb;

/// <summary>Snapshots as immutable gzip-compressed chunks, and each fleet's head under its sequence guard.</summary>
public sealed class DynamoDbSnapshotStore(DynamoDbTable table, int chunkBytes) : ISnapshotStore
{
    public async Task<SnapshotHead?> GetHeadAsync(FleetId fleet, CancellationToken cancellationToken)
    {
        var response = await table.Client.GetItemAsync(new GetItemRequest
        {
            TableName = table.Name,
            Key = Key($"MESH#{fleet.Mesh}", $"HEAD#{fleet.Service}"),
            ConsistentRead = true,
        }, cancellationToken);
        return response.Item is { Count: > 0 } item ? ReadHead(fleet.Mesh, item) : null;
    }

    public async Task<IReadOnlyList<SnapshotHead>> ListHeadsAsync(string mesh, CancellationToken cancellationToken)
    {
        var items = await table.QueryAsync(new QueryRequest
        {
            TableName = table.Name,
            KeyConditionExpression = "pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues = new() { [":pk"] = S($"MESH#{mesh}"), [":prefix"] = S("HEAD#") },
            ConsistentRead = true,
        }, cancellationToken);
        return [.. items.Select(i => ReadHead(mesh, i))];
    }

    public async Task<FleetSnapshot?> GetAsync(FleetId fleet, string version, CancellationToken cancellationToken)
    {
        var chunks = await table.QueryAsync(new QueryRequest
        {
            TableName = table.Name,
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
        var request = new PutItemRequest { TableName = table.Name, Item = head };
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
            await table.Client.PutItemAsync(request, cancellationToken);
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
            var pending = new Dictionary<string, List<WriteRequest>> { [table.Name] = [.. batch] };
            await table.Retry.RunAsync($"chunks of snapshot {snapshot.Version} of {snapshot.Fleet}", async _ =>
            {
                var response = await table.Client.BatchWriteItemAsync(new BatchWriteItemRequest { RequestItems = pending }, cancellationToken);
                pending = response.UnprocessedItems ?? [];
                return pending.GetValueOrDefault(table.Name) is not { Count: > 0 };
            }, cancellationToken);
        }
    }

    private static byte[] Compress(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest)) gzip.Write(bytes);
        return output.ToArray();
    }

    private static SnapshotHead ReadHead(string mesh, Dictionary<string, AttributeValue> item) => new(
        new FleetId(mesh, item["sk"].S["HEAD#".Length..]),
        long.Parse(item["sequence"].N, CultureInfo.InvariantCulture),
        item["version"].S,
        DateTimeOffset.Parse(item["committedAt"].S, CultureInfo.InvariantCulture),
        new MeshStamp(item["compiledGeneration"].S, long.Parse(item["compiledRevision"].N, CultureInfo.InvariantCulture)));

    private static string SnapshotKey(FleetId fleet, string version) => $"SNAP#{fleet}#{version}";
}
