using System.Text.Json.Serialization;

namespace Mesh.Contracts.Sqs;

/// <summary>The SQS batch Lambda delivers (the Lambda Web Adapter posts it unchanged).</summary>
public sealed record SqsEvent([property: JsonPropertyName("Records")] IReadOnlyList<SqsMessage>? Records);

public sealed record SqsMessage(
    [property: JsonPropertyName("messageId")] string? MessageId,
    [property: JsonPropertyName("body")] string? Body,
    [property: JsonPropertyName("eventSource")] string? EventSource = null,
    [property: JsonPropertyName("eventSourceARN")] string? EventSourceArn = null);

/// <summary>Lambda's partial batch response: only the named messages return to the queue.</summary>
public sealed record SqsBatchResponse([property: JsonPropertyName("batchItemFailures")] IReadOnlyList<BatchItemFailure> BatchItemFailures);

public sealed record BatchItemFailure([property: JsonPropertyName("itemIdentifier")] string ItemIdentifier);
