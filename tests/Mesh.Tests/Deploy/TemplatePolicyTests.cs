using System.Runtime.InteropServices;
using Mesh.Tests.Support;

namespace Mesh.Tests.Deploy;

/// <summary>policy/mesh-pipeline.guard run by cfn-guard over template.yaml, and over a template that breaks each rule.</summary>
public class TemplatePolicyTests
{
    private static string Guard => Path.Combine(Repo.Root, "tests", "Mesh.Tests", ".cfnguard", "package", "bin", "ubuntu",
        RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "aarch64" : "x86_64", "cfn-guard");

    private static string Rules => Path.Combine(Repo.Root, "policy", "mesh-pipeline.guard");

    /// <summary>cfn-guard's verdict on a template, with its summary of every rule.</summary>
    internal static Task<(int ExitCode, string Output)> ValidateAsync(string template) =>
        ChildProcess.RunAsync(Guard, ["validate", "-d", template, "-r", Rules, "--show-summary", "all"], Repo.Root);

    [Fact]
    public async Task The_template_passes_every_rule()
    {
        var (exitCode, output) = await ValidateAsync(Path.Combine(Repo.Root, "template.yaml"));
        Assert.True(exitCode == 0, output);
        foreach (var rule in new[] { "dynamodb_point_in_time_recovery", "dynamodb_encrypted", "sqs_encrypted", "sqs_sources_have_dead_letter_queues",
                     "sqs_event_sources_report_item_failures", "event_rule_targets_have_dead_letter_queues", "iam_no_wildcards", "functions_have_explicit_roles", "logs_expire" })
            Assert.Matches($@"mesh-pipeline\.guard/{rule}\s+PASS", output);
    }

    [Theory]
    [InlineData("PointInTimeRecoveryEnabled: true", "PointInTimeRecoveryEnabled: false", "dynamodb_point_in_time_recovery")]
    [InlineData("SSESpecification: { SSEEnabled: true }", "SSESpecification: { SSEEnabled: false }", "dynamodb_encrypted")]
    [InlineData("      SqsManagedSseEnabled: true\n      MessageRetentionPeriod: 1209600\n      VisibilityTimeout", "      SqsManagedSseEnabled: false\n      MessageRetentionPeriod: 1209600\n      VisibilityTimeout", "sqs_encrypted")]
    [InlineData("        deadLetterTargetArn: !GetAtt EventsDeadLetterQueue.Arn\n        maxReceiveCount: 5\n", "", "sqs_sources_have_dead_letter_queues")]
    [InlineData("FunctionResponseTypes: [ReportBatchItemFailures]", "FunctionResponseTypes: []", "sqs_event_sources_report_item_failures")]
    [InlineData("Action: events:PutEvents\n", "Action: events:*\n", "iam_no_wildcards")]
    [InlineData("ManagedPolicyArns: [!Ref PipelineAccessPolicy]", "ManagedPolicyArns: [arn:aws:iam::aws:policy/AdministratorAccess]", "iam_no_wildcards")]
    [InlineData("Resource: !GetAtt EventsQueue.Arn\n", "Resource: \"*\"\n", "iam_no_wildcards")]
    [InlineData("      RetentionInDays: !Ref LogRetentionDays\n\n  ApiLogGroup", "\n  ApiLogGroup", "logs_expire")]
    public Task A_template_that_breaks_a_rule_fails_on_that_rule(string original, string broken, string rule) =>
        AssertBreakingFailsAsync(Path.Combine(Repo.Root, "template.yaml"), original, broken, rule);

    /// <summary>The template with <paramref name="original"/> replaced by <paramref name="broken"/> fails <paramref name="rule"/>.</summary>
    internal static async Task AssertBreakingFailsAsync(string templatePath, string original, string broken, string rule)
    {
        var text = await File.ReadAllTextAsync(templatePath);
        Assert.Contains(original, text, StringComparison.Ordinal);
        var path = Path.Combine(Path.GetTempPath(), $"template-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, text.Replace(original, broken, StringComparison.Ordinal));
        try
        {
            var (exitCode, output) = await ValidateAsync(path);
            Assert.NotEqual(0, exitCode);
            Assert.Matches($@"mesh-pipeline\.guard/{rule}\s+FAIL", output);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
