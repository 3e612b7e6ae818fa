using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Mesh.Adapters.Aws;
using Mesh.Adapters.DynamoDb;
using Mesh.Contracts.Events;
using Mesh.Tests.Support;

namespace Mesh.Tests.Deploy;

/// <summary>template.yaml, read with its short tags, checked for what `sam deploy` cannot tell us until it is too late.</summary>
public class TemplateTests
{
    private static readonly JsonObject Template = CloudFormationYaml.Load(Path.Combine(Repo.Root, "template.yaml"));
    private static JsonObject Resources { get; } = Section("Resources");
    private static JsonObject Globals { get; } = Section("Globals")["Function"]!.AsObject();

    private static JsonObject Section(string name) => Template[name]!.AsObject();

    private static IEnumerable<(string Name, JsonObject Resource)> OfType(string type) =>
        Resources.Where(r => (string?)r.Value!["Type"] == type).Select(r => (r.Key, r.Value!.AsObject()));

    private static IEnumerable<(string Name, JsonObject Properties)> Functions =>
        OfType("AWS::Serverless::Function").Select(f => (f.Name, f.Resource["Properties"]!.AsObject()));

    private static int Timeout(JsonObject function) => int.Parse((string)(function["Timeout"] ?? Globals["Timeout"])!);

    private static string GetAttTarget(JsonNode? node) => (string)node!["Fn::GetAtt"]![0]!;

    [Fact]
    public void Every_function_is_built_by_a_makefile_target_for_provided_al2023_as_bootstrap()
    {
        var makefile = File.ReadAllText(Path.Combine(Repo.Root, "Makefile"));
        Assert.Equal(["ApiFunction", "IngestFunction"], Functions.Select(f => f.Name).Order());
        foreach (var (name, _) in Functions)
        {
            Assert.Equal("makefile", (string?)Resources[name]!["Metadata"]!["BuildMethod"]);
            Assert.Matches(new Regex($"^build-{name}:", RegexOptions.Multiline), makefile);
        }
        Assert.Equal("provided.al2023", (string?)Globals["Runtime"]);
        Assert.Equal("bootstrap", (string?)Globals["Handler"]);
        Assert.Contains("LambdaAdapterLayerX86", Globals["Layers"]![0]!.ToJsonString());
    }

    [Fact]
    public void Every_sqs_event_source_reports_batch_item_failures_and_its_queue_redrives_to_a_dead_letter_queue_with_an_alarm()
    {
        var sources = Functions.SelectMany(f => f.Properties["Events"]!.AsObject().Select(e => (Function: f.Properties, Event: e.Value!.AsObject())))
            .Where(e => (string?)e.Event["Type"] == "SQS").ToList();
        Assert.NotEmpty(sources);
        foreach (var (function, source) in sources)
        {
            var properties = source["Properties"]!;
            Assert.Contains("ReportBatchItemFailures", properties["FunctionResponseTypes"]!.AsArray().Select(t => (string?)t));
            var queue = Resources[GetAttTarget(properties["Queue"])]!["Properties"]!;
            var deadLetter = GetAttTarget(queue["RedrivePolicy"]!["deadLetterTargetArn"]);
            Assert.Equal("AWS::SQS::Queue", (string?)Resources[deadLetter]!["Type"]);
            Assert.InRange(int.Parse((string)queue["RedrivePolicy"]!["maxReceiveCount"]!), 2, 10);
            // Lambda's guidance: visibility at least six times the function's timeout, so retries of a batch do not overlap.
            Assert.True(int.Parse((string)queue["VisibilityTimeout"]!) >= 6 * Timeout(function), "visibility timeout below six times the function timeout");
            Assert.Contains(OfType("AWS::CloudWatch::Alarm"), a => (string?)a.Resource["Properties"]!["Dimensions"]![0]!["Value"]!["Fn::GetAtt"]![0] == deadLetter);
        }
    }

    [Fact]
    public void Timeouts_fit_api_gateway_and_the_worst_case_of_one_aws_call()
    {
        var retry = new AwsRetrySettings();
        var oneCall = retry.AttemptTimeout * retry.MaxAttempts + retry.MaxDelay * (retry.MaxAttempts - 1);
        foreach (var (name, function) in Functions)
        {
            Assert.True(TimeSpan.FromSeconds(Timeout(function)) > oneCall, $"{name}: one Cloud Map call may take {oneCall}, longer than the function's timeout");
            var httpEvents = function["Events"]!.AsObject().Where(e => (string?)e.Value!["Type"] == "HttpApi");
            if (httpEvents.Any()) Assert.True(Timeout(function) <= 29, $"{name}: HTTP APIs end integrations at 30 s");
        }
    }

