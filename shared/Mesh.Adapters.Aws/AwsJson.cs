using System.Text.Json.Serialization;
using Mesh.Core.Ports;

namespace Mesh.Adapters.Aws;

// The request and response shapes of the operations used, named as the services name them.

public sealed record ServiceSummary(string Id, string Name);
public sealed record CreateServiceRequest(string Name, string NamespaceId, string CreatorRequestId, string Type, string Description);
public sealed record CreateServiceResponse(ServiceSummary? Service);
public sealed record ListInstancesRequest(string ServiceId, int MaxResults, string? NextToken);
public sealed record InstanceSummary(string Id, Dictionary<string, string>? Attributes);
public sealed record ListInstancesResponse(IReadOnlyList<InstanceSummary>? Instances, string? NextToken);
public sealed record RegisterInstanceRequest(string ServiceId, string InstanceId, string CreatorRequestId, IReadOnlyDictionary<string, string> Attributes);
public sealed record DeregisterInstanceRequest(string ServiceId, string InstanceId);
public sealed record OperationResponse(string? OperationId);

public sealed record PutEventsEntry(string Source, string DetailType, string Detail, string EventBusName, IReadOnlyList<string> Resources);
public sealed record PutEventsRequest(IReadOnlyList<PutEventsEntry> Entries);
public sealed record PutEventsResultEntry(string? EventId, string? ErrorCode, string? ErrorMessage);
public sealed record PutEventsResponse(int FailedEntryCount, IReadOnlyList<PutEventsResultEntry>? Entries);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CreateServiceRequest))]
[JsonSerializable(typeof(CreateServiceResponse))]
[JsonSerializable(typeof(ListInstancesRequest))]
[JsonSerializable(typeof(ListInstancesResponse))]
[JsonSerializable(typeof(RegisterInstanceRequest))]
[JsonSerializable(typeof(DeregisterInstanceRequest))]
[JsonSerializable(typeof(OperationResponse))]
[JsonSerializable(typeof(PutEventsRequest))]
[JsonSerializable(typeof(PutEventsResponse))]
internal sealed partial class AwsJson : JsonSerializerContext;

/// <summary>The detail of a "Mesh Config Published" event, as documented in the README.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ConfigPublished))]
internal sealed partial class EventDetailJson : JsonSerializerContext;
