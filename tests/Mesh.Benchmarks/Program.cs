using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using Mesh.Benchmarks;

// whole [AOT_API_BINARY]   the whole-process figures, printed as a table
// micro                    BenchmarkDotNet: full compile vs serialize-only
// load URL BODY S C        the second process of the load figures
return args.FirstOrDefault() switch
{
    "load" => await LoadDriver.RunAsync(args[1..]),
    "micro" => Micro(),
    _ => await Whole(args.Length > 1 ? args[1] : null),
};

static int Micro()
{
    var config = DefaultConfig.Instance.AddJob(Job.Default.WithWarmupCount(2).WithIterationCount(10).AsDefault());
    BenchmarkRunner.Run<CompileBenchmarks>(config);
    return 0;
}

static async Task<int> Whole(string? aotApiBinary)
{
    await new WholeRun(Console.Out).RunAsync(aotApiBinary);
    return 0;
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, object>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>[]))]
[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, object>[]))]
[System.Text.Json.Serialization.JsonSerializable(typeof(string[]))]
[System.Text.Json.Serialization.JsonSerializable(typeof(int))]
internal sealed partial class BenchJson : System.Text.Json.Serialization.JsonSerializerContext;
