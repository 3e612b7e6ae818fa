using System.Collections.Frozen;
using System.Collections.Immutable;

namespace Mesh.Core.Model;

/// <summary>The desired state of one mesh: its services, by name.</summary>
public sealed class MeshState
{
    private readonly Lazy<FrozenDictionary<string, ImmutableArray<string>>> _callers;

    public MeshState(string name, IEnumerable<ServiceDefinition> services)
    {
        Name = name;
        Services = services.ToImmutableSortedDictionary(s => s.Name, s => s, StringComparer.Ordinal);
        _callers = new(IndexCallers);
    }

    public string Name { get; }

    public ImmutableSortedDictionary<string, ServiceDefinition> Services { get; }

    /// <summary>Fleets whose configuration depends on the endpoints of <paramref name="service"/>: every fleet that calls it.</summary>
    public IEnumerable<FleetId> FleetsCalling(string service) =>
        _callers.Value.TryGetValue(service, out var callers) ? callers.Select(c => new FleetId(Name, c)) : [];

    /// <summary>Fleets a change to the definition of <paramref name="service"/> affects: its own and every caller's.</summary>
    public IEnumerable<FleetId> FleetsAffectedByDefinition(string service) =>
        FleetsCalling(service).Prepend(new FleetId(Name, service));

    private FrozenDictionary<string, ImmutableArray<string>> IndexCallers() =>
        Services.Values
            .SelectMany(caller => caller.Backends.Distinct(StringComparer.Ordinal).Select(backend => (backend, caller: caller.Name)))
            .GroupBy(p => p.backend, StringComparer.Ordinal)
            .ToFrozenDictionary(g => g.Key, g => g.Select(p => p.caller).Order(StringComparer.Ordinal).ToImmutableArray(), StringComparer.Ordinal);
}
