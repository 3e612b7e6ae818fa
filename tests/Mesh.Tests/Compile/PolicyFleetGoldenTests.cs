using System.Text.Json;
using System.Text.Json.Nodes;
using Envoy.Schema;
using Mesh.Core.Editing;
using Mesh.Core.Model;
using Mesh.Core.Publishing;
using Mesh.Tests.Support;

namespace Mesh.Tests.Compile;

/// <summary>
/// A "policy fleet": one caller whose backend uses every route and policy feature (path prefix, exact and regex;
/// header and query matches of every kind; method; weighted subsets; retries with every field; timeouts; connection
/// pool, outlier detection, load balancing, health check, STRICT mTLS with allowed callers; a PERMISSIVE, a gRPC and a
/// TCP backend). Its compiled fleets are reviewed golden files, and every resource passes Envoy's schema.
/// </summary>
public class PolicyFleetGoldenTests
{
    private static readonly Subset[] Versions = [new("v1", "1"), new("v2", "2")];

    private static ServiceDefinition Service(string name, int port, ServiceProtocol protocol, params string[] backends) => new()
    {
        Mesh = "policy", Name = name, Port = port, Protocol = protocol, Backends = [.. backends], Subsets = [.. Versions],
        Hostnames = [$"{name}.policy.internal"], Workload = new WorkloadSource { Platform = "ecs", Cluster = "c1", Service = name },
    };

    private static readonly ServiceDefinition[] Mesh =
    [
        Service("front", 8080, ServiceProtocol.Http, "api", "legacy", "rpc", "db"),
        Service("api", 8080, ServiceProtocol.Http) with
        {
            HealthCheck = new HealthCheck { Path = "/healthz", IntervalMs = 5000, TimeoutMs = 1000, HealthyThreshold = 2, UnhealthyThreshold = 3 },
            Routes =
            [
                new RouteRule
                {
                    Name = "canary-header", Match = new RouteMatch { Prefix = "/orders", Method = "POST",
                        Headers = [new HeaderMatch { Name = "x-canary", Exact = "1" }, new HeaderMatch { Name = "x-tenant", Prefix = "gold-" },
                            new HeaderMatch { Name = "x-trace", Regex = "^[a-f0-9]{32}$" }, new HeaderMatch { Name = "x-debug", Present = true, Invert = true }],
                        QueryParameters = [new QueryMatch { Name = "beta", Exact = "true" }, new QueryMatch { Name = "id", Regex = "^[0-9]+$" }, new QueryMatch { Name = "trace", Present = true }] },
                    Targets = [new WeightedTarget { Subset = "v2", Weight = 100 }],
                    Retry = new RetryPolicy { On = ["5xx", "reset", "connect-failure"], Attempts = 3, PerTryTimeoutMs = 500, BackoffBaseMs = 25, BackoffMaxMs = 250 },
                    TimeoutMs = 3000, IdleTimeoutMs = 60000,
                },
                new RouteRule { Name = "exact", Match = new RouteMatch { Path = "/status" }, Targets = [new WeightedTarget { Subset = "v1", Weight = 100 }] },
                new RouteRule { Name = "regex", Match = new RouteMatch { Regex = "^/items/[0-9]+$" },
                    Targets = [new WeightedTarget { Subset = "v1", Weight = 90 }, new WeightedTarget { Subset = "v2", Weight = 10 }] },
            ],
            Policy = new ServicePolicy
            {
                ConnectionPool = new ConnectionPool { MaxConnections = 100, MaxPendingRequests = 50, MaxRequests = 200, MaxRetries = 3 },
                OutlierDetection = new OutlierDetection { Consecutive5xx = 5, IntervalMs = 10000, BaseEjectionMs = 30000, MaxEjectionPercent = 50 },
                LoadBalancing = LoadBalancing.LeastRequest, Mtls = MtlsMode.Strict, AllowedCallers = ["front"],
            },
        },
        Service("legacy", 8080, ServiceProtocol.Http) with { Policy = new ServicePolicy { Mtls = MtlsMode.Permissive, LoadBalancing = LoadBalancing.Random } },
        Service("rpc", 9090, ServiceProtocol.Grpc),
        Service("db", 5432, ServiceProtocol.Tcp),
    ];

    public static TheoryData<string> Fleets() => ["front", "api"];

    [Theory]
    [MemberData(nameof(Fleets))]
    public async Task The_policy_fleet_compiles_to_its_reviewed_golden_snapshot_and_envoy_accepts_every_resource(string fleet)
    {
        Assert.Empty(MeshValidator.Validate(new MeshState("policy", Mesh)));
        using var store = new TempStore();
        await store.Store.Desired.PutServicesAsync(Mesh, CancellationToken.None);
        var address = 10;
        foreach (var service in Mesh)
        {
            foreach (var version in Versions)
            {
                await store.Recorder.RecordAsync(new SourceObservation
                {
                    SourceId = $"ecs-task:c1/{service.Name}-{version.Name}", Workload = service.Workload!.Key, Version = 1,
                    Endpoints = [new Endpoint { Id = $"{service.Name}-{version.Name}", Address = $"10.0.0.{address++}", Region = "eu-west-1",
                        Zone = version.Name == "v1" ? "eu-west-1a" : "eu-west-1b", Version = version.Version, Health = EndpointHealth.Healthy }],
                }, CancellationToken.None);
            }
        }
        var outcome = Assert.Single(await store.Publisher.PublishAsync([new FleetId("policy", fleet)], CancellationToken.None));
        Assert.Equal(PublishStatus.Published, outcome.Status);

        foreach (var resource in outcome.Snapshot!.Sets.SelectMany(set => set.Resources))
            Assert.Empty(EnvoySchema.CheckResource(System.Text.Encoding.UTF8.GetString(resource.Json.Span)));
        await Golden.AssertMatchesAsync(Path.Combine(Repo.GoldenDirectory, $"policy-{fleet}.json"), Golden.Of(outcome.Snapshot));
    }
}