    [Fact]
    public void Every_iam_statement_names_its_actions_and_specific_resources()
    {
        foreach (var (name, function) in Functions)
        {
            Assert.NotNull(function["Role"]);
            Assert.Null(function["Policies"]);
        }
        var policies = OfType("AWS::IAM::ManagedPolicy").ToDictionary(p => p.Name, p => p.Resource);
        var documents = OfType("AWS::IAM::Role").SelectMany(r => r.Resource["Properties"]!["Policies"]!.AsArray().Select(p => (r.Name, Document: p!["PolicyDocument"]!)))
            .Concat(policies.Select(p => (p.Key, Document: p.Value["Properties"]!["PolicyDocument"]!)));
        foreach (var (role, resource) in OfType("AWS::IAM::Role"))
        {
            // Roles may share a policy the template defines, never an AWS-managed one.
            foreach (var attached in resource["Properties"]!["ManagedPolicyArns"]?.AsArray() ?? [])
                Assert.True(attached!["Ref"] is JsonValue name && policies.ContainsKey((string)name!), $"{role} attaches {attached.ToJsonString()}");
        }
        foreach (var (owner, document) in documents)
        {
            foreach (var statement in document["Statement"]!.AsArray())
            {
                var actions = statement!["Action"] is JsonArray list ? list.Select(a => (string)a!) : [(string)statement["Action"]!];
                Assert.All(actions, a => Assert.DoesNotContain("*", a));
                // X-Ray has no resource-level permissions: the one "*" allowed, for its two write actions only.
                if ((string?)statement["Sid"] == "XRayTraces")
                {
                    Assert.Equal(["xray:PutTelemetryRecords", "xray:PutTraceSegments"], actions.Order());
                    continue;
                }
                // ECR's login token has none either: the xDS server's task pulls its image with it, and does nothing else with "*".
                if ((string?)statement["Sid"] == "PullToken")
                {
                    Assert.Equal(["ecr:GetAuthorizationToken"], actions);
                    continue;
                }
                var resources = statement["Resource"] is JsonArray many ? [.. many] : new[] { statement["Resource"] };
                foreach (var target in resources)
                {
                    Assert.NotEqual("*", target is JsonValue ? (string?)target : null);
                    // A wildcard may only pick ids the function cannot know in advance, inside a scope a condition names.
                    if (target!["Fn::Sub"] is JsonValue sub && ((string)sub!).EndsWith("/*", StringComparison.Ordinal))
                        Assert.True(statement["Condition"] is not null, $"{owner}/{statement["Sid"]}: {sub} without a condition");
                    Assert.All(CloudFormationYaml.References(target).Where(r => !r.StartsWith("AWS::", StringComparison.Ordinal)),
                        r => Assert.True(Resources.ContainsKey(r) || Template["Parameters"]!.AsObject().ContainsKey(r), $"{owner}: {r} is not in the template"));
                }
            }
        }
    }

    [Fact]
    public void The_reconciler_runs_every_minute_on_the_function_whose_events_path_takes_the_schedule()
    {
        var ingest = Functions.Single(f => f.Name == "IngestFunction").Properties;
        var schedules = ingest["Events"]!.AsObject().Select(e => e.Value!.AsObject()).Where(e => (string?)e["Type"] == "Schedule").ToList();
        var schedule = Assert.Single(schedules);
        Assert.Equal("rate(1 minute)", (string?)schedule["Properties"]!["Schedule"]);
        // The Lambda Web Adapter posts non-HTTP events to this path, where a "Scheduled Event" runs the reconciler.
        Assert.Equal("/events", (string?)ingest["Environment"]!["Variables"]!["AWS_LWA_PASS_THROUGH_PATH"]);
    }

