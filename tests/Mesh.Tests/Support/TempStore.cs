using Mesh.Adapters.Sqlite;
using Mesh.Core.Compile;
using Mesh.Core.Pipeline;

namespace Mesh.Tests.Support;

/// <summary>A fresh embedded store in its own temporary directory, with the core pipeline wired to it.</summary>
public sealed class TempStore : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("mesh-test-").FullName;

    public TempStore(XdsSettings? settings = null)
    {
        DatabasePath = Path.Combine(_directory, "mesh.db");
        Store = SqliteStore.Open(DatabasePath);
        Settings = settings ?? new XdsSettings();
        Recorder = new EndpointRecorder(Store);
        Publisher = new FleetPublisher(Store, Store, Store, Settings, TimeProvider.System);
    }

    public string DatabasePath { get; }
    public SqliteStore Store { get; }
    public XdsSettings Settings { get; }
    public EndpointRecorder Recorder { get; }
    public FleetPublisher Publisher { get; }

    public void Dispose()
    {
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
}
