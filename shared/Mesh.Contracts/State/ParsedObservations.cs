using System.Collections.Concurrent;
using System.Text.Json;
using Mesh.Core.Model;

namespace Mesh.Contracts.State;

/// <summary>
/// Ledger entries already parsed, by source, workload and revision: a publish reads every backend's live entries, and
/// only the ones whose revision moved since this process last read them are parsed again (and so handed to the
/// compiler as new instances). A revision is moved by every write, so an entry is never served stale. Bounded: past
/// <see cref="Capacity"/> entries it starts again empty.
/// </summary>
public sealed class ParsedObservations
{
    public const int Capacity = 100_000;

    private readonly ConcurrentDictionary<(string Source, string Workload), (long Revision, SourceObservation Observation)> _parsed = new();

    public SourceObservation Get(string sourceId, string workload, long revision, string body)
    {
        if (_parsed.TryGetValue((sourceId, workload), out var kept) && kept.Revision == revision) return kept.Observation;
        var observation = JsonSerializer.Deserialize(body, StateJson.Default.SourceObservation) ?? throw new InvalidDataException("stored ledger entry is empty");
        if (_parsed.Count >= Capacity) _parsed.Clear();
        _parsed[(sourceId, workload)] = (revision, observation);
        return observation;
    }
}