    /// <summary>
    /// Envoy's REST xDS client sends the xDS cluster's name as the Host header, and API Gateway routes by it. The
    /// bootstrap built from the Api function's configuration exactly as template.yaml sets it (with a domain for the
    /// ControlPlaneDomain parameter) must name the API's domain as that cluster, in every config source that refers
    /// to it, and reach it with SNI and a SAN check for that name.
    /// </summary>
    [Fact]
    public void The_deployed_bootstrap_names_the_xds_cluster_after_the_apis_domain_so_api_gateway_routes_its_polls()
    {
        const string domain = "xds.mesh.example.com";
        var parameters = new Dictionary<string, string> { ["ControlPlaneDomain"] = domain, ["TrustDomain"] = "mesh.local" };
        var api = Functions.Single(f => f.Name == "ApiFunction").Properties;
        var settings = new Dictionary<string, string?>();
        foreach (var (name, value) in new[] { Globals, api }.SelectMany(f => f["Environment"]?["Variables"]?.AsObject() ?? []))
        {
            settings[name.Replace("__", ":", StringComparison.Ordinal)] = value switch
            {
                JsonObject o when o["Ref"] is JsonValue reference => parameters.GetValueOrDefault(reference.GetValue<string>()),
                JsonObject o when o["Fn::Sub"] is JsonValue sub => parameters.Aggregate(sub.GetValue<string>(), (text, p) => text.Replace($"${{{p.Key}}}", p.Value, StringComparison.Ordinal)),
                JsonValue literal => literal.ToString(),
                _ => null,
            };
        }
        var configuration = Microsoft.Extensions.Configuration.MemoryConfigurationBuilderExtensions.AddInMemoryCollection(new Microsoft.Extensions.Configuration.ConfigurationBuilder(), settings).Build();
        var xds = Mesh.Hosting.MeshHosting.ReadXdsSettings(configuration.GetSection("Xds"));
        var url = new Uri(configuration["Xds:ControlPlaneUrl"]!);
        var bootstrap = System.Text.Json.JsonDocument.Parse(Mesh.Core.Compile.BootstrapWriter.Write(new Mesh.Core.Model.FleetId("shop", "web"), "web-1", "eu-west-1a",
            new Mesh.Core.Compile.ControlPlaneAddress(url.Host, url.Port, url.Scheme == Uri.UriSchemeHttps), xds)).RootElement;
        Assert.Empty(Envoy.Schema.EnvoySchema.CheckMessage(bootstrap.GetRawText(), "envoy.config.bootstrap.v3.Bootstrap"));

        // The Host Envoy sends: the name of the cluster each config source polls.
        foreach (var source in new[] { "cds_config", "lds_config" })
            Assert.Equal(domain, bootstrap.GetProperty("dynamic_resources").GetProperty(source).GetProperty("api_config_source").GetProperty("cluster_names")[0].GetString());
        var cluster = bootstrap.GetProperty("static_resources").GetProperty("clusters").EnumerateArray().Single(c => c.GetProperty("name").GetString() == domain);
        Assert.Equal(443, cluster.GetProperty("load_assignment").GetProperty("endpoints")[0].GetProperty("lb_endpoints")[0].GetProperty("endpoint")
            .GetProperty("address").GetProperty("socket_address").GetProperty("port_value").GetInt32());
        var tls = cluster.GetProperty("transport_socket").GetProperty("typed_config");
        Assert.Equal(domain, tls.GetProperty("sni").GetString());
        Assert.Equal(domain, tls.GetProperty("common_tls_context").GetProperty("validation_context").GetProperty("match_typed_subject_alt_names")[0].GetProperty("matcher").GetProperty("exact").GetString());
        // The snapshots' config sources name the same cluster (they are compiled with the same settings).
        Assert.Equal(domain, xds.ControlPlaneCluster);
    }

    private static readonly HashSet<string> PseudoParameters = ["AWS::Region", "AWS::URLSuffix", "AWS::AccountId", "AWS::Partition", "AWS::StackName", "AWS::NoValue"];

    [Fact]
    public void Every_environment_variable_refers_to_the_template_or_is_a_setting_the_code_reads()
    {
        var adapterSettings = new HashSet<string>(StringComparer.Ordinal) { "AWS_LWA_PORT", "AWS_LWA_READINESS_CHECK_PATH", "AWS_LWA_PASS_THROUGH_PATH", "ASPNETCORE_URLS" };
        var code = string.Join("\n", new[] { "shared", "functions" }.SelectMany(d => Directory.EnumerateFiles(Path.Combine(Repo.Root, d), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)).Select(File.ReadAllText));
        var variables = new[] { Globals }.Concat(Functions.Select(f => f.Properties))
            .SelectMany(f => f["Environment"]?["Variables"]?.AsObject() ?? []).ToList();
        Assert.NotEmpty(variables);
        foreach (var (name, value) in variables)
        {
            if (value is JsonValue) Assert.True(adapterSettings.Contains(name) || name == "Auth__Mode", $"{name} is a literal the template does not own");
            foreach (var reference in CloudFormationYaml.References(value))
                Assert.True(Resources.ContainsKey(reference) || Template["Parameters"]!.AsObject().ContainsKey(reference) || PseudoParameters.Contains(reference),
                    $"{name} refers to {reference}, which is not in the template");
            // Section__Key is configuration key Section:Key; the code must read it, whole or as a section and a key.
            if (adapterSettings.Contains(name)) continue;
            var key = name.Replace("__", ":", StringComparison.Ordinal);
            var parts = key.Split(':');
            Assert.True(code.Contains($"\"{key}\"", StringComparison.Ordinal) || parts.All(p => code.Contains($"\"{p}\"", StringComparison.Ordinal)), $"no code reads {key}");
        }
    }

