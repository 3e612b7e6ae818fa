using System.Text.Json.Nodes;
using Mesh.Tests.Support;

namespace Mesh.Tests.Deploy;

/// <summary>template.yaml's xDS server (XdsServer=enabled): ECS Fargate behind a Network Load Balancer, least privilege, scaled on CPU.</summary>
public class XdsServerTemplateTests
{
    private static readonly string TemplatePath = Path.Combine(Repo.Root, "template.yaml");
    private static readonly JsonObject Template = CloudFormationYaml.Load(TemplatePath);
    private static JsonObject AllResources => Template["Resources"]!.AsObject();

    private static JsonNode Properties(string resource) => AllResources[resource]!["Properties"]!;

    private static string Ref(JsonNode? node) => (string)node!["Ref"]!;

    [Fact]
    public void Every_xds_server_resource_is_behind_the_parameter()
    {
        var xds = AllResources.Where(r => r.Key.StartsWith("Xds", StringComparison.Ordinal)).ToList();
        Assert.Equal(12, xds.Count);
        Assert.All(xds, r => Assert.Equal("HasXdsServer", (string?)r.Value!["Condition"]));
        Assert.Equal("disabled", (string?)Template["Parameters"]!["XdsServer"]!["Default"]);
    }

    [Fact]
    public void Proxies_reach_fargate_tasks_through_an_internal_nlb_that_passes_their_tls_through_and_checks_health_over_http()
    {
        Assert.Equal(("network", "internal"), ((string?)Properties("XdsLoadBalancer")["Type"], (string?)Properties("XdsLoadBalancer")["Scheme"]));
        var listener = Properties("XdsListener");
        Assert.Equal(("TCP", "443"), ((string?)listener["Protocol"], listener["Port"]!.ToString()));
        Assert.Equal("XdsTargetGroup", Ref(listener["DefaultActions"]![0]!["TargetGroupArn"]));
        var targets = Properties("XdsTargetGroup");
        Assert.Equal(("ip", "TCP", "18000"), ((string?)targets["TargetType"], (string?)targets["Protocol"], targets["Port"]!.ToString()));
        Assert.Equal(("HTTP", "8081", "/healthz"), ((string?)targets["HealthCheckProtocol"], (string?)targets["HealthCheckPort"], (string?)targets["HealthCheckPath"]));

        var service = Properties("XdsService");
        Assert.Equal("FARGATE", (string?)service["LaunchType"]);
        Assert.Equal("DISABLED", (string?)service["NetworkConfiguration"]!["AwsvpcConfiguration"]!["AssignPublicIp"]);
        var container = Properties("XdsTaskDefinition")["ContainerDefinitions"]![0]!;
        Assert.Equal(["18000", "8081"], container["PortMappings"]!.AsArray().Select(p => p!["ContainerPort"]!.ToString()));
        Assert.Equal("awslogs", (string?)container["LogConfiguration"]!["LogDriver"]);
        // The entrypoint writes exactly these secrets to the TLS files the server reads.
        var entrypoint = File.ReadAllText(Path.Combine(Repo.Root, "functions", "XdsServer", "entrypoint.sh"));
        Assert.All(container["Secrets"]!.AsArray(), s => Assert.Contains($"write {(string)s!["Name"]!} ", entrypoint, StringComparison.Ordinal));
        Assert.Contains(container["Environment"]!.AsArray(), e => (string?)e!["Name"] == "Xds__RequireProxyIdentity" && (string?)e["Value"] == "true");
    }

    [Fact]
    public void The_servers_role_reads_the_table_and_writes_only_proxy_records_and_it_scales_on_cpu()
    {
        var statements = Properties("XdsTaskRole")["Policies"]![0]!["PolicyDocument"]!["Statement"]!.AsArray();
        var actions = statements.SelectMany(s => s!["Action"] is JsonArray many ? many.Select(a => (string)a!) : [(string)s["Action"]!]).ToList();
        Assert.Equal(["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem"], actions);
        var writes = statements.Single(s => (string?)s!["Sid"] == "RecordProxies")!;
        Assert.Equal("POLLS#*", (string?)writes["Condition"]!["ForAllValues:StringLike"]!["dynamodb:LeadingKeys"]![0]);

        var scaling = Properties("XdsScalingPolicy")["TargetTrackingScalingPolicyConfiguration"]!;
        Assert.Equal("ECSServiceAverageCPUUtilization", (string?)scaling["PredefinedMetricSpecification"]!["PredefinedMetricType"]);
        Assert.Equal("XdsScalableTarget", Ref(Properties("XdsScalingPolicy")["ScalingTargetId"]));
    }

    [Theory]
    [InlineData("          AssignPublicIp: DISABLED\n      LoadBalancers:\n        - { ContainerName: xds-server", "          AssignPublicIp: ENABLED\n      LoadBalancers:\n        - { ContainerName: xds-server", "ecs_services_are_private_and_roll_back")]
    [InlineData("                Action: [dynamodb:GetItem, dynamodb:Query]\n                Resource: [!GetAtt MeshTable.Arn", "                Action: [dynamodb:*]\n                Resource: [!GetAtt MeshTable.Arn", "iam_no_wildcards")]
    [InlineData("                Action: ecr:GetAuthorizationToken", "                Action: [ecr:GetAuthorizationToken, ssm:GetParameters]", "ecr_token_statement_only_gets_the_token")]
    [InlineData("            LogDriver: awslogs\n            Options:\n              awslogs-group: !Ref XdsLogGroup", "            LogDriver: splunk\n            Options:\n              awslogs-group: !Ref XdsLogGroup", "ecs_containers_log")]
    public Task A_template_whose_xds_server_breaks_a_rule_fails_on_that_rule(string original, string broken, string rule) =>
        TemplatePolicyTests.AssertBreakingFailsAsync(TemplatePath, original, broken, rule);
}
