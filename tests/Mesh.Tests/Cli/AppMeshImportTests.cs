using Envoy.Schema;
using Mesh.Cli;
using Mesh.Cli.AppMesh;
using Mesh.Core.Compile;
using Mesh.Core.Editing;
using Mesh.Core.Model;
using Mesh.Tests.Support;
using Spectre.Console.Testing;

namespace Mesh.Tests.Cli;

/// <summary>The App Mesh importer on fixtures modelled on the aws-app-mesh-examples walkthroughs (written by us).</summary>
public class AppMeshImportTests
{
    private static string Fixture(string name) => Path.Combine(Repo.Root, "tests", "Mesh.Tests", "AppMesh", name);

    public static TheoryData<string> Fixtures() => ["colorapp", "grpc-tcp", "retries", "ingress-gateway", "tls-acm", "mtls-file", "canary-http2", "http-headers"];

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Every_imported_mesh_is_valid_and_compiles_into_fleets_envoy_accepts(string fixture)
    {
        var result = AppMeshImporter.Import(AppMeshImporter.ReadResources(Fixture(fixture)));
        var mesh = result.Spec.ToState(result.Spec.Mesh, null);
        Assert.Empty(MeshValidator.Validate(mesh));
        var fleets = mesh.Services.Values.Select(service => (CompileInputs)new FleetInputs(service, [.. service.Backends.Select(b => new BackendInputs(b, mesh.Services[b], []))]))
            .Concat(mesh.Gateways.Values.Select(gateway => new GatewayInputs(gateway, [.. gateway.Targets.Select(t => new BackendInputs(t, mesh.Services[t], []))])));
        foreach (var inputs in fleets)
        {
            var snapshot = Assert.IsType<Compiled>((inputs with { Settings = mesh.Settings }).Compile(new XdsSettings())).Snapshot;
            foreach (var resource in snapshot.Sets.SelectMany(s => s.Resources))
                Assert.Empty(EnvoySchema.CheckResource(System.Text.Encoding.UTF8.GetString(resource.Json.Span)));
        }
        Assert.NotEmpty(result.Became);
        Assert.NotEmpty(result.Sidecars);
    }

    [Fact]
    public void The_colour_app_splits_over_its_tellers_as_subsets_with_the_canary_first_and_reports_what_it_cannot_take()
    {
        var result = AppMeshImporter.Import(AppMeshImporter.ReadResources(Fixture("colorapp")));
        var services = result.Spec.Services.ToDictionary(s => s.Service.Name);
        Assert.Equal(EgressMode.DropAll, result.Spec.Settings.Egress.Mode);
        Assert.Equal(["colorteller-vr"], services["colorgateway-vn"].Service.Backends.ToArray());
        Assert.Equal(30_000, services["colorgateway-vn"].Policy.RequestTimeoutMs);
        var teller = services["colorteller-vr"];
        Assert.Equal(["colorteller-blue-vn", "colorteller-red-vn", "colorteller-white-vn"], teller.Service.Subsets.Select(s => s.Name).Order());
        Assert.Equal(["colorteller-canary", "colorteller-route"], teller.Routes.Select(r => r.Name));
        Assert.Equal("color_header", teller.Routes[0].Match.Headers.Single().Name);
        Assert.Equal([("colorteller-white-vn", 50), ("colorteller-blue-vn", 30), ("colorteller-red-vn", 20)], teller.Routes[1].Targets.Select(t => (t.Subset!, t.Weight)));
        Assert.Equal(["5xx", "gateway-error", "connect-failure"], teller.Routes[1].Retry!.On.ToArray());
        Assert.Equal(15_000, teller.Routes[1].TimeoutMs);
        Assert.Contains("colorteller.appmesh-demo.local", teller.Service.Hostnames);

        var gateway = Assert.Single(result.Spec.Gateways);
        Assert.Equal(("colorapp-gateway", "colorgateway-vn", "/color"), (gateway.Name, gateway.Routes.Single().Target.Service, gateway.Routes.Single().Match.Prefix));
        Assert.Contains(result.Explicit, l => l.Contains("default rewrite of the matched prefix /color to /", StringComparison.Ordinal));
        Assert.Contains(result.Unsupported, l => l.Contains("tcpecho.appmesh-demo.local", StringComparison.Ordinal));
        Assert.Contains(result.Explicit, l => l.Contains("implicit 15 s per-request timeout", StringComparison.Ordinal));
        Assert.Contains(result.Explicit, l => l.Contains("server-error: any 5xx", StringComparison.Ordinal));
        Assert.Contains(result.Sidecars, l => l.Contains("mesh/appmesh-colorapp/virtualNode/colorteller-red-vn", StringComparison.Ordinal) && l.Contains("appmesh-colorapp/colorteller-red-vn", StringComparison.Ordinal));
        var report = MigrationReport.Markdown(result);
        Assert.Contains("## Not supported, or needing you", report, StringComparison.Ordinal);
    }

