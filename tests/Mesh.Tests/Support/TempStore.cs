using Mesh.Adapters.DynamoDb;
using Mesh.Adapters.Sqlite;
using Mesh.Core.Compile;
using Mesh.Core.Pipeline;
using Mesh.Core.Ports;
using Mesh.Core.Publishing;
using Mesh.Core.Resilience;
using Mesh.Core.Serving;

namespace Mesh.Tests.Support;

/// <summary>A fresh, empty store with the core pipeline wired to it: SQLite in a temporary directory, or a new DynamoDB table.</summary>
public sealed class TempStore : IDisposable
{
    private readonly string? _directory;

    public TempStore(XdsSettings? settings = null)
        : this(OpenSqlite(out var directory), settings) => _directory = directory;

    private TempStore(MeshStore store, XdsSettings? settings)
    {
        Store = store;
        Settings = settings ?? new XdsSettings();
        // Seeded jitter, so a failing run replays the same delays.
        var retry = GuardedRetry.Default(TimeProvider.System, new Random(20261125));
        Recorder = new EndpointRecorder(Store.Endpoints, retry);
        Publisher = new FleetPublisher(Store.Desired, Store.Endpoints, Store.Snapshots, Settings, TimeProvider.System, retry);
        var afterCommit = new AfterCommit(new SnapshotCache(Store.Snapshots, TimeProvider.System), TimeProvider.System);
        Coalescer = new PublishCoalescer((fleets, ct) => Publisher.PublishAsync(fleets, ct), CoalescingWindow.Default, TimeProvider.System);
        Ingest = new EndpointIngest(Recorder, Publisher, Coalescer, afterCommit);
        Reconciler = new Reconciler(Store.Desired, Publisher, afterCommit);
    }

    /// <summary>A new table in DynamoDB Local, so tests sharing one instance never see each other's items.</summary>
    public static async Task<TempStore> DynamoDbAsync(DynamoDbLocal local, FaultInjector? faults = null, int chunkBytes = DynamoDbTable.ChunkBytes)
    {
        var client = local.Client(faults);
        var table = $"mesh-{Guid.NewGuid():N}";
        await DynamoDbTable.EnsureTableAsync(client, table, CancellationToken.None);
        return new TempStore(DynamoDbTable.Open(client, table, TimeProvider.System, chunkBytes), null);
    }

    public MeshStore Store { get; }
    public XdsSettings Settings { get; }
    public EndpointRecorder Recorder { get; }
    public FleetPublisher Publisher { get; }
    public PublishCoalescer Coalescer { get; }
    public EndpointIngest Ingest { get; }
    public Reconciler Reconciler { get; }

    public void Dispose()
    {
        if (_directory is null) return;
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still open by a finishing background task; the OS temp cleaner takes it.
        }
    }

    private static MeshStore OpenSqlite(out string directory)
    {
        directory = Directory.CreateTempSubdirectory("mesh-test-").FullName;
        return SqliteDatabase.Open(Path.Combine(directory, "mesh.db"));
    }
}
