using System.Text;
using System.Text.Json.Nodes;
using Mesh.Api;
using Mesh.EksForwarder;
using Mesh.Tests.Deploy;
using Mesh.Tests.Support;
using Microsoft.AspNetCore.Routing;

namespace Mesh.Tests.Forwarder;

/// <summary>
/// The forwarder's Kustomize manifests and IAM role, read as the cluster and CloudFormation would: least privilege,
/// and every setting, probe and name agreeing with what the forwarder's code reads and serves.
/// </summary>
public class ForwarderDeployTests
{
    private static readonly string Deploy = Path.Combine(Repo.Root, "forwarder", "deploy");

    private static IReadOnlyList<JsonObject> Documents(string file) =>
        [.. File.ReadAllText(Path.Combine(Deploy, file)).Split("\n---\n")
            .Select(doc => JsonNode.Parse(YamlToJson.Convert(Encoding.UTF8.GetBytes(doc)))!.AsObject())];

    private static JsonObject Kind(string file, string kind) => Documents(file).Single(d => (string?)d["kind"] == kind);

    private static JsonNode Container => Kind("deployment.yaml", "Deployment")["spec"]!["template"]!["spec"]!["containers"]![0]!;

    private static Dictionary<string, JsonNode> Env => Container["env"]!.AsArray().ToDictionary(e => (string)e!["name"]!, e => e!);

    [Fact]
    public void The_kustomization_applies_every_manifest_into_the_forwarders_namespace()
    {
        var kustomization = Documents("kustomization.yaml").Single();
        Assert.Equal("mesh-system", (string?)kustomization["namespace"]);
        var manifests = Directory.GetFiles(Deploy, "*.yaml").Select(Path.GetFileName).Where(f => f is not ("kustomization.yaml" or "forwarder-role.yaml")).Order();
        Assert.Equal(manifests, kustomization["resources"]!.AsArray().Select(r => (string?)r).Order());
        Assert.Equal("mesh-eks-forwarder", (string?)kustomization["images"]![0]!["name"]);
        Assert.Equal("mesh-eks-forwarder", (string?)Container["image"]);
    }

    [Fact]
    public void Rbac_grants_only_reading_slices_and_pods_and_its_own_lease()
    {
        var cluster = Kind("rbac.yaml", "ClusterRole")["rules"]!.AsArray()
            .ToDictionary(r => (string)r!["resources"]![0]!, r => r!["verbs"]!.AsArray().Select(v => (string)v!).ToArray());
        Assert.Equal(["endpointslices", "pods"], cluster.Keys.Order());
        Assert.Equal(["list", "watch"], cluster["endpointslices"]);
        Assert.Equal(["get", "list", "watch"], cluster["pods"]);
        var lease = Kind("rbac.yaml", "Role")["rules"]!.AsArray();
        Assert.All(lease, r => Assert.Equal("leases", (string?)r!["resources"]![0]));
        var renew = lease.Single(r => r!["resourceNames"] is not null)!;
        Assert.Equal(["get", "update"], renew["verbs"]!.AsArray().Select(v => (string?)v));
        Assert.Equal((string?)Env["Forwarder__LeaseName"]["value"], (string?)renew["resourceNames"]![0]);
        Assert.DoesNotContain("*", File.ReadAllText(Path.Combine(Deploy, "rbac.yaml")), StringComparison.Ordinal);

        var account = Kind("serviceaccount.yaml", "ServiceAccount")["metadata"]!["name"]!.GetValue<string>();
        Assert.Equal(account, (string?)Kind("deployment.yaml", "Deployment")["spec"]!["template"]!["spec"]!["serviceAccountName"]);
        foreach (var binding in new[] { Kind("rbac.yaml", "ClusterRoleBinding"), Kind("rbac.yaml", "RoleBinding") })
            Assert.Equal(account, (string?)binding["subjects"]![0]!["name"]);
    }

    [Fact]
    public void Every_setting_the_deployment_gives_is_one_the_forwarder_reads_and_its_probes_are_endpoints_it_serves()
    {
        var properties = typeof(ForwarderOptions).GetProperties().Where(p => p.CanWrite).Select(p => p.Name).ToHashSet();
        foreach (var name in Env.Keys.Where(n => n.StartsWith("Forwarder__", StringComparison.Ordinal)))
            Assert.Contains(name["Forwarder__".Length..], properties);
        Assert.Contains("Forwarder__ClusterName", Env.Keys);
        Assert.Contains("Forwarder__EventBusName", Env.Keys);
        Assert.Equal("metadata.name", (string?)Env["Forwarder__Identity"]["valueFrom"]!["fieldRef"]!["fieldPath"]);
        Assert.Equal("metadata.namespace", (string?)Env["Forwarder__LeaseNamespace"]["valueFrom"]!["fieldRef"]!["fieldPath"]);

        // The forwarder resolves AWS credentials when it starts, as a pod would from its identity.
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", LoopbackAws.AccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", LoopbackAws.SecretKey);
        var app = ForwarderHost.Build([], [new("AWS_REGION", "eu-west-1"), new("Kubernetes:Host", "http://127.0.0.1:1"),
            new("Forwarder:ClusterName", "orders-prod"), new("Forwarder:EventBusName", "default")])!;
        var served = ((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>().Select(e => "/" + e.RoutePattern.RawText!.TrimStart('/')).ToList();
        Assert.Contains((string?)Container["livenessProbe"]!["httpGet"]!["path"], served);
        Assert.Contains((string?)Container["readinessProbe"]!["httpGet"]!["path"], served);
        Assert.Equal("http://+:8080", (string?)Env["ASPNETCORE_URLS"]["value"]);
        Assert.Equal(8080, (int)Container["ports"]![0]!["containerPort"]!);
        Assert.True((bool)Container["securityContext"]!["readOnlyRootFilesystem"]!);
        Assert.NotNull(Container["resources"]!["limits"]!["memory"]);
    }

    [Fact]
    public void The_forwarder_refuses_to_start_without_its_cluster_and_bus()
    {
        Assert.Null(ForwarderHost.Build([], [new("AWS_REGION", "eu-west-1"), new("Kubernetes:Host", "http://127.0.0.1:1")]));
        Assert.Contains("Forwarder:ClusterName is required", string.Join("\n", new ForwarderOptions().Problems()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_forwarders_iam_role_may_only_put_events_on_the_bus()
    {
        var path = Path.Combine(Deploy, "forwarder-role.yaml");
        var (exitCode, output) = await TemplatePolicyTests.ValidateAsync(path);
        Assert.True(exitCode == 0, output);
        Assert.Matches(@"mesh-pipeline\.guard/iam_no_wildcards\s+PASS", output);
        var resources = CloudFormationYaml.Load(path)["Resources"]!;
        var statement = Assert.Single(resources["ForwarderRole"]!["Properties"]!["Policies"]![0]!["PolicyDocument"]!["Statement"]!.AsArray())!;
        Assert.Equal("events:PutEvents", (string?)statement["Action"]);
        Assert.EndsWith(":event-bus/${EventBusName}", (string?)statement["Resource"]!["Fn::Sub"]);
        Assert.Equal("pods.eks.amazonaws.com", (string?)resources["ForwarderRole"]!["Properties"]!["AssumeRolePolicyDocument"]!["Statement"]![0]!["Principal"]!["Service"]);
        Assert.Equal("ServiceAccount", resources["PodIdentity"]!["Properties"]!["ServiceAccount"]!["Ref"]!.GetValue<string>());
    }
}
