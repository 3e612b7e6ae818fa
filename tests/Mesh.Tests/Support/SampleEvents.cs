using System.Text.Json;
using Mesh.Contracts.Events;
using Mesh.Core.Model;
using Mesh.LocalHost;

namespace Mesh.Tests.Support;

/// <summary>The messages of samples.json, unwrapped from their SQS batches, and the mapper the Ingest function uses.</summary>
public static class SampleEvents
{
    public static EventMapper Mapper(SampleFile samples) =>
        new(new EcsTaskMapper(arn => samples.ContainerInstances.FirstOrDefault(c => c.Arn == arn)?.Address), new EksSliceMapper());

    /// <summary>Every message body in story order.</summary>
    public static IReadOnlyList<(string Sample, string Body)> Bodies(SampleFile samples) =>
        [.. samples.Samples.SelectMany(s => s.Event.GetProperty("Records").EnumerateArray()
            .Select(r => (s.Name, r.GetProperty("body").GetString()!)))];

    public static IEnumerable<FleetId> Fleets(SampleFile samples) => samples.DesiredState.Services.Select(s => s.Fleet);

    public static string SqsBatch(params string[] bodies) => JsonSerializer.Serialize(new
    {
        Records = bodies.Select((body, i) => new { messageId = $"m{i + 1}", body, eventSource = "aws:sqs" }),
    });
}
