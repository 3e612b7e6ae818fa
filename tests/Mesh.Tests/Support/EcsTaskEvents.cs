using System.Text.Json;

namespace Mesh.Tests.Support;

/// <summary>ECS "Task State Change" events of a bridge-mode task (EC2), as EventBridge delivers them, for tests that need their own tasks.</summary>
public static class EcsTaskEvents
{
    public const string Region = "eu-west-1";
    public const string Account = "210987654321";

    public static string ContainerInstanceArn(string cluster) => $"arn:aws:ecs:{Region}:{Account}:container-instance/{cluster}/0123456789abcdef0123456789abcdef";

    /// <summary>The task's container publishes <paramref name="containerPort"/> on <paramref name="hostPort"/> of its container instance.</summary>
    public static string BridgeTask(string cluster, string service, string taskId, int revision, int containerPort, int hostPort, string lastStatus, int version, string zone = "eu-west-1a")
    {
        var taskArn = $"arn:aws:ecs:{Region}:{Account}:task/{cluster}/{taskId}";
        var stopped = lastStatus == "STOPPED";
        return JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["version"] = "0",
            ["id"] = Guid.NewGuid().ToString(),
            ["detail-type"] = "ECS Task State Change",
            ["source"] = "aws.ecs",
            ["account"] = Account,
            ["time"] = "2026-12-07T10:00:00Z",
            ["region"] = Region,
            ["resources"] = new[] { taskArn },
            ["detail"] = new Dictionary<string, object>
            {
                ["availabilityZone"] = zone,
                ["clusterArn"] = $"arn:aws:ecs:{Region}:{Account}:cluster/{cluster}",
                ["containerInstanceArn"] = ContainerInstanceArn(cluster),
                ["containers"] = new[]
                {
                    new Dictionary<string, object>
                    {
                        ["name"] = service,
                        ["lastStatus"] = lastStatus,
                        ["taskArn"] = taskArn,
                        ["healthStatus"] = "HEALTHY",
                        ["networkBindings"] = stopped ? Array.Empty<object>() : new[] { new Dictionary<string, object> { ["bindIP"] = "0.0.0.0", ["containerPort"] = containerPort, ["hostPort"] = hostPort, ["protocol"] = "tcp" } },
                    },
                },
                ["desiredStatus"] = stopped ? "STOPPED" : "RUNNING",
                ["group"] = $"service:{service}",
                ["healthStatus"] = "HEALTHY",
                ["launchType"] = "EC2",
                ["lastStatus"] = lastStatus,
                ["taskArn"] = taskArn,
                ["taskDefinitionArn"] = $"arn:aws:ecs:{Region}:{Account}:task-definition/{service}:{revision}",
                ["version"] = version,
            },
        });
    }
}
