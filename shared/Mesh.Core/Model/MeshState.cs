using System.Collections.Frozen;
using System.Collections.Immutable;

namespace Mesh.Core.Model;

/// <summary>The desired state of one mesh: its services, by name, at one revision (which every applied change moves).</summary>
public sealed class MeshState
{
    private readonly Lazy<FrozenDictionary<string, ImmutableArray<string>>> _callers;

    public MeshState(string name, IEnumerable<ServiceDefinition> services, long revision = 0, string generation = "", MeshSettings? settings = null,
        IEnumerable<GatewayDefinition>? gateways = null)
    {
        Name = name;
        Revision = revision;
        Generation = generation;
        Settings = settings ?? MeshSettings.Default;
        Services = services.ToImmutableSortedDictionary(s => s.Name, s => s, StringComparer.Ordinal);
        Gateways = (gateways ?? []).ToImmutableSortedDictionary(g => g.Name, g => g, StringComparer.Ordinal);
        _callers = new(IndexCallers);
    }

    public string Name { get; }

    public long Revision { get; }

    /// <summary>Which life of the mesh this is (see <see cref="ChangeRecord.Generation"/>); revisions count within it.</summary>
    public string Generation { get; }

    /// <summary>What a fleet compiled from this mesh records in its head, so a reconciler can tell when it lags.</summary>
    public MeshStamp Stamp => new(Generation, Revision);

    public ImmutableSortedDictionary<string, ServiceDefinition> Services { get; }

    /// <summary>The mesh's ingress gateways, by name; each is a fleet of its own.</summary>
    public ImmutableSortedDictionary<string, GatewayDefinition> Gateways { get; }

    /// <summary>Settings of the whole mesh (egress), compiled into every fleet.</summary>
    public MeshSettings Settings { get; }

    /// <summary>Every fleet of the mesh, its services' and its gateways': what a change to its settings affects.</summary>
    public IEnumerable<FleetId> Fleets => Services.Keys.Concat(Gateways.Keys).Select(s => new FleetId(Name, s));

    /// <summary>Whether a fleet of this mesh exists by that name, of a service or a gateway.</summary>
    public bool HasFleet(string name) => Services.ContainsKey(name) || Gateways.ContainsKey(name);

    /// <summary>Who may fetch a fleet's configuration; null when the mesh has no such fleet.</summary>
    public ProxyIdentities? ProxyIdentitiesOf(string fleet) =>
        Services.TryGetValue(fleet, out var service) ? service.ProxyIdentities : Gateways.GetValueOrDefault(fleet)?.ProxyIdentities;

    /// <summary>Fleets whose configuration depends on the endpoints of <paramref name="service"/>: every fleet that calls it, gateways routing to it included.</summary>
    public IEnumerable<FleetId> FleetsCalling(string service) =>
        _callers.Value.TryGetValue(service, out var callers) ? callers.Select(c => new FleetId(Name, c)) : [];

    /// <summary>Fleets a change to the definition of <paramref name="service"/> affects: its own and every caller's.</summary>
    public IEnumerable<FleetId> FleetsAffectedByDefinition(string service) =>
        FleetsCalling(service).Prepend(new FleetId(Name, service));

    /// <summary>The same mesh with one service replaced, added (by name) or, when <paramref name="definition"/> is null, removed.</summary>
    public MeshState With(string service, ServiceDefinition? definition) =>
        new(Name, definition is null ? Services.Remove(service).Values : Services.SetItem(service, definition).Values, Revision, Generation, Settings, Gateways.Values);

    /// <summary>The same mesh with one gateway replaced, added (by name) or, when <paramref name="definition"/> is null, removed.</summary>
    public MeshState WithGateway(string gateway, GatewayDefinition? definition) =>
        new(Name, Services.Values, Revision, Generation, Settings, definition is null ? Gateways.Remove(gateway).Values : Gateways.SetItem(gateway, definition).Values);

    /// <summary>The same services with other mesh settings.</summary>
    public MeshState With(MeshSettings settings) => new(Name, Services.Values, Revision, Generation, settings, Gateways.Values);

    /// <summary>The same services at another revision (of this generation, or of a new one).</summary>
    public MeshState At(long revision, string generation) => new(Name, Services.Values, revision, generation, Settings, Gateways.Values);

    private FrozenDictionary<string, ImmutableArray<string>> IndexCallers() =>
        Services.Values
            .SelectMany(caller => caller.Backends.Distinct(StringComparer.Ordinal).Select(backend => (backend, caller: caller.Name)))
            .Concat(Gateways.Values.SelectMany(gateway => gateway.Targets.Select(target => (backend: target, caller: gateway.Name))))
            .GroupBy(p => p.backend, StringComparer.Ordinal)
            .ToFrozenDictionary(g => g.Key, g => g.Select(p => p.caller).Order(StringComparer.Ordinal).ToImmutableArray(), StringComparer.Ordinal);
}

/// <summary>The desired state a fleet was compiled from: the mesh's generation and revision.</summary>
public readonly record struct MeshStamp(string Generation, long Revision)
{
    public override string ToString() => $"{Generation}@{Revision}";
}
