using Mesh.Core.Compile;
using Mesh.Core.Endpoints;
using Mesh.Core.Model;

namespace Mesh.Benchmarks;

/// <summary>
/// A deterministic synthetic mesh: <paramref name="Services"/> services with <paramref name="EndpointsPerService"/>
/// endpoints each, every fleet calling <paramref name="BackendsPerFleet"/> others, and one hot service
/// (svc-0000) that exactly <paramref name="HotCallers"/> fleets call.
/// </summary>
public sealed record SyntheticMesh(int Services = 1000, int EndpointsPerService = 20, int BackendsPerFleet = 10, int HotCallers = 50)
{
    public const string Mesh = "bench";
    public const string Hot = "svc-0000";

    public static string Name(int i) => $"svc-{i:D4}";

    public IReadOnlyList<ServiceDefinition> Definitions()
    {
        var random = new Random(42);
        return [.. Enumerable.Range(0, Services).Select(i =>
        {
            var pool = Enumerable.Range(1, Services - 1).Where(b => b != i).OrderBy(_ => random.Next()).Take(i < HotCallers ? BackendsPerFleet - 1 : BackendsPerFleet);
            var backends = (i < HotCallers && i != 0 ? pool.Prepend(0) : pool).Select(Name);
            return new ServiceDefinition
            {
                Mesh = Mesh,
                Name = Name(i),
                Port = 8080,
                Backends = [.. backends],
                Subsets = [new Subset("v1", "1"), new Subset("v2", "2")],
                Workload = new WorkloadSource { Platform = "ecs", Cluster = "bench", Service = Name(i) },
            };
        })];
    }

    /// <summary>One ledger observation per service (as if one slice held all its endpoints).</summary>
    public IReadOnlyList<SourceObservation> Observations() =>
        [.. Enumerable.Range(0, Services).Select(i => new SourceObservation
        {
            SourceId = $"bench-slice:{i}",
            Workload = WorkloadKey.Ecs("bench", Name(i)),
            Version = 1,
            Endpoints = [.. Enumerable.Range(0, EndpointsPerService).Select(e => Endpoint(i, e, version: e % 2 == 0 ? "1" : "2"))],
        })];

    public static Endpoint Endpoint(int service, int index, string version) => new()
    {
        Id = $"task-{service}-{index}",
        Address = $"10.{service / 250}.{service % 250}.{index + 1}",
        Region = "eu-west-1",
        Zone = $"eu-west-1{(char)('a' + index % 3)}",
        Version = version,
        Health = EndpointHealth.Healthy,
    };

    /// <summary>Every fleet's compile inputs, from the definitions and observations above.</summary>
    public IReadOnlyList<FleetInputs> AllInputs()
    {
        var definitions = Definitions().ToDictionary(d => d.Name);
        var endpoints = Observations().ToDictionary(o => o.Workload, o => (IReadOnlyList<Endpoint>)o.Endpoints);
        return [.. definitions.Values.Select(s => new FleetInputs(s,
            [.. s.Backends.Select(b => new BackendInputs(b, definitions[b], endpoints[definitions[b].Workload!.Key]))]))];
    }
}
