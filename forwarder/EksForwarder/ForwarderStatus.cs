using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mesh.EksForwarder;

public sealed record ForwarderStatus(bool Leading, string? Leader, DateTimeOffset? LastListAt, DateTimeOffset? LastPublishAt, long Pending, long PublishedEvents);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ForwarderStatus))]
public sealed partial class ForwarderJson : JsonSerializerContext;
