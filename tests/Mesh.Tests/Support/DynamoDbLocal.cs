using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Amazon.DynamoDBv2;
using Amazon.Runtime;

namespace Mesh.Tests.Support;

/// <summary>Amazon DynamoDB Local (in memory) on a free loopback port, for the life of the test collection.</summary>
public sealed class DynamoDbLocal : IAsyncLifetime
{
    private Process? _process;

    public Uri ServiceUrl { get; private set; } = null!;

    /// <summary>A client for DynamoDB Local; <paramref name="faults"/> sits between it and the wire when given.</summary>
    public IAmazonDynamoDB Client(FaultInjector? faults = null)
    {
        var config = new AmazonDynamoDBConfig { ServiceURL = ServiceUrl.ToString(), MaxErrorRetry = 3, RetryMode = RequestRetryMode.Standard };
        if (faults is not null) config.HttpClientFactory = faults;
        return new AmazonDynamoDBClient(new BasicAWSCredentials("local", "local"), config);
    }

    public async Task InitializeAsync()
    {
        var lib = Directory.GetDirectories(Path.Combine(Repo.Root, "tests", "Mesh.Tests", ".dynamodb", "package", "lib"), "dynamodb_local_*").Single();
        var port = FreePort();
        _process = Process.Start(new ProcessStartInfo("java",
            ["-Djava.library.path=" + Path.Combine(lib, "DynamoDBLocal_lib"), "-jar", Path.Combine(lib, "DynamoDBLocal.jar"), "-inMemory", "-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("java did not start");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        ServiceUrl = new Uri($"http://127.0.0.1:{port}");
        using var client = Client();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await client.ListTablesAsync();
                return;
            }
            catch (Exception e) when (e is AmazonServiceException or HttpRequestException or SocketException or IOException && deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                if (_process.HasExited) throw new InvalidOperationException($"DynamoDB Local exited with {_process.ExitCode}");
                await Task.Delay(200);
            }
        }
    }

    public Task DisposeAsync()
    {
        if (_process is { HasExited: false }) _process.Kill(entireProcessTree: true);
        _process?.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>A loopback port nothing listens on now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class DynamoDbCollection : ICollectionFixture<DynamoDbLocal>
{
    public const string Name = "DynamoDB Local";
}
