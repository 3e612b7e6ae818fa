using System.Globalization;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Mesh.Adapters.Aws;
using Mesh.Adapters.DynamoDb;
using Mesh.Adapters.Sqlite;
using Mesh.Core.Compile;
using Mesh.Core.Editing;
using Mesh.Core.Pipeline;
using Mesh.Core.Ports;
using Mesh.Core.Publishing;
using Mesh.Core.Resilience;
using Mesh.Core.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

using Mesh.Core.Telemetry;
using Mesh.Hosting.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Mesh.Hosting;

/// <summary>What every function needs, read from configuration (appsettings, environment, command line).</summary>
public static class MeshHosting
{
    /// <summary>
    /// Registers the store behind every port, the control-plane settings, the clock, the core's use cases, and the
    /// reconcile at start-up (Reconcile:AtStartup; by default on outside Lambda).
    /// Configuration: Store:DynamoDb:TableName selects DynamoDB (Store:DynamoDb:ServiceUrl for DynamoDB Local,
    /// which also creates the table); otherwise Store:SqlitePath (default .local/mesh.db). Xds:ControlPlaneCluster,
    /// Xds:RefreshDelay, Xds:RequestTimeout, Xds:InboundPort, Xds:OutboundPort, Xds:TrustDomain,
    /// Xds:Tls:CertificateChain, Xds:Tls:PrivateKey, Xds:Tls:TrustedCa, Xds:ServeHeadLifetime, Publish:DebounceQuiet, Publish:DebounceMax. CloudMap:NamespaceId turns on Cloud Map
    /// registration and Events:BusName "Mesh Config Published" events (see <see cref="AddAwsIntegrations"/>).
    /// </summary>
    public static IServiceCollection AddMeshCore(this IServiceCollection services, IConfiguration configuration)
    {
        var store = configuration["Store:DynamoDb:TableName"] is { Length: > 0 } table
            ? OpenDynamoDb(table, configuration.GetSection("Store:DynamoDb"))
            : SqliteDatabase.Open(configuration["Store:SqlitePath"] ?? Path.Combine(".local", "mesh.db"));
        services.AddSingleton(store);
        services.AddSingleton(store.Endpoints);
        services.AddSingleton(store.Desired);
        services.AddSingleton(store.Snapshots);
        services.AddSingleton(store.Proxies);
        services.AddSingleton(ReadXdsSettings(configuration.GetSection("Xds"), string.Equals(configuration["Auth:Mode"], "Iam", StringComparison.OrdinalIgnoreCase)));
        // Fleet tokens (Xds:FleetTokenKey, base64): issued into bootstraps, checked on every xDS request and stream.
        if (configuration["Xds:FleetTokenKey"] is { Length: > 0 } tokenKey) services.AddSingleton(new FleetTokens(Convert.FromBase64String(tokenKey)));
        services.AddSingleton(sp => new FleetAccess(sp.GetRequiredService<IDesiredStateStore>(), sp.GetRequiredService<XdsSettings>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetService<FleetTokens>()));
        services.AddSingleton<FleetWatch>();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new MetricsSink(MetricsOutput(configuration["Metrics:File"]), configuration["Metrics:Namespace"] ?? "MeshPipeline",
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => GuardedRetry.Default(sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<SnapshotCache>();
        services.AddSingleton<ProxyTracker>();
        services.AddSingleton<ConvergenceQueries>();
        services.AddSingleton<FleetPublisher>();
        services.AddSingleton<EndpointRecorder>();
        services.AddSingleton<AfterCommit>();
        // Ingest's coalescing window (Publish:DebounceQuiet, Publish:DebounceMax): events close together publish each fleet once.
        var debounce = configuration.GetSection("Publish");
        var window = new CoalescingWindow(Duration(debounce["DebounceQuiet"]) ?? CoalescingWindow.Default.Quiet, Duration(debounce["DebounceMax"]) ?? CoalescingWindow.Default.Max);
        services.AddSingleton(sp => new PublishCoalescer((fleets, ct) => sp.GetRequiredService<FleetPublisher>().PublishAsync(fleets, ct), window, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<EndpointIngest>();
        services.AddSingleton<Reconciler>();
        services.AddSingleton<MeshEditor>();
        services.AddSingleton<MeshEdits>();
        // A long-lived process reconciles when it starts. A Lambda function starts (cold) far more often, on every
        // scale-out: there the scheduled rule runs the reconciler every minute instead.
        if (ConfiguredFlag(configuration["Reconcile:AtStartup"]) ?? configuration["AWS_LAMBDA_FUNCTION_NAME"] is null)
            services.AddHostedService<ReconcileAtStartup>();
        services.AddAwsIntegrations(configuration);
        // The pipeline's spans go to an OTLP collector when one is named (the ADOT Lambda layer's, or any collector).
        if (configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] is { Length: > 0 })
        {
            services.AddOpenTelemetry()
                .ConfigureResource(resource => resource.AddService(configuration["OTEL_SERVICE_NAME"] ?? "mesh-pipeline"))
                .WithTracing(tracing => tracing.AddSource(PipelineTracing.SourceName).AddOtlpExporter());
        }
        services.AddProblemDetails();
        return services;
    }

    /// <summary>EMF lines go to stdout (where Lambda hands them to CloudWatch Logs), or to Metrics:File, appended.</summary>
    private static TextWriter MetricsOutput(string? file) =>
        file is { Length: > 0 } ? TextWriter.Synchronized(new StreamWriter(new FileStream(file, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)))
            : Console.Out;

    /// <summary>
    /// Cloud Map (CloudMap:NamespaceId) and EventBridge (Events:BusName, Events:Source) when configured; each is off
    /// otherwise, as on a laptop. The region is AWS_REGION (Lambda sets it) or Aws:Region; credentials come from the SDK's
    /// default chain (the function's role in Lambda). CloudMap:ServiceUrl and Events:ServiceUrl replace the endpoints.
    /// </summary>
    public static IServiceCollection AddAwsIntegrations(this IServiceCollection services, IConfiguration configuration)
    {
        var region = configuration["AWS_REGION"] ?? configuration["Aws:Region"];
        if (configuration["CloudMap:NamespaceId"] is { Length: > 0 } namespaceId)
        {
            var client = AwsClient(AwsJsonService.CloudMap(Required(region, "AWS_REGION"), Url(configuration["CloudMap:ServiceUrl"])));
            services.AddSingleton<IServiceRegistry>(new CloudMapRegistry(client, namespaceId));
            services.AddSingleton<RegistrySync>();
        }
        if (configuration["Events:BusName"] is { Length: > 0 } bus)
        {
            var client = AwsClient(AwsJsonService.EventBridge(Required(region, "AWS_REGION"), Url(configuration["Events:ServiceUrl"])));
            services.AddSingleton<IConfigEventSink>(new EventBridgeSink(client, bus, configuration["Events:Source"] ?? EventBridgeSink.DefaultSource));
        }
        return services;
    }

    private static AwsJsonClient AwsClient(AwsJsonService service) =>
        new(service, new DefaultAWSCredentialsIdentityResolver().ResolveIdentity(null), new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }, new AwsRetrySettings());

    private static string Required(string? value, string name) =>
        value ?? throw new InvalidOperationException($"{name} is not set: Cloud Map and EventBridge need a region");

    private static Uri? Url(string? value) => value is { Length: > 0 } ? new Uri(value) : null;

    /// <summary>What every function serves besides its own routes: forwarded headers, problem details for unhandled errors, and /healthz.</summary>
    public static WebApplication UseMeshDefaults(this WebApplication app)
    {
        // Configuration and views are per caller and change at any time; none of it is to be cached or sniffed.
        app.Use((context, next) =>
        {
            context.Response.Headers.XContentTypeOptions = "nosniff";
            context.Response.Headers.CacheControl = "no-store";
            return next(context);
        });
        // Behind API Gateway the Lambda Web Adapter (on loopback, a known proxy) passes X-Forwarded-Proto: https,
        // so URLs the API writes (a bootstrap's control plane address) are the ones callers used.
        app.UseForwardedHeaders(new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto });
        // Every log line of a Lambda invocation carries its request id (the JSON logs include scopes).
        var requestLog = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Mesh.Request");
        app.Use(async (context, next) =>
        {
            if (LambdaContext.RequestId(context) is not { } requestId)
            {
                await next(context);
                return;
            }
            using (requestLog.BeginScope(new Dictionary<string, object> { ["requestId"] = requestId }))
                await next(context);
        });
        app.UseExceptionHandler();
        app.MapGet("/healthz", () => Results.Text("ok"));
        return app;
    }

    /// <summary>JSON lines in Lambda (CloudWatch parses them); one readable line per decision elsewhere.</summary>
    public static WebApplicationBuilder UseMeshLogging(this WebApplicationBuilder builder)
    {
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        builder.Logging.ClearProviders();
        if (builder.Configuration["AWS_LAMBDA_FUNCTION_NAME"] is not null)
            builder.Logging.AddJsonConsole(o => o.IncludeScopes = true);
        else
            builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        return builder;
    }

    private static MeshStore OpenDynamoDb(string table, IConfiguration section)
    {
        IAmazonDynamoDB client;
        if (section["ServiceUrl"] is { Length: > 0 } serviceUrl)
        {
            // DynamoDB Local accepts any credentials; it is the only case where the table is created here.
            client = new AmazonDynamoDBClient(new BasicAWSCredentials("local", "local"), new AmazonDynamoDBConfig { ServiceURL = serviceUrl });
            DynamoDbTable.EnsureTableAsync(client, table, CancellationToken.None).GetAwaiter().GetResult();
        }
        else
        {
            client = new AmazonDynamoDBClient(new AmazonDynamoDBConfig { RetryMode = Amazon.Runtime.RequestRetryMode.Standard, MaxErrorRetry = 4 });
        }
        return DynamoDbTable.Open(client, table, TimeProvider.System);
    }

    public static XdsSettings ReadXdsSettings(IConfiguration section, bool iamAuthorized = false)
    {
        var defaults = new XdsSettings();
        return new XdsSettings
        {
            ControlPlaneCluster = section["ControlPlaneCluster"] ?? defaults.ControlPlaneCluster,
            RefreshDelay = Duration(section["RefreshDelay"]) ?? defaults.RefreshDelay,
            RequestTimeout = Duration(section["RequestTimeout"]) ?? defaults.RequestTimeout,
            InitialFetchTimeout = Duration(section["InitialFetchTimeout"]) ?? defaults.InitialFetchTimeout,
            ConnectTimeout = Duration(section["ConnectTimeout"]) ?? defaults.ConnectTimeout,
            ServeHeadLifetime = Duration(section["ServeHeadLifetime"]) ?? defaults.ServeHeadLifetime,
            InboundPort = int.TryParse(section["InboundPort"], CultureInfo.InvariantCulture, out var inbound) ? inbound : defaults.InboundPort,
            OutboundPort = int.TryParse(section["OutboundPort"], CultureInfo.InvariantCulture, out var outbound) ? outbound : defaults.OutboundPort,
            AdminPort = int.TryParse(section["AdminPort"], CultureInfo.InvariantCulture, out var admin) ? admin : defaults.AdminPort,
            TrustDomain = section["TrustDomain"] ?? defaults.TrustDomain,
            // IAM-authorized APIs (AWS) bind proxies to fleets by default; elsewhere Xds:RequireProxyIdentity turns it on.
            ProxyIdentityRequired = ConfiguredFlag(section["RequireProxyIdentity"]) ?? iamAuthorized,
            AdsAddress = section["AdsAddress"] is { Length: > 0 } ads ? new Uri(ads) : null,
            MaxTrackedProxiesPerFleet = int.TryParse(section["MaxTrackedProxiesPerFleet"], CultureInfo.InvariantCulture, out var tracked) ? tracked : defaults.MaxTrackedProxiesPerFleet,
            Tls = new MeshTlsFiles
            {
                CertificateChain = section["Tls:CertificateChain"] ?? defaults.Tls.CertificateChain,
                PrivateKey = section["Tls:PrivateKey"] ?? defaults.Tls.PrivateKey,
                TrustedCa = section["Tls:TrustedCa"] ?? defaults.Tls.TrustedCa,
                SecretsDirectory = section["Tls:SecretsDirectory"] ?? defaults.Tls.SecretsDirectory,
            },
        };
    }

    private static bool? ConfiguredFlag(string? value) =>
        value is null ? null : bool.TryParse(value, out var flag) ? flag : throw new FormatException($"'{value}' is not true or false");

    private static TimeSpan? Duration(string? value) =>
        value is null ? null : TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var parsed) ? parsed
            : throw new FormatException($"'{value}' is not a duration (hh:mm:ss)");
}
