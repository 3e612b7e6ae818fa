using System.Buffers;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Mesh.Core.Compile;
using Mesh.Core.Model;
using Mesh.Core.Snapshots;

namespace Mesh.Benchmarks;

/// <summary>
/// Figure 1 (full compile of every fleet of the default mesh, as the publisher compiles it: each backend's
/// resources once) and figure 6 (compile over merely writing the
/// same bytes: every resource re-emitted through the same Utf8JsonWriter from an already parsed document, and hashed).
/// </summary>
[MemoryDiagnoser]
public class CompileBenchmarks
{
    private IReadOnlyList<FleetInputs> _inputs = [];
    private List<JsonDocument> _documents = [];
    private readonly XdsSettings _settings = new();

    [GlobalSetup]
    public void Setup()
    {
        _inputs = new SyntheticMesh().AllInputs();
        _documents = [.. _inputs.SelectMany(i => ((Compiled)FleetCompiler.Compile(i, _settings)).Snapshot.Sets)
            .SelectMany(s => s.Resources).Select(r => JsonDocument.Parse(r.Json))];
    }

    [Benchmark]
    public long FullCompile()
    {
        long bytes = 0;
        var memory = new CompileMemory();
        foreach (var inputs in _inputs) bytes += ((Compiled)FleetCompiler.Compile(inputs, _settings, memory)).Snapshot.TotalBytes;
        return bytes;
    }

    [Benchmark(Baseline = true)]
    public long SerializeOnly()
    {
        long bytes = 0;
        var buffer = new ArrayBufferWriter<byte>(4096);
        using var writer = new Utf8JsonWriter(buffer);
        foreach (var document in _documents)
        {
            buffer.ResetWrittenCount();
            writer.Reset(buffer);
            document.WriteTo(writer);
            writer.Flush();
            var json = buffer.WrittenSpan.ToArray();
            bytes += json.Length + ContentHash.Of(json).Length;
        }
        return bytes;
    }
}