    [Fact]
    public void The_table_is_the_one_the_dynamodb_store_creates_with_pitr_ttl_and_encryption()
    {
        var table = Assert.Single(OfType("AWS::DynamoDB::Table")).Resource["Properties"]!;
        var expected = DynamoDbTable.TableDefinition("t");
        Assert.Equal("PAY_PER_REQUEST", (string?)table["BillingMode"]);
        Assert.Equal(expected.AttributeDefinitions.Select(a => $"{a.AttributeName}:{a.AttributeType.Value}"),
            table["AttributeDefinitions"]!.AsArray().Select(a => $"{a!["AttributeName"]}:{a["AttributeType"]}"));
        Assert.Equal(expected.KeySchema.Select(k => $"{k.AttributeName}:{k.KeyType.Value}"), table["KeySchema"]!.AsArray().Select(k => $"{k!["AttributeName"]}:{k["KeyType"]}"));
        var index = Assert.Single(table["GlobalSecondaryIndexes"]!.AsArray())!;
        var expectedIndex = Assert.Single(expected.GlobalSecondaryIndexes);
        Assert.Equal(expectedIndex.IndexName, (string?)index["IndexName"]);
        Assert.Equal(expectedIndex.KeySchema.Select(k => $"{k.AttributeName}:{k.KeyType.Value}"), index["KeySchema"]!.AsArray().Select(k => $"{k!["AttributeName"]}:{k["KeyType"]}"));
        Assert.Equal(expectedIndex.Projection.ProjectionType.Value, (string?)index["Projection"]!["ProjectionType"]);
        Assert.Equal(DynamoDbTable.TtlAttribute, (string?)table["TimeToLiveSpecification"]!["AttributeName"]);
        Assert.Equal("true", (string?)table["PointInTimeRecoverySpecification"]!["PointInTimeRecoveryEnabled"]);
        Assert.Equal("true", (string?)table["SSESpecification"]!["SSEEnabled"]);
    }

    [Fact]
    public void The_rules_send_every_event_type_ingest_reads_to_its_queue_and_the_queue_lets_only_them_in()
    {
        var rules = OfType("AWS::Events::Rule").ToList();
        var detailTypes = rules.SelectMany(r => r.Resource["Properties"]!["EventPattern"]!["detail-type"]!.AsArray().Select(t => (string)t!)).ToHashSet();
        Assert.Superset(new HashSet<string> { DetailTypes.EcsTaskStateChange, DetailTypes.EcsDeploymentStateChange, DetailTypes.EksEndpointSliceChange }, detailTypes);
        var queues = Functions.SelectMany(f => f.Properties["Events"]!.AsObject()).Where(e => (string?)e.Value!["Type"] == "SQS")
            .Select(e => GetAttTarget(e.Value!["Properties"]!["Queue"])).ToHashSet();
        var policy = Assert.Single(OfType("AWS::SQS::QueuePolicy")).Resource["Properties"]!["PolicyDocument"]!["Statement"]![0]!;
        var allowedRules = policy["Condition"]!["ArnEquals"]!["aws:SourceArn"]!.AsArray().Select(GetAttTarget).ToHashSet();
        foreach (var (name, rule) in rules)
        {
            Assert.Contains(GetAttTarget(rule["Properties"]!["Targets"]![0]!["Arn"]), queues);
            Assert.Contains(name, allowedRules);
        }
    }

