using System.Collections.Immutable;
using Mesh.Core.Compile;
using Mesh.Core.Model;
using Mesh.Core.Snapshots;

namespace Mesh.Tests.Compile;

public class ConsistencyTests
{
    private static ServiceDefinition Service(string name, int port = 8080, ServiceProtocol protocol = ServiceProtocol.Http, string[]? backends = null, string[]? hostnames = null) => new()
    {
        Mesh = "m",
        Name = name,
        Port = port,
        Protocol = protocol,
        Backends = [.. backends ?? []],
        Hostnames = [.. hostnames ?? []],
    };

    private static CompileResult Compile(ServiceDefinition service, params ServiceDefinition?[] backends) =>
        FleetCompiler.Compile(new FleetInputs(service, [.. service.Backends.Select(b => new BackendInputs(b, backends.FirstOrDefault(d => d?.Name == b), []))]), new XdsSettings());

    [Fact]
    public void A_backend_the_mesh_does_not_define_refuses_the_snapshot_with_a_reason()
    {
        var refused = Assert.IsType<Refused>(Compile(Service("web", backends: ["ghost"])));
        Assert.Contains(refused.Reasons, r => r.Contains("backend 'ghost' is not a service of mesh 'm'"));
    }

    [Fact]
    public void Two_backends_claiming_one_domain_refuse_the_snapshot()
    {
        var refused = Assert.IsType<Refused>(Compile(Service("web", backends: ["a", "b"]),
            Service("a", hostnames: ["api.internal"]), Service("b", hostnames: ["api.internal"])));
        Assert.Contains(refused.Reasons, r => r.Contains("domain 'api.internal' is claimed by both a and b"));
    }

    [Fact]
    public void A_tcp_backend_on_a_proxy_port_refuses_the_snapshot()
    {
        var refused = Assert.IsType<Refused>(Compile(Service("web", backends: ["db"]), Service("db", port: 15001, protocol: ServiceProtocol.Tcp)));
        Assert.Contains(refused.Reasons, r => r.Contains("bind port 15001"));
    }

    [Fact]
    public void A_valid_fleet_passes_the_check_and_compiles_to_the_same_version_every_time()
    {
        var web = Service("web", backends: ["api"]);
        var first = Assert.IsType<Compiled>(Compile(web, Service("api")));
        var second = Assert.IsType<Compiled>(Compile(web, Service("api")));
        Assert.Empty(FleetCompiler.ConsistencyProblems(first.Snapshot));
        Assert.Equal(first.Snapshot.Version, second.Snapshot.Version);
    }

    [Fact]
    public void The_check_finds_dangling_references_orphans_and_duplicate_names()
    {
        static XdsResource Resource(string name, params ResourceReference[] references) =>
            new(name, "{}"u8.ToArray(), [.. references]);
        var snapshot = new FleetSnapshot(new FleetId("m", "s"),
        [
            new ResourceSet(XdsType.Clusters, [Resource("a", new ResourceReference(XdsType.Endpoints, "a")), Resource("b", new ResourceReference(XdsType.Endpoints, "missing"))]),
            new ResourceSet(XdsType.Endpoints, [Resource("a"), Resource("orphan")]),
            new ResourceSet(XdsType.Listeners, [Resource("l", new ResourceReference(XdsType.Routes, "r")), Resource("l")]),
            new ResourceSet(XdsType.Routes, [Resource("r", new ResourceReference(XdsType.Clusters, "nowhere"))]),
        ]);
        var problems = SnapshotConsistency.Check(snapshot);
        Assert.Contains(problems, p => p.Contains("refers to Endpoints 'missing'"));
        Assert.Contains(problems, p => p.Contains("Endpoints 'orphan' is named by no cluster"));
        Assert.Contains(problems, p => p.Contains("Listeners name 'l' is used 2 times"));
        Assert.Contains(problems, p => p.Contains("refers to Clusters 'nowhere'"));
    }

    [Fact]
    public void Endpoints_whose_port_cannot_be_resolved_are_left_out_with_a_warning()
    {
        var api = Service("api") with { Workload = new WorkloadSource { Platform = "ecs", Cluster = "c", Service = "api" } };
        var unmapped = new Endpoint { Id = "t1", Address = "10.0.0.1", Ports = [new EndpointPort(null, 9999, 32000)] };
        var compiled = Assert.IsType<Compiled>(FleetCompiler.Compile(
            new FleetInputs(Service("web", backends: ["api"]), [new BackendInputs("api", api, [unmapped])]), new XdsSettings()));
        Assert.Contains(compiled.Warnings, w => w.Contains("endpoint t1 of api exposes no port for 8080"));
        Assert.DoesNotContain("10.0.0.1", System.Text.Encoding.UTF8.GetString(compiled.Snapshot[XdsType.Endpoints].Find("outbound|api")!.Json.Span));
    }

    [Fact]
    public void Sharing_backend_resources_across_fleets_gives_the_same_bytes_as_compiling_each_alone()
    {
        var api = Service("api", protocol: ServiceProtocol.Grpc) with { Subsets = [new Subset("v2", "2")] };
        var db = Service("db", port: 5432, protocol: ServiceProtocol.Tcp);
        var endpoints = new[] { new Endpoint { Id = "e1", Address = "10.0.0.1", Version = "2" }, new Endpoint { Id = "e2", Address = "10.0.0.2", Version = "1" } };
        var fleets = new[] { Service("web", backends: ["api", "db"]), Service("worker", backends: ["db"]), Service("cron", backends: ["api"]) };
        var shared = new CompileMemory();
        foreach (var fleet in fleets)
        {
            var inputs = new FleetInputs(fleet, [.. fleet.Backends.Select(b => new BackendInputs(b, b == "api" ? api : db, endpoints))]);
            var alone = Assert.IsType<Compiled>(FleetCompiler.Compile(inputs, new XdsSettings())).Snapshot;
            var withShared = Assert.IsType<Compiled>(FleetCompiler.Compile(inputs, new XdsSettings(), shared)).Snapshot;
            Assert.Equal(SnapshotCodec.Encode(alone), SnapshotCodec.Encode(withShared));
        }
    }

    [Fact]
    public void Snapshots_round_trip_through_the_stored_form_byte_for_byte()
    {
        var compiled = Assert.IsType<Compiled>(Compile(Service("web", backends: ["api", "db"]), Service("api", protocol: ServiceProtocol.Grpc), Service("db", port: 5432, protocol: ServiceProtocol.Tcp)));
        var stored = SnapshotCodec.Encode(compiled.Snapshot);
        var decoded = SnapshotCodec.Decode(stored);
        Assert.Equal(compiled.Snapshot.Version, decoded.Version);
        Assert.Equal(stored, SnapshotCodec.Encode(decoded));
    }

    [Fact]
    public void A_stored_snapshot_that_does_not_hash_to_its_version_is_refused_on_read()
    {
        var compiled = Assert.IsType<Compiled>(Compile(Service("web")));
        var tampered = System.Text.Encoding.UTF8.GetString(SnapshotCodec.Encode(compiled.Snapshot)).Replace("127.0.0.1", "127.0.0.2", StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => SnapshotCodec.Decode(System.Text.Encoding.UTF8.GetBytes(tampered)));
    }
}
