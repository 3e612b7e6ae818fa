using System.Globalization;
using Mesh.Adapters.Sqlite;
using Mesh.Core.Compile;
using Mesh.Core.Pipeline;
using Mesh.Core.Ports;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mesh.Hosting;

/// <summary>What every function needs, read from configuration (appsettings, environment, command line).</summary>
public static class MeshHosting
{
    /// <summary>
    /// Registers the store behind every port, the control-plane settings, the clock and the publisher.
    /// Configuration: Store:SqlitePath (default .local/mesh.db); Xds:ControlPlaneCluster, Xds:RefreshDelay,
    /// Xds:RequestTimeout, Xds:InboundPort, Xds:OutboundPort.
    /// </summary>
    public static IServiceCollection AddMeshCore(this IServiceCollection services, IConfiguration configuration)
    {
        var store = SqliteStore.Open(configuration["Store:SqlitePath"] ?? Path.Combine(".local", "mesh.db"));
        services.AddSingleton(store);
        services.AddSingleton<IEndpointStore>(store);
        services.AddSingleton<IDesiredStateStore>(store);
        services.AddSingleton<ISnapshotStore>(store);
        services.AddSingleton(ReadXdsSettings(configuration.GetSection("Xds")));
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<FleetPublisher>();
        services.AddSingleton<EndpointRecorder>();
        services.AddProblemDetails();
        return services;
    }

    /// <summary>JSON lines in Lambda (CloudWatch parses them); one readable line per decision elsewhere.</summary>
    public static WebApplicationBuilder UseMeshLogging(this WebApplicationBuilder builder)
    {
        builder.Logging.ClearProviders();
        if (builder.Configuration["AWS_LAMBDA_FUNCTION_NAME"] is not null)
            builder.Logging.AddJsonConsole(o => o.IncludeScopes = false);
        else
            builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        return builder;
    }

    public static XdsSettings ReadXdsSettings(IConfiguration section)
    {
        var defaults = new XdsSettings();
        return new XdsSettings
        {
            ControlPlaneCluster = section["ControlPlaneCluster"] ?? defaults.ControlPlaneCluster,
            RefreshDelay = Duration(section["RefreshDelay"]) ?? defaults.RefreshDelay,
            RequestTimeout = Duration(section["RequestTimeout"]) ?? defaults.RequestTimeout,
            InitialFetchTimeout = Duration(section["InitialFetchTimeout"]) ?? defaults.InitialFetchTimeout,
            ConnectTimeout = Duration(section["ConnectTimeout"]) ?? defaults.ConnectTimeout,
            InboundPort = int.TryParse(section["InboundPort"], CultureInfo.InvariantCulture, out var inbound) ? inbound : defaults.InboundPort,
            OutboundPort = int.TryParse(section["OutboundPort"], CultureInfo.InvariantCulture, out var outbound) ? outbound : defaults.OutboundPort,
        };
    }

    private static TimeSpan? Duration(string? value) =>
        value is null ? null : TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var parsed) ? parsed
            : throw new FormatException($"'{value}' is not a duration (hh:mm:ss)");
}
