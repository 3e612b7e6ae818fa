using Mesh.Core.Ports;
using Microsoft.Data.Sqlite;

namespace Mesh.Adapters.Sqlite;

/// <summary>
/// The embedded store: one SQLite file in WAL mode, shared by one class per port. Guards are conditional statements
/// (UPDATE ... WHERE revision = @expected), and a snapshot commit is one transaction.
/// </summary>
public sealed class SqliteDatabase
{
    private const string Schema = """
        PRAGMA journal_mode = WAL;
        CREATE TABLE IF NOT EXISTS endpoint_sources (
            source_id TEXT NOT NULL, workload TEXT NOT NULL, version INTEGER NOT NULL,
            terminal INTEGER NOT NULL, revision INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (source_id, workload));
        CREATE INDEX IF NOT EXISTS endpoint_sources_live ON endpoint_sources (workload) WHERE terminal = 0;
        CREATE TABLE IF NOT EXISTS meshes (name TEXT PRIMARY KEY, revision INTEGER NOT NULL, generation TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS mesh_settings (mesh TEXT PRIMARY KEY, body TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS changes (mesh TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (mesh, id));
        CREATE TABLE IF NOT EXISTS proxy_polls (
            fleet TEXT NOT NULL, node TEXT NOT NULL, type TEXT NOT NULL, names TEXT NOT NULL,
            reported TEXT NOT NULL, served TEXT, rejected TEXT, at TEXT NOT NULL, rejection_reason TEXT, PRIMARY KEY (fleet, node, type, names));
        CREATE TABLE IF NOT EXISTS services (
            mesh TEXT NOT NULL, name TEXT NOT NULL, workload TEXT, body TEXT NOT NULL, PRIMARY KEY (mesh, name));
        CREATE INDEX IF NOT EXISTS services_by_workload ON services (workload);
        CREATE TABLE IF NOT EXISTS gateways (mesh TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (mesh, name));
        CREATE TABLE IF NOT EXISTS snapshots (
            fleet TEXT NOT NULL, version TEXT NOT NULL, manifest BLOB NOT NULL, PRIMARY KEY (fleet, version));
        CREATE TABLE IF NOT EXISTS resources (
            hash TEXT NOT NULL, name TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY (hash, name)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS fleet_heads (
            fleet TEXT PRIMARY KEY, mesh TEXT NOT NULL, service TEXT NOT NULL,
            sequence INTEGER NOT NULL, version TEXT NOT NULL, committed_at TEXT NOT NULL,
            compiled_generation TEXT NOT NULL, compiled_revision INTEGER NOT NULL);
        """;

    private readonly string _connectionString;

    private SqliteDatabase(string connectionString) => _connectionString = connectionString;

    /// <summary>Opens (creating if needed) the store in the file at <paramref name="path"/>, with a store for every port.</summary>
    public static MeshStore Open(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        var database = new SqliteDatabase(new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = 30 }.ToString());
        using (var connection = database.Connect())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = Schema;
            command.ExecuteNonQuery();
            AddMissingColumns(connection);
        }
        return new MeshStore(new SqliteEndpointStore(database), new SqliteDesiredStateStore(database), new SqliteSnapshotStore(database), new SqliteProxyStatusStore(database));
    }

    /// <summary>Columns added after a table was first created: a store file from an older release gains them.</summary>
    private static void AddMissingColumns(SqliteConnection connection)
    {
        using var columns = Command(connection, "SELECT count(*) FROM pragma_table_info('proxy_polls') WHERE name = 'rejection_reason'");
        if (Convert.ToInt64(columns.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) > 0) return;
        using var alter = Command(connection, "ALTER TABLE proxy_polls ADD COLUMN rejection_reason TEXT");
        alter.ExecuteNonQuery();
    }

    public SqliteConnection Connect()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        // In WAL mode NORMAL cannot corrupt the file; a power cut may lose the last commits, which the
        // embedded store (one machine, local runs) accepts for an fsync less per commit.
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA synchronous = NORMAL";
        pragma.ExecuteNonQuery();
        return connection;
    }

    public static SqliteCommand Command(SqliteConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }
}
