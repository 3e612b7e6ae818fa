using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Mesh.Tests.Support;

/// <summary>
/// Just enough of Cloud Map and EventBridge behind a <see cref="LoopbackAws"/> to run the pipeline against: services by
/// name in one namespace, instances by id, and the events put.
/// </summary>
public sealed class FakeCloudMap
{
    private readonly ConcurrentDictionary<string, string> _serviceIds = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, Dictionary<string, string>>> _instances = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<JsonElement> _events = new();

    public IReadOnlyList<JsonElement> Events => [.. _events];

    /// <summary>The instances of a service by name, id → attributes.</summary>
    public IReadOnlyDictionary<string, Dictionary<string, string>> Instances(string service) =>
        _serviceIds.TryGetValue(service, out var id) && _instances.TryGetValue(id, out var instances) ? instances : new Dictionary<string, Dictionary<string, string>>();

    public (int Status, string Body) Answer(WireRequest request)
    {
        var body = JsonNode.Parse(request.Body)!.AsObject();
        var operation = request.Target[(request.Target.IndexOf('.', StringComparison.Ordinal) + 1)..];
        switch (operation)
        {
            case "CreateService":
                var name = (string)body["Name"]!;
                if (_serviceIds.TryGetValue(name, out var existing))
                    return (400, $$"""{"__type":"ServiceAlreadyExists","Message":"exists","ServiceId":"{{existing}}"}""");
                var id = _serviceIds.GetOrAdd(name, n => $"srv-{_serviceIds.Count + 1}");
                return Ok(new JsonObject { ["Service"] = new JsonObject { ["Id"] = id, ["Name"] = name } });
            case "ListInstances":
                var listed = _instances.GetValueOrDefault((string)body["ServiceId"]!) ?? new();
                return Ok(new JsonObject
                {
                    ["Instances"] = new JsonArray([.. listed.Select(i => (JsonNode)new JsonObject
                    {
                        ["Id"] = i.Key,
                        ["Attributes"] = new JsonObject([.. i.Value.Select(a => KeyValuePair.Create(a.Key, (JsonNode?)a.Value))]),
                    })]),
                });
            case "RegisterInstance":
                _instances.GetOrAdd((string)body["ServiceId"]!, _ => new())[(string)body["InstanceId"]!] =
                    body["Attributes"]!.AsObject().ToDictionary(a => a.Key, a => (string)a.Value!);
                return Ok(new JsonObject { ["OperationId"] = "op" });
            case "DeregisterInstance":
                return _instances.GetValueOrDefault((string)body["ServiceId"]!)?.TryRemove((string)body["InstanceId"]!, out _) == true
                    ? Ok(new JsonObject { ["OperationId"] = "op" })
                    : (404, """{"__type":"InstanceNotFound","Message":"no such instance"}""");
            case "PutEvents":
                var entries = body["Entries"]!.AsArray();
                foreach (var entry in entries) _events.Enqueue(JsonSerializer.SerializeToElement(entry));
                return Ok(new JsonObject { ["FailedEntryCount"] = 0, ["Entries"] = new JsonArray([.. entries.Select(_ => (JsonNode)new JsonObject { ["EventId"] = "e" })]) });
            default:
                return (400, $$"""{"__type":"UnknownOperationException","Message":"{{operation}}"}""");
        }
    }

    private static (int, string) Ok(JsonObject body) => (200, body.ToJsonString());
}