    /// <summary>The ingress walkthrough: requests through the imported gateway reach the colour the router picks by path, as in App Mesh.</summary>
    [Fact]
    public void A_virtual_gateway_becomes_a_gateway_whose_requests_reach_what_the_virtual_router_picked()
    {
        var result = AppMeshImporter.Import(AppMeshImporter.ReadResources(Fixture("ingress-gateway")));
        var gateway = Assert.Single(result.Spec.Gateways);
        Assert.Equal("ingress-gw", gateway.Name);
        Assert.Equal([(8088, GatewayProtocol.Http, false), (8443, GatewayProtocol.Http2, true)], gateway.Listeners.Select(l => (l.Port, l.Protocol, l.Tls is not null)));
        var tls = gateway.Listeners[1].Tls!;
        Assert.Equal(("/certs/gateway/cert_chain.pem", "/certs/clients/ca_cert.pem", "partner.example.com"),
            (tls.CertificateChain, tls.ClientValidation!.TrustedCa, tls.ClientValidation.SubjectAltNames.Single()));
        Assert.Equal(256, gateway.Listeners[1].Limits!.MaxConcurrentStreams);
        Assert.Equal(AccessLogFormat.Text, gateway.Observability!.AccessLog);
        // Priority 0 first; each route kind on the one listener of its protocol.
        Assert.Equal([("green-partners", 8443), ("to-colorapp", 8088)], gateway.Routes.Select(r => (r.Name, r.Match.Port ?? 0)));
        Assert.Contains(result.Sidecars, l => l.Contains("virtualGateway/ingress-gw", StringComparison.Ordinal) && l.Contains("howto-ingress-gateway/ingress-gw", StringComparison.Ordinal));

        var mesh = result.Spec.ToState(result.Spec.Mesh, null);
        var snapshot = Assert.IsType<Compiled>(new GatewayInputs(mesh.Gateways["ingress-gw"], [.. gateway.Targets.Select(t => new BackendInputs(t, mesh.Services[t], []))])
            .Compile(new XdsSettings())).Snapshot;
        System.Text.Json.Nodes.JsonNode Routes(int port) =>
            System.Text.Json.Nodes.JsonNode.Parse(snapshot.Sets.Single(s => s.Type == XdsType.Routes).Resources.Single(r => r.Name == $"ingress|{port}").Json.Span)!;
        Assert.Equal("outbound|colorapp-router|colorapp-blue", GatewayRequestModel.Route(Routes(8088), new Request("gw.example.com", "/blue"))!.Clusters);
        Assert.Equal("outbound|colorapp-router|colorapp-green", GatewayRequestModel.Route(Routes(8088), new Request("gw.example.com", "/green"))!.Clusters);
        var partner = GatewayRequestModel.Route(Routes(8443), new Request("green.example.com", "/partners/x", Headers: new Dictionary<string, string> { ["x-partner"] = "acme-1" }));
        // Rewritten to /green/x, the request meets the router's /green route, as in App Mesh.
        Assert.Equal(new Forwarded("outbound|colorapp-router|colorapp-green", "/green/x", "green.example.com"), partner);
    }

