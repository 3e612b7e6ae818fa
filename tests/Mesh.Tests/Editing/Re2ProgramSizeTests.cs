using Mesh.Core.Editing;
using Mesh.Core.Model;

namespace Mesh.Tests.Editing;

/// <summary>Route regexes stay within what Envoy's RE2 accepts: its program-size limit and its syntax.</summary>
public class Re2ProgramSizeTests
{
    /// <summary>Sizes Envoy reported in its refusals ("RE2 program size of N > max program size of 100"): the estimate is never below them and not far above.</summary>
    [Theory]
    [InlineData("^/user/(488/sms|h5/getJwt|captcha|version/getAIDrawTemplate|version/isMainLand|version/promotionTemplate|version/activityTemplate2).*", 106)]
    [InlineData(@"(^(\/[a-zA-Z]{2}(-[a-zA-Z]{2})?)?\/?activity\/([^\/]+)?-l(\d+)\/([^\/]+)?-t(\d+)\/?$)|(^(\/[a-zA-Z]{2}(-[a-zA-Z]{2})?)?\/?([^\/]+)?-l(\d+)\/([^\/]+)?-t(\d+)\/?$)|(^(\/[a-zA-Z]{2}(-[a-zA-Z]{2})?)?\/?activity\/([^\/]+)?-t(\d+)\/?$)|(^(\/[a-zA-Z]{2}(-[a-zA-Z]{2})?)?\/?([^\/]+)?-t(\d+)(\/.*)?$)", 222)]
    public void The_estimate_is_at_or_a_little_above_what_re2_reported(string pattern, int reported)
    {
        var estimate = Re2ProgramSize.Estimate(pattern, out var unsupported);
        Assert.Null(unsupported);
        Assert.InRange(estimate!.Value, reported, reported * 5 / 4);
    }

    [Theory]
    [InlineData("^/api/v[0-9]+/orders/[^/]+$")]
    [InlineData("^[a-f0-9]{32}$")]
    [InlineData("(?i)^/(en|de|fr)/catalog/.*")]
    [InlineData(@"^/items/\d+(/reviews)?$")]
    public void Everyday_route_regexes_fit(string pattern) =>
        Assert.InRange(Re2ProgramSize.Estimate(pattern, out _)!.Value, 1, Re2ProgramSize.EnvoyErrorLevel);

    [Theory]
    [InlineData(@"^/a\Z", "\\Z")]
    [InlineData("^/a{2000}$", "1000")]
    public void Syntax_re2_refuses_is_named(string pattern, string named)
    {
        Assert.Null(Re2ProgramSize.Estimate(pattern, out var unsupported));
        Assert.Contains(named, unsupported, StringComparison.Ordinal);
    }

    [Fact]
    public void A_route_regex_too_large_for_envoy_is_refused_naming_the_limit_and_the_field()
    {
        var paths = string.Join('|', Enumerable.Range(0, 20).Select(i => $"section{i}/page"));
        var api = new ServiceDefinition
        {
            Mesh = "m", Name = "api", Port = 8080,
            Routes = [new RouteRule { Name = "many", Match = new RouteMatch { Regex = $"^/({paths})$" }, Targets = [new WeightedTarget { Weight = 100 }] }],
        };
        var error = Assert.Single(MeshValidator.Validate(new MeshState("m", [api])));
        Assert.Equal(("services/api/routes", "$.routes[0].match.regex"), (error.Resource, error.Path));
        Assert.Contains("above 100", error.Message, StringComparison.Ordinal);
        Assert.Contains("re2.max_program_size.error_level", error.Message, StringComparison.Ordinal);
    }
}
