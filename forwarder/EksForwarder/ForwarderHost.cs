using Amazon.Runtime.Credentials;
using k8s;
using Mesh.Adapters.Aws;

namespace Mesh.EksForwarder;

/// <summary>The forwarder's process: its configuration, the Kubernetes and EventBridge clients, the leader loop and the health endpoints.</summary>
public static class ForwarderHost
{
    /// <summary>Null, with the reasons on stderr, when the configuration is incomplete.</summary>
    public static WebApplication? Build(string[] args, IEnumerable<KeyValuePair<string, string?>> settings)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders().AddJsonConsole(o => o.IncludeScopes = true);
        var options = builder.Configuration.GetSection("Forwarder").Get<ForwarderOptions>() ?? new ForwarderOptions();
        var region = builder.Configuration["AWS_REGION"] ?? builder.Configuration["Aws:Region"];
        var problems = options.Problems().Concat(region is null ? ["AWS_REGION is not set"] : []).ToList();
        if (problems.Count > 0)
        {
            Console.Error.WriteLine(string.Join(Environment.NewLine, problems));
            return null;
        }
        var events = new AwsJsonClient(AwsJsonService.EventBridge(region!, builder.Configuration["Events:ServiceUrl"] is { Length: > 0 } url ? new Uri(url) : null),
            new DefaultAWSCredentialsIdentityResolver().ResolveIdentity(null), new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }, new AwsRetrySettings());
        // In the cluster: the pod's service account; elsewhere (tests, a laptop): Kubernetes:Host, else the kubeconfig.
        var kubernetes = builder.Configuration["Kubernetes:Host"] is { Length: > 0 } host ? new KubernetesClientConfiguration { Host = host }
            : KubernetesClientConfiguration.IsInCluster() ? KubernetesClientConfiguration.InClusterConfig() : KubernetesClientConfiguration.BuildConfigFromConfigFile();

        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<IKubernetes>(new Kubernetes(kubernetes));
        builder.Services.AddSingleton(events);
        builder.Services.AddSingleton<EventBridgePublisher>();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ForwarderHealth>();
        builder.Services.AddSingleton<SliceWatcher>();
        builder.Services.AddSingleton<Func<ChangePublisher>>(s => () => ActivatorUtilities.CreateInstance<ChangePublisher>(s));
        builder.Services.AddHostedService<LeaderLoop>();

        var app = builder.Build();
        // Alive while the process runs; ready once it knows who leads (a standby replica is ready too).
        app.MapGet("/healthz", () => Results.Ok());
        app.MapGet("/readyz", (ForwarderHealth health) => health.Leader is null ? Results.StatusCode(503) : Results.Ok());
        app.MapGet("/status", (ForwarderHealth health) => Results.Json(
            new ForwarderStatus(health.Leading, health.Leader, health.LastListAt, health.LastPublishAt, health.Pending, health.PublishedEvents), ForwarderJson.Default.ForwarderStatus));
        return app;
    }
}