/// <summary>Certificates that rotate: TLS contexts take them through SDS from files that Envoy reloads, never inline file names.</summary>
public class RotatingCertificateTests
{
    [Fact]
    public async Task Every_tls_context_takes_its_certificate_and_ca_through_sds_from_watched_files()
    {
        var settings = new Mesh.Core.Compile.XdsSettings();
        var services = new[]
        {
            new ServiceDefinition { Mesh = "tls", Name = "front", Port = 8080, Backends = ["api"], Policy = new ServicePolicy { Mtls = MtlsMode.Permissive } },
            new ServiceDefinition { Mesh = "tls", Name = "api", Port = 8080, Policy = new ServicePolicy { Mtls = MtlsMode.Strict, AllowedCallers = ["front"] } },
        };
        using var store = new TempStore(settings);
        await store.Store.Desired.PutServicesAsync(services, CancellationToken.None);
        var outcomes = await store.Publisher.PublishAsync([new FleetId("tls", "front"), new FleetId("tls", "api")], CancellationToken.None);
        var contexts = 0;
        foreach (var resource in outcomes.SelectMany(o => o.Snapshot!.Sets).SelectMany(s => s.Resources))
        {
            foreach (var context in JsonTree.Descendants(JsonNode.Parse(resource.Json.Span)!).OfType<JsonObject>().Where(o => o.ContainsKey("common_tls_context")))
            {
                contexts++;
                var common = context["common_tls_context"]!.AsObject();
                Assert.False(common.ContainsKey("tls_certificates"));
                Assert.False(common.ContainsKey("validation_context"));
                var certificate = Assert.Single(common["tls_certificate_sds_secret_configs"]!.AsArray())!;
                Assert.Equal(settings.Tls.CertificateSecretPath, (string?)certificate["sds_config"]!["path_config_source"]!["path"]);
                Assert.Equal("/etc/mesh/tls", (string?)certificate["sds_config"]!["path_config_source"]!["watched_directory"]!["path"]);
                var validation = common["validation_context_sds_secret_config"] ?? common["combined_validation_context"]!["validation_context_sds_secret_config"];
                Assert.Equal(settings.Tls.ValidationSecretPath, (string?)validation!["sds_config"]!["path_config_source"]!["path"]);
            }
        }
        Assert.True(contexts >= 3, $"{contexts} TLS contexts");

        // The files the sidecar writes are SDS responses Envoy accepts, naming the PEM files that rotate.
        foreach (var file in new[] { Mesh.Core.Compile.SdsSecrets.Certificate(settings), Mesh.Core.Compile.SdsSecrets.Validation(settings) })
            Assert.Empty(EnvoySchema.CheckMessage(System.Text.Encoding.UTF8.GetString(file), "envoy.service.discovery.v3.DiscoveryResponse"));
        Assert.Contains("/etc/mesh/tls/cert.pem", System.Text.Encoding.UTF8.GetString(Mesh.Core.Compile.SdsSecrets.Certificate(settings)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_mesh_that_names_its_own_certificate_files_gets_them_watched_and_written_by_its_sidecars()
    {
        var mesh = new MeshSettings { Certificates = new CertificateFiles { CertificateChain = "/run/spire/svid.pem", PrivateKey = "/run/spire/key.pem", TrustedCa = "/run/spire/bundle.pem" } };
        var api = new ServiceDefinition { Mesh = "tls", Name = "api", Port = 8080, Policy = new ServicePolicy { Mtls = MtlsMode.Strict } };
        var front = new ServiceDefinition { Mesh = "tls", Name = "front", Port = 8080, Backends = ["api"] };
        Assert.Empty(MeshValidator.Validate(new MeshState("tls", [api, front], settings: mesh)));
        var settings = new Mesh.Core.Compile.XdsSettings();
        var compiled = Assert.IsType<Mesh.Core.Compile.Compiled>(Mesh.Core.Compile.FleetCompiler.Compile(
            new Mesh.Core.Compile.FleetInputs(front, [new Mesh.Core.Compile.BackendInputs("api", api, [])]) { Settings = mesh }, settings));
        var watched = compiled.Snapshot.Sets.SelectMany(s => s.Resources).Select(r => JsonNode.Parse(r.Json.Span)!).SelectMany(JsonTree.Descendants).OfType<JsonObject>()
            .Where(o => o.ContainsKey("watched_directory")).Select(o => (string?)o["watched_directory"]!["path"]).ToList();
        Assert.NotEmpty(watched);
        Assert.All(watched, path => Assert.Equal("/run/spire", path));

        var fragment = System.Text.Encoding.UTF8.GetString(Mesh.Core.Compile.SidecarFragments.Ecs(front, new Mesh.Core.Compile.ControlPlaneAddress("cp.example.com", 443, true),
            settings.ForMesh(mesh), Mesh.Core.Compile.SidecarFragments.DefaultImage));
        Assert.Contains("/run/spire/svid.pem", fragment, StringComparison.Ordinal);
        Assert.DoesNotContain("/etc/mesh/tls/cert.pem", fragment, StringComparison.Ordinal);
    }

}
