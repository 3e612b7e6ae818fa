using Envoy.Schema;
using Google.Protobuf;
using Mesh.Core.Compile;
using Mesh.Core.Model;
using Mesh.XdsServer;

namespace Mesh.Tests.Ads;

/// <summary>What ADS serves against Envoy's schema and validation rules: a proxyless gRPC fleet, and Envoy fleets' resources turned to ADS.</summary>
public class AdsResourceSchemaTests
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithTypeRegistry(EnvoySchema.Registry));

    private static ServiceDefinition Service(string name, int port, ServiceProtocol protocol, params string[] backends) =>
        new() { Mesh = "m", Name = name, Port = port, Protocol = protocol, Backends = [.. backends], Subsets = [new Subset("v57", "57"), new Subset("v58", "58")] };

    private static readonly Endpoint[] Endpoints =
    [
        new() { Id = "e1", Address = "10.1.2.3", Region = "eu-west-1", Zone = "eu-west-1a", Version = "57", Health = EndpointHealth.Healthy },
        new() { Id = "e2", Address = "10.1.2.4", Version = "58", Health = EndpointHealth.Healthy },
    ];

    private static FleetInputs Inputs(DataPlane dataPlane)
    {
        var backend = Service("checkout-api", 8080, ServiceProtocol.Grpc) with
        {
            AdditionalPorts = [new ServicePort { Port = 9090, Protocol = ServiceProtocol.Http2 }],
            Routes =
            [
                new RouteRule
                {
                    Name = "canary",
                    Match = new RouteMatch { Prefix = "/checkout.", Headers = [new HeaderMatch { Name = "x-canary", Exact = "1" }], QueryParameters = [new QueryMatch { Name = "q", Present = true }] },
                    Targets = [new WeightedTarget { Subset = "v57", Weight = 90 }, new WeightedTarget { Subset = "v58", Weight = 10 }],
                    Retry = new RetryPolicy { On = ["unavailable", "5xx"], Attempts = 7 },
                    TimeoutMs = 2500,
                },
            ],
        };
        var self = Service("storefront", 9000, ServiceProtocol.Grpc, "checkout-api") with { DataPlane = dataPlane };
        return new FleetInputs(self, [new BackendInputs(backend.Name, backend, Endpoints)]);
    }

    [Fact]
    public void A_proxyless_grpc_fleet_is_accepted_by_envoys_schema_and_holds_what_grpcs_client_needs()
    {
        var snapshot = Assert.IsType<Compiled>(FleetCompiler.Compile(Inputs(DataPlane.ProxylessGrpc), new XdsSettings())).Snapshot;
        foreach (var resource in snapshot.Sets.SelectMany(s => s.Resources))
            Assert.Empty(EnvoySchema.CheckResource(System.Text.Encoding.UTF8.GetString(resource.Json.Span)));

        // A listener per backend port named as the client's target, with an api_listener whose routes come over ADS.
        Assert.Equal(["checkout-api:8080", "checkout-api:9090"], snapshot[XdsType.Listeners].Resources.Select(r => r.Name));
        var listener = Envoy.Config.Listener.V3.Listener.Parser.ParseFrom(EnvoyAny.Of(snapshot[XdsType.Listeners].Resources[0]).Value);
        var manager = listener.ApiListener.ApiListener_.Unpack<Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager>();
        Assert.Equal("checkout-api:8080", manager.Rds.RouteConfigName);
        Assert.NotNull(manager.Rds.ConfigSource.Ads);
        // Every cluster is EDS over ADS; every locality is weighted (gRPC skips one without a weight).
        Assert.All(snapshot[XdsType.Clusters].Resources, r => Assert.Contains("\"ads\"", System.Text.Encoding.UTF8.GetString(r.Json.Span), StringComparison.Ordinal));
        Assert.All(snapshot[XdsType.Endpoints].Resources.Select(r => Envoy.Config.Endpoint.V3.ClusterLoadAssignment.Parser.ParseFrom(EnvoyAny.Of(r).Value)),
            cla => Assert.All(cla.Endpoints, locality => Assert.True(locality.LoadBalancingWeight > 0 && locality.Locality is not null)));
        // The canary route: weighted subsets, gRPC retry codes only (at most 4 retries), the timeout as a stream duration, no query match.
        var route = Envoy.Config.Route.V3.RouteConfiguration.Parser.ParseFrom(EnvoyAny.Of(snapshot[XdsType.Routes].Resources[0]).Value).VirtualHosts[0].Routes[0];
        Assert.Equal([90u, 10u], route.Route_.WeightedClusters.Clusters.Select(c => c.Weight.GetValueOrDefault()));
        Assert.Equal("unavailable", route.Route_.RetryPolicy.RetryOn);
        Assert.Equal(4u, route.Route_.RetryPolicy.NumRetries.GetValueOrDefault());
        Assert.Equal(2.5, route.Route_.MaxStreamDuration.MaxStreamDuration_.ToTimeSpan().TotalSeconds);
        Assert.Empty(route.Match.QueryParameters);
    }

    [Fact]
    public void An_envoy_fleets_resources_turned_to_ads_are_accepted_by_envoys_schema_and_take_eds_and_rds_over_the_stream()
    {
        var snapshot = Assert.IsType<Compiled>(FleetCompiler.Compile(Inputs(DataPlane.Envoy), new XdsSettings())).Snapshot;
        foreach (var resource in snapshot.Sets.SelectMany(s => s.Resources))
        {
            var json = Formatter.Format(EnvoyAny.Of(resource));
            Assert.Empty(EnvoySchema.CheckResource(json));
            Assert.DoesNotContain("\"REST\"", json, StringComparison.Ordinal);
        }
        Assert.Contains(snapshot[XdsType.Clusters].Resources, r => Formatter.Format(EnvoyAny.Of(r)).Contains("\"ads\"", StringComparison.Ordinal));
        Assert.Contains(snapshot[XdsType.Listeners].Resources, r => Formatter.Format(EnvoyAny.Of(r)).Contains("\"ads\"", StringComparison.Ordinal));
    }
}