    [Fact]
    public void A_grpc_router_over_one_node_gives_that_node_its_routes_and_the_tcp_database_keeps_its_check()
    {
        var result = AppMeshImporter.Import(AppMeshImporter.ReadResources(Fixture("grpc-tcp")));
        var services = result.Spec.Services.ToDictionary(s => s.Service.Name);
        var orders = services["orders-v1"];
        Assert.Equal((50051, ServiceProtocol.Grpc), (orders.Service.Port, orders.Service.Protocol));
        Assert.Empty(orders.Service.AdditionalPorts);
        Assert.Contains(result.Unsupported, l => l.Contains("port 9901", StringComparison.Ordinal));
        Assert.Equal(MtlsMode.Strict, orders.Policy.Mtls);
        Assert.Equal(0, orders.Policy.RequestTimeoutMs);
        Assert.Equal(512, orders.Policy.ConnectionPool!.MaxRequests);
        Assert.Equal((5, 10_000, 30_000, 50), (orders.Policy.OutlierDetection!.Consecutive5xx, orders.Policy.OutlierDetection.IntervalMs, orders.Policy.OutlierDetection.BaseEjectionMs, orders.Policy.OutlierDetection.MaxEjectionPercent));
        Assert.Equal(["get-order", "all"], orders.Routes.Select(r => r.Name));
        Assert.Equal("/orders.Orders/GetOrder", orders.Routes[0].Match.Prefix);
        Assert.Equal(("x-tenant", "gold-"), (orders.Routes[0].Match.Headers[0].Name, orders.Routes[0].Match.Headers[0].Prefix));
        Assert.Equal(["unavailable", "resource-exhausted"], orders.Routes[0].Retry!.On.ToArray());
        Assert.Equal(5_000, orders.Routes[0].TimeoutMs);
        Assert.Null(orders.Routes[1].TimeoutMs);
        Assert.Equal(["orders-v1", "db"], services["client"].Service.Backends.ToArray());
        Assert.Null(services["db"].Service.HealthCheck!.Path);
        Assert.Equal(EgressMode.AllowAll, result.Spec.Settings.Egress.Mode);
    }

    [Theory]
    [InlineData(new[] { 1 }, new[] { 100 })]
    [InlineData(new[] { 1, 1, 1 }, new[] { 34, 33, 33 })]
    [InlineData(new[] { 90, 10 }, new[] { 90, 10 })]
    [InlineData(new[] { 2, 1 }, new[] { 67, 33 })]
    public void Relative_weights_become_percentages_adding_up_to_100(int[] weights, int[] percents) =>
        Assert.Equal(percents, AppMeshImporter.Percents(weights));

    [Fact]
    public void Acm_certificates_are_reported_and_tls_modes_carried_over()
    {
        var acm = AppMeshImporter.Import(AppMeshImporter.ReadResources(Fixture("tls-acm")));
        Assert.Equal(MtlsMode.Strict, acm.Spec.Services.Single(s => s.Service.Name == "color").Policy.Mtls);
        Assert.Contains(acm.Unsupported, l => l.Contains("tls.certificate.acm", StringComparison.Ordinal));
        var files = AppMeshImporter.Import(AppMeshImporter.ReadResources(Fixture("mtls-file")));
        Assert.Equal(MtlsMode.Permissive, files.Spec.Services.Single(s => s.Service.Name == "legacy").Policy.Mtls);
        var retries = AppMeshImporter.Import(AppMeshImporter.ReadResources(Fixture("retries")));
        var route = retries.Spec.Services.Single(s => s.Service.Name == "color").Routes.Single();
        Assert.Equal((100, 20_000, 60_000, 4, 2_000), (route.Targets.Single().Weight, route.TimeoutMs!.Value, route.IdleTimeoutMs!.Value, route.Retry!.Attempts!.Value, route.Retry.PerTryTimeoutMs!.Value));
        Assert.Equal(["5xx", "gateway-error", "refused-stream", "reset"], route.Retry.On.ToArray());
        Assert.Contains(retries.Explicit, l => l.Contains("relative weights 1 became percentages 100", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Meshctl_imports_an_app_mesh_export_and_the_file_it_writes_applies_to_the_local_host()
    {
        await using var host = await LocalHostFixture.StartAsync();
        var directory = Directory.CreateTempSubdirectory("import-").FullName;
        var (file, report) = (Path.Combine(directory, "mesh.json"), Path.Combine(directory, "report.md"));
        var console = new TestConsole().Width(200);
        Assert.Equal(0, await MeshctlApp.RunAsync(["import", "appmesh", "--from", Fixture("colorapp"), "--out", file, "--report", report], console));
        Assert.Contains("# Migrating App Mesh mesh to `appmesh-colorapp`", await File.ReadAllTextAsync(report), StringComparison.Ordinal);

        var apply = new TestConsole().Width(200);
        var exit = await MeshctlApp.RunAsync(["apply", "-f", file, "--server", host.Http.BaseAddress!.ToString(), "--token", LocalHostFixture.Token("alice")], apply);
        Assert.True(exit == 0, apply.Output);
        var fleets = await LocalHostFixture.JsonAsync(await host.Http.GetAsync("/v1/meshes/appmesh-colorapp/fleets"));
        // Five services and the gateway, each a fleet.
        Assert.Equal(6, fleets.GetArrayLength());
        Assert.Contains(fleets.EnumerateArray(), f => f.GetProperty("fleet").GetString() == "appmesh-colorapp/colorapp-gateway");
    }
}
