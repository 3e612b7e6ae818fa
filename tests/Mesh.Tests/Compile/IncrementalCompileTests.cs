using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using Mesh.Core.Compile;
using Mesh.Core.Model;
using Mesh.Core.Snapshots;

namespace Mesh.Tests.Compile;

/// <summary>
/// Compiling with memory (only what changed is compiled again) gives byte for byte what a full compile gives, for
/// random sequences of endpoint events, service edits, mesh settings edits and re-reads of unchanged definitions
/// (new instances of the same content, as a store hands back after another writer's change). Seeded.
/// </summary>
public class IncrementalCompileTests
{
    private const ulong Seed = 20261207;
    private static readonly string[] Names = ["a", "b", "c", "d", "e"];
    private static readonly XdsSettings Settings = new();

    [Fact]
    public void Incremental_and_full_compiles_give_identical_snapshots_for_random_events_and_edits()
    {
        var property = Prop.ForAll(Gen.Choose(0, int.MaxValue).ListOf().ToArbitrary(), steps =>
        {
            var world = new World();
            var memory = new CompileMemory();
            foreach (var step in steps.Take(40))
            {
                world.Apply(new Random(step));
                AssertMatchesFullCompile(world, memory);
            }
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200).WithReplay(Seed, 1).WithEndSize(40), property);
    }

    [Fact]
    public void An_endpoint_change_recompiles_only_that_backend_and_reassembles_its_callers()
    {
        var world = new World();
        var memory = new CompileMemory();
        foreach (var fleet in world.AllInputs()) FleetCompiler.Compile(fleet, Settings, memory);
        var before = memory.Counts;
        world.Endpoints["b"] = [.. world.Endpoints["b"], Endpoint(99, "2", "eu-west-1c", EndpointHealth.Healthy)];
        world.Reread();
        AssertMatchesFullCompile(world, memory);
        var after = memory.Counts;
        Assert.Equal(1, after.BackendsCompiled - before.BackendsCompiled);
        Assert.Equal(0, after.FramesCompiled - before.FramesCompiled);
    }

    [Fact]
    public void An_edit_recompiles_the_frames_of_the_fleets_it_touches_only()
    {
        var world = new World();
        var memory = new CompileMemory();
        foreach (var fleet in world.AllInputs()) FleetCompiler.Compile(fleet, Settings, memory);
        var before = memory.Counts;
        world.Services["b"] = world.Services["b"] with { Routes = [new RouteRule { Name = "canary", Targets = [new WeightedTarget { Subset = "v1", Weight = 70 }, new WeightedTarget { Subset = "v2", Weight = 30 }] }] };
        world.Reread();
        AssertMatchesFullCompile(world, memory);
        var after = memory.Counts;
        var touched = world.Services.Values.Count(s => s.Name == "b" || s.Backends.Contains("b"));
        Assert.Equal(touched, after.FramesCompiled - before.FramesCompiled);
        Assert.Equal(1, after.BackendsCompiled - before.BackendsCompiled);
    }

    /// <summary>Every fleet of the world, compiled with memory and without: the same result.</summary>
    private static void AssertMatchesFullCompile(World world, CompileMemory memory)
    {
        foreach (var fleet in world.AllInputs()) AssertSame(FleetCompiler.Compile(fleet, Settings), FleetCompiler.Compile(fleet, Settings, memory));
    }

    private static void AssertSame(CompileResult full, CompileResult incremental)
    {
        switch (full)
        {
            case Compiled compiled:
                var other = Assert.IsType<Compiled>(incremental);
                Assert.Equal(SnapshotCodec.Encode(compiled.Snapshot), SnapshotCodec.Encode(other.Snapshot));
                Assert.Equal(compiled.Warnings, other.Warnings);
                break;
            case Refused refused:
                Assert.Equal(refused.Reasons, Assert.IsType<Refused>(incremental).Reasons);
                break;
        }
    }

    private static Endpoint Endpoint(int id, string version, string zone, EndpointHealth health, int? hostPort = null) => new()
    {
        Id = $"t{id}",
        Address = $"10.0.{id / 250}.{id % 250 + 1}",
        Region = "eu-west-1",
        Zone = zone,
        Version = version,
        Health = health,
        Ports = hostPort is { } port ? [new EndpointPort(null, 8080, port)] : [],
    };

    /// <summary>A small mesh, changed one random step at a time the ways a store's inputs change.</summary>
    private sealed class World
    {
        public Dictionary<string, ServiceDefinition> Services { get; } = [];
        public Dictionary<string, IReadOnlyList<Endpoint>> Endpoints { get; } = [];
        private MeshSettings _settings = MeshSettings.Default;
        private int _nextEndpoint;

