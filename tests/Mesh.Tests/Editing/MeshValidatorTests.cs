using Mesh.Core.Editing;
using Mesh.Core.Model;

namespace Mesh.Tests.Editing;

public class MeshValidatorTests
{
    private static RouteMatch Prefix(string prefix) => new() { Prefix = prefix };

    [Theory]
    [InlineData("/", "/api", true)]
    [InlineData("/api", "/api/orders", true)]
    [InlineData("/api/orders", "/api", false)]
    [InlineData("/api", "/apiv2", true)]
    [InlineData("/b", "/a", false)]
    public void A_prefix_shadows_every_longer_prefix_it_starts(string earlier, string later, bool shadows) =>
        Assert.Equal(shadows, RouteShadowing.Covers(Prefix(earlier), Prefix(later)));

    [Fact]
    public void A_route_with_more_conditions_does_not_shadow_one_with_fewer()
    {
        var header = new HeaderMatch { Name = "x-canary", Exact = "1" };
        var withHeader = new RouteMatch { Prefix = "/", Headers = [header] };
        Assert.False(RouteShadowing.Covers(withHeader, Prefix("/")));
        Assert.True(RouteShadowing.Covers(Prefix("/"), withHeader));
        Assert.True(RouteShadowing.Covers(withHeader, new RouteMatch { Path = "/x", Headers = [header], Method = "GET" }));
        Assert.False(RouteShadowing.Covers(new RouteMatch { Regex = "^/a" }, new RouteMatch { Regex = "^/a/b" }));
        Assert.False(RouteShadowing.Covers(new RouteMatch { Prefix = "/", Method = "POST" }, new RouteMatch { Prefix = "/", Method = "GET" }));
    }

    [Fact]
    public void A_change_is_judged_only_by_the_errors_it_adds()
    {
        var broken = new ServiceDefinition { Mesh = "m", Name = "old", Port = 80, Backends = ["gone"] };
        var current = new MeshState("m", [broken]);
        var proposed = current.With("new", new ServiceDefinition { Mesh = "m", Name = "new", Port = 8080 });
        Assert.Single(MeshValidator.Validate(proposed));
        Assert.Empty(MeshValidator.NewErrors(current, proposed));

        var worse = proposed.With("new", new ServiceDefinition { Mesh = "m", Name = "new", Port = 0 });
        Assert.Equal(new FieldError("services/new", "$.port", "must be between 1 and 65535"), Assert.Single(MeshValidator.NewErrors(current, worse)));
    }

    [Fact]
    public void Removing_a_subset_a_route_still_targets_is_reported_on_the_route()
    {
        var service = new ServiceDefinition
        {
            Mesh = "m", Name = "api", Port = 80, Subsets = [new Subset("v1", "1")],
            Routes = [new RouteRule { Name = "pin", Targets = [new WeightedTarget { Subset = "v1", Weight = 100 }] }],
        };
        var current = new MeshState("m", [service]);
        var errors = MeshValidator.NewErrors(current, current.With("api", service with { Subsets = [] }));
        Assert.Equal(new FieldError("services/api/routes", "$.routes[0].targets[0].subset", "service 'api' has no subset 'v1'"), Assert.Single(errors));
    }

    [Theory]
    [InlineData("^/orders/[0-9]+$", true)]
    [InlineData("^/(a", false)]
    [InlineData(@"^(a)\1$", false)]
    [InlineData("^(?=a)a$", false)]
    public void Regexes_must_compile_without_backreferences_or_lookaround_as_re2_requires(string regex, bool valid)
    {
        var mesh = new MeshState("m", [new ServiceDefinition
        {
            Mesh = "m", Name = "api", Port = 80,
            Routes = [new RouteRule { Name = "r", Match = new RouteMatch { Regex = regex }, Targets = [new WeightedTarget { Weight = 100 }] }],
        }]);
        Assert.Equal(valid, !MeshValidator.Validate(mesh).Any(e => e.Path == "$.routes[0].match.regex"));
    }

    private static ServiceDefinition Svc(string name, int port, ServiceProtocol protocol = ServiceProtocol.Http, params string[] backends) =>
        new() { Mesh = "m", Name = name, Port = port, Protocol = protocol, Backends = [.. backends] };

    [Theory]
    [InlineData(9901)]
    [InlineData(15000)]
    [InlineData(15001)]
    public void An_app_port_the_sidecar_holds_is_refused(int port)
    {
        var error = Assert.Single(MeshValidator.Validate(new MeshState("m", [Svc("api", port)])));
        Assert.Equal(("services/api", "$.port"), (error.Resource, error.Path));
    }

    [Fact]
    public void A_configured_admin_port_is_the_one_refused()
    {
        var mesh = new MeshState("m", [Svc("api", 9901)]);
        Assert.Empty(MeshValidator.Validate(mesh, new Mesh.Core.Compile.XdsSettings { AdminPort = 19000 }));
        Assert.Single(MeshValidator.Validate(new MeshState("m", [Svc("api", 19000)]), new Mesh.Core.Compile.XdsSettings { AdminPort = 19000 }));
    }

    [Fact]
    public void A_tcp_backend_on_the_callers_own_app_port_is_refused()
    {
        var mesh = new MeshState("m", [Svc("web", 5432, ServiceProtocol.Http, "db"), Svc("db", 5432, ServiceProtocol.Tcp)]);
        var error = Assert.Single(MeshValidator.Validate(mesh));
        Assert.Equal(("services/web", "$.backends[0]"), (error.Resource, error.Path));
        Assert.Contains("own app port", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tcp_backend_port_shared_with_any_other_backend_of_the_caller_is_refused_but_two_http_backends_may_share_one()
    {
        var mesh = new MeshState("m", [Svc("web", 8080, ServiceProtocol.Http, "db", "api", "replica", "shop", "cart"),
            Svc("db", 5432, ServiceProtocol.Tcp), Svc("api", 5432), Svc("replica", 5432, ServiceProtocol.Tcp), Svc("shop", 9000), Svc("cart", 9000)]);
        var errors = MeshValidator.Validate(mesh).ToList();
        Assert.Equal(["$.backends[1]", "$.backends[2]"], errors.Select(e => e.Path));
        Assert.Contains("'db' (tcp) and 'api' (http) both use port 5432", errors[0].Message, StringComparison.Ordinal);
        Assert.Contains("'db' (tcp) and 'replica' (tcp) both use port 5432", errors[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_further_port_of_a_backend_clashes_like_its_main_port()
    {
        var db = Svc("db", 5432, ServiceProtocol.Tcp) with { AdditionalPorts = [new ServicePort { Port = 9187, Protocol = ServiceProtocol.Http }] };
        var mesh = new MeshState("m", [Svc("web", 8080, ServiceProtocol.Http, "metrics", "db"), Svc("metrics", 9187, ServiceProtocol.Tcp), db]);
        var error = Assert.Single(MeshValidator.Validate(mesh));
        Assert.Equal(("services/web", "$.backends[1]"), (error.Resource, error.Path));
        Assert.Contains("both use port 9187", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(8080, "already a port of this service")]
    [InlineData(15000, "reserved for the sidecar")]
    [InlineData(0, "between 1 and 65535")]
    public void Further_ports_are_checked_like_the_main_one(int port, string message)
    {
        var mesh = new MeshState("m", [Svc("web", 8080) with { AdditionalPorts = [new ServicePort { Port = 9090 }, new ServicePort { Port = port }] }]);
        var error = Assert.Single(MeshValidator.Validate(mesh));
        Assert.Equal("$.additionalPorts[1].port", error.Path);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