    [Fact]
    public void Every_route_of_the_api_needs_iam_the_proxies_xds_polls_included()
    {
        var api = Assert.Single(OfType("AWS::Serverless::HttpApi")).Resource["Properties"]!["Auth"]!;
        Assert.Equal("true", (string?)api["EnableIamAuthorizer"]);
        Assert.Equal("AWS_IAM", (string?)api["DefaultAuthorizer"]);
        var routes = Functions.Single(f => f.Name == "ApiFunction").Properties["Events"]!.AsObject()
            .Select(e => (Path: (string)e.Value!["Properties"]!["Path"]!, Authorizer: (string?)e.Value["Properties"]!["Auth"]?["Authorizer"])).ToList();
        // No route opts out of the IAM authorizer: proxies sign their polls, so only a fleet's roles read its configuration.
        Assert.DoesNotContain(routes, r => r.Authorizer is not null);
        Assert.Contains(routes, r => r.Path == "/v3/{proxy+}");

        // Every path of the API's OpenAPI document is reachable through one of the routes.
        using var openApi = JsonDocument.Parse(File.ReadAllText(Path.Combine(Repo.Root, "openapi.json")));
        // (The document is the local host's: /events belongs to Ingest, which Lambda invokes from SQS, and /healthz to the adapter.)
        foreach (var path in openApi.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).Where(p => p is not "/healthz" and not "/events"))
            Assert.Contains(routes, r => r.Path.EndsWith("{proxy+}", StringComparison.Ordinal) ? path.StartsWith(r.Path[..^"{proxy+}".Length], StringComparison.Ordinal) : path == r.Path);
    }

    [Fact]
    public void Both_functions_trace_with_xray_and_name_the_metrics_namespace_the_alarms_read()
    {
        Assert.Equal("FunctionTracing", (string?)Globals["Tracing"]!["Ref"]);
        Assert.Equal("Active", (string?)Template["Parameters"]!["FunctionTracing"]!["Default"]);
        Assert.Equal("MetricsNamespace", (string?)Globals["Environment"]!["Variables"]!["Metrics__Namespace"]!["Ref"]);
    }

    public static TheoryData<string, string, string> Alarms() => new()
    {
        { "PublishFailuresAlarm", "PublishFailuresThreshold", Mesh.Hosting.Metrics.PipelineMetrics.PublishFailures },
        { "RejectingProxiesAlarm", "RejectingProxiesThreshold", Mesh.Hosting.Metrics.PipelineMetrics.ProxiesRejecting },
        { "ConvergenceLagAlarm", "ConvergenceLagThresholdSeconds", Mesh.Hosting.Metrics.PipelineMetrics.ConvergenceLag },
        { "IngestErrorsAlarm", "IngestErrorsThreshold", "Errors" },
    };

    [Theory]
    [MemberData(nameof(Alarms))]
    public void Each_alarm_reads_a_metric_the_functions_emit_with_its_threshold_a_parameter_and_notifies_the_topic(string alarm, string threshold, string metric)
    {
        var properties = Resources[alarm]!["Properties"]!.AsObject();
        Assert.Equal(threshold, (string?)properties["Threshold"]!["Ref"]);
        Assert.True(Template["Parameters"]!.AsObject().ContainsKey(threshold));
        Assert.Equal("HasAlarmTopic", (string?)properties["AlarmActions"]!["Fn::If"]![0]);
        var metrics = properties["Metrics"]?.AsArray().Select(m => m!["MetricStat"]?["Metric"]).OfType<JsonNode>().ToList() ?? [properties];
        Assert.Contains(metrics, m => (string?)m["MetricName"] == metric);
        foreach (var read in metrics.Where(m => m["Namespace"] is JsonObject ns && (string?)ns["Ref"] == "MetricsNamespace"))
        {
            // The functions' documents carry one dimension, service; the alarms read the ingest function's.
            Assert.Equal("service=ingest", string.Join(",", read["Dimensions"]!.AsArray().Select(d => $"{d!["Name"]}={d["Value"]}")));
            Assert.Contains((string)read["MetricName"]!, typeof(Mesh.Hosting.Metrics.PipelineMetrics).GetFields().Select(f => (string?)f.GetRawConstantValue()));
        }
    }

    [Fact]
    public void The_dashboard_is_json_and_charts_only_metrics_the_functions_emit()
    {
        var body = (string)Resources["Dashboard"]!["Properties"]!["DashboardBody"]!["Fn::Sub"]!;
        var substituted = Regex.Replace(body, @"\$\{[^}]+\}", "x");
        var widgets = JsonNode.Parse(substituted)!["widgets"]!.AsArray();
        Assert.True(widgets.Count >= 5);
        var emitted = typeof(Mesh.Hosting.Metrics.PipelineMetrics).GetFields().Select(f => (string?)f.GetRawConstantValue()).ToHashSet();
        foreach (var line in widgets.SelectMany(w => w!["properties"]!["metrics"]!.AsArray()).Select(l => l!.AsArray()))
        {
            if ((string?)line[0] is "x" or "." && line.Count > 1 && (string?)line[1] is { } name && name != "." && name != "...") Assert.Contains(name, emitted);
        }
        Assert.All(CloudFormationYaml.References(Resources["Dashboard"]!["Properties"]!["DashboardBody"]).Where(r => !PseudoParameters.Contains(r)),
            r => Assert.True(Resources.ContainsKey(r.Split('.')[0]) || Template["Parameters"]!.AsObject().ContainsKey(r), r));
    }
}
