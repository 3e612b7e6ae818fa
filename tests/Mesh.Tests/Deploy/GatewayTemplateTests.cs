using System.Text.Json.Nodes;
using Mesh.Core.Compile;
using Mesh.Core.Model;
using Mesh.Tests.Support;

namespace Mesh.Tests.Deploy;

/// <summary>
/// gateway.yaml, the gateway fleet on ECS Fargate behind a Network Load Balancer: checked like template.yaml (the
/// policy rules by cfn-guard, its wiring read with its short tags), and against the gateway fragment it must agree with.
/// </summary>
public class GatewayTemplateTests
{
    private static readonly string TemplatePath = Path.Combine(Repo.Root, "gateway.yaml");
    private static readonly JsonObject Resources = CloudFormationYaml.Load(TemplatePath)["Resources"]!.AsObject();

    private static JsonNode Properties(string resource) => Resources[resource]!["Properties"]!;

    private static string Ref(JsonNode? node) => (string)node!["Ref"]!;

    [Fact]
    public async Task The_gateway_template_passes_every_policy_rule_that_applies_to_it()
    {
        var (exitCode, output) = await TemplatePolicyTests.ValidateAsync(TemplatePath);
        Assert.True(exitCode == 0, output);
        foreach (var rule in new[] { "iam_no_wildcards", "logs_expire" })
            Assert.Matches($@"mesh-pipeline\.guard/{rule}\s+PASS", output);
    }

    [Theory]
    [InlineData("Action: ssm:GetParameters", "Action: ssm:*", "iam_no_wildcards")]
    [InlineData("      RetentionInDays: !Ref LogRetentionDays\n", "", "logs_expire")]
    public Task A_gateway_template_that_breaks_a_rule_fails_on_that_rule(string original, string broken, string rule) =>
        TemplatePolicyTests.AssertBreakingFailsAsync(TemplatePath, original, broken, rule);

    [Fact]
    public void The_load_balancer_passes_tcp_to_the_gateway_listener_port_of_fargate_tasks()
    {
        Assert.Equal("network", (string?)Properties("LoadBalancer")["Type"]);
        var listener = Properties("Listener");
        Assert.Equal(("TCP", "LoadBalancer", "TargetGroup"), ((string?)listener["Protocol"], Ref(listener["LoadBalancerArn"]), Ref(listener["DefaultActions"]![0]!["TargetGroupArn"])));
        var targets = Properties("TargetGroup");
        Assert.Equal(("ip", "TCP", "ListenerPort"), ((string?)targets["TargetType"], (string?)targets["Protocol"], Ref(targets["Port"])));

        var task = Properties("TaskDefinition");
        Assert.Equal(("FARGATE", "awsvpc"), ((string?)task["RequiresCompatibilities"]![0], (string?)task["NetworkMode"]));
        var envoy = task["ContainerDefinitions"]![0]!;
        Assert.Equal("ListenerPort", Ref(envoy["PortMappings"]![0]!["ContainerPort"]));
        var balanced = Properties("Service")["LoadBalancers"]![0]!;
        Assert.Equal(((string?)envoy["Name"], "ListenerPort", "TargetGroup"), ((string?)balanced["ContainerName"], Ref(balanced["ContainerPort"]), Ref(balanced["TargetGroupArn"])));
        var ingress = Properties("TaskSecurityGroup")["SecurityGroupIngress"]![0]!;
        Assert.Equal(("ListenerPort", "ListenerPort"), (Ref(ingress["FromPort"]), Ref(ingress["ToPort"])));
    }

    /// <summary>The task runs the fragment's start command, with every SDS file that command and the gateway's listener need, from SSM.</summary>
    [Fact]
    public void The_envoy_container_starts_as_the_gateway_fragment_does_with_its_sds_files_from_ssm()
    {
        var settings = new XdsSettings();
        var gateway = new GatewayDefinition
        {
            Mesh = "shop", Name = "web",
            Listeners = [new GatewayListener { Port = 8443, Tls = new GatewayTls { CertificateChain = "/etc/gw/cert.pem", PrivateKey = "/etc/gw/key.pem" } }],
        };
        var fragment = JsonNode.Parse(SidecarFragments.EcsGateway(gateway, new ControlPlaneAddress("cp.example.com", 443, true), settings, "envoy"))!["containerDefinitions"]![0]!;
        var envoy = Properties("TaskDefinition")["ContainerDefinitions"]![0]!;
        Assert.Equal((string?)fragment["command"]![0], (string?)envoy["Command"]![0]);
        Assert.Equal((string?)fragment["user"], (string?)envoy["User"]);
        Assert.Equal(fragment["entryPoint"]!.ToJsonString(), envoy["EntryPoint"]!.ToJsonString());

        // Every variable the fragment carries, the task takes from SSM (the TLS listener's under its condition, named by its port).
        var secrets = envoy["Secrets"]!.AsArray();
        var names = secrets.Select(s => s!["Name"] is JsonValue name ? (string)name! : null).OfType<string>().ToList();
        var conditional = secrets.Select(s => s!["Fn::If"]).OfType<JsonArray>().Single();
        Assert.Equal("HasTls", (string?)conditional[0]);
        Assert.Equal("ENVOY_SDS_FILE_INGRESS_${ListenerPort}", (string?)conditional[1]!["Name"]!["Fn::Sub"]);
        var carried = fragment["environment"]!.AsArray().Select(e => (string)e!["name"]!).Where(n => n != "ENVOY_LOG_LEVEL").ToList();
        Assert.Equal(carried.Where(n => n != "ENVOY_SDS_FILE_INGRESS_8443").Order(), names.Order());
        Assert.Contains("ENVOY_SDS_FILE_INGRESS_8443", carried);
        Assert.All(secrets.Select(s => s!["ValueFrom"]?["Fn::Sub"] ?? s!["Fn::If"]![1]!["ValueFrom"]!["Fn::Sub"]),
            arn => Assert.StartsWith("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${ConfigParameterPath}/", (string?)arn));

        // The execution role reads only those parameters.
        var statement = Properties("ExecutionRole")["Policies"]![0]!["PolicyDocument"]!["Statement"]![0]!;
        Assert.Equal("ssm:GetParameters", (string?)statement["Action"]);
        Assert.EndsWith("parameter${ConfigParameterPath}/*", (string?)statement["Resource"]!["Fn::Sub"]);
    }
}