        public World()
        {
            for (var i = 0; i < Names.Length; i++)
            {
                Services[Names[i]] = new ServiceDefinition
                {
                    Mesh = "m",
                    Name = Names[i],
                    Port = 8080,
                    Backends = [.. Names.Where((_, j) => j != i && (i + j) % 2 == 1)],
                    Subsets = [new Subset("v1", "1"), new Subset("v2", "2")],
                    Workload = new WorkloadSource { Platform = "ecs", Cluster = "c", Service = Names[i] },
                };
                Endpoints[Names[i]] = [.. Enumerable.Range(0, 3).Select(_ => Endpoint(_nextEndpoint++, "1", "eu-west-1a", EndpointHealth.Healthy))];
            }
        }

        public IEnumerable<FleetInputs> AllInputs() => Services.Values.Select(s => new FleetInputs(s,
            [.. s.Backends.Select(b => new BackendInputs(b, Services.GetValueOrDefault(b), Services.ContainsKey(b) ? Endpoints[b] : []))])
        { OwnEndpoints = Endpoints[s.Name], Settings = _settings });

        public void Apply(Random random)
        {
            var name = Names[random.Next(Names.Length)];
            switch (random.Next(4))
            {
                case 0: ChangeEndpoints(name, random); break;
                case 1: Services[name] = Edit(Services[name], random); break;
                case 2: _settings = _settings with { Egress = _settings.Egress with { Mode = random.Next(2) == 0 ? EgressMode.AllowAll : EgressMode.DropAll } }; break;
                default: Reread(); break;
            }
        }

        /// <summary>Every definition and endpoint list as new instances of the same content, as read again from a store.</summary>
        public void Reread()
        {
            foreach (var name in Services.Keys.ToList())
            {
                var json = JsonSerializer.Serialize(StoredService.From(Services[name]), CanonicalJson.Default.StoredService);
                Services[name] = JsonSerializer.Deserialize(json, CanonicalJson.Default.StoredService)!.ToDefinition();
                Endpoints[name] = [.. Endpoints[name].Select(e => e with { Ports = [.. e.Ports] })];
            }
            _settings = JsonSerializer.Deserialize(JsonSerializer.Serialize(_settings, CanonicalJson.Default.MeshSettings), CanonicalJson.Default.MeshSettings)!;
        }

        private void ChangeEndpoints(string name, Random random)
        {
            var list = Endpoints[name].ToList();
            switch (random.Next(4))
            {
                case 0:
                    list.Add(Endpoint(_nextEndpoint++, random.Next(2) == 0 ? "1" : "2", $"eu-west-1{(char)('a' + random.Next(3))}", EndpointHealth.Healthy,
                        random.Next(3) == 0 ? 32768 + random.Next(100) : null));
                    break;
                case 1 when list.Count > 0:
                    list.RemoveAt(random.Next(list.Count));
                    break;
                case 2 when list.Count > 0:
                    var index = random.Next(list.Count);
                    list[index] = list[index] with { Health = (EndpointHealth)random.Next(4) };
                    break;
                default:
                    // The same endpoints again: an event that changes nothing.
                    break;
            }
            Endpoints[name] = list;
        }

        private static ServiceDefinition Edit(ServiceDefinition service, Random random)
        {
            var others = Names.Where(n => n != service.Name).ToArray();
            return random.Next(7) switch
            {
                0 => service with { Protocol = (ServiceProtocol)random.Next(4) },
                1 => service with { Port = random.Next(2) == 0 ? 8080 : 9090 },
                2 => service with { Backends = [.. others.Where(_ => random.Next(2) == 0)] },
                3 => service with
                {
                    Routes = random.Next(3) == 0 ? [] :
                        [new RouteRule { Name = "canary", Targets = [new WeightedTarget { Subset = "v1", Weight = 100 - random.Next(100) }, new WeightedTarget { Subset = "v2", Weight = random.Next(1, 100) }] }],
                },
                4 => service with { Subsets = random.Next(2) == 0 ? [new Subset("v1", "1"), new Subset("v2", "2")] : [new Subset("v1", "1"), new Subset("v2", "2"), new Subset("v3", "3")] },
                5 => service with { Policy = service.Policy with { LoadBalancing = (LoadBalancing)random.Next(3), Mtls = random.Next(2) == 0 ? MtlsMode.Disabled : MtlsMode.Strict } },
                _ => service with { Hostnames = random.Next(2) == 0 ? [] : [$"{service.Name}.example.com"], AdditionalPorts = random.Next(2) == 0 ? [] : [new ServicePort { Port = 9443, Protocol = ServiceProtocol.Grpc }] },
            };
        }
    }
}
