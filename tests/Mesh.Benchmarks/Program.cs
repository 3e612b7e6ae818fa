using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using Mesh.Benchmarks;

// whole [AOT_API_BINARY]   the whole-process figures, printed as a table
// micro                    BenchmarkDotNet: full compile vs serialize-only
// load URL BODY S C        the second process of the load figures
// ads [N ...]              the ADS figures for N streams each (default 1000 and 5000)
// ads-streams ...          the second process of the ADS figures
return args.FirstOrDefault() switch
{
    "load" => await LoadDriver.RunAsync(args[1..]),
    "ads" => await Ads(args.Length > 1 ? [.. args[1..].Select(int.Parse)] : [1000, 5000]),
    "ads-streams" => await AdsStreams.RunAsync(args[1..]),
    "micro" => Micro(),
    _ => await Whole(args.Length > 1 ? args[1] : null),
};

static async Task<int> Ads(int[] streamCounts)
{
    await new AdsRun(Console.Out).RunAsync(streamCounts);
    return 0;
}

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
[System.Text.Json.Serialization.JsonSerializable(typeof(long[]))]
internal sealed partial class BenchJson : System.Text.Json.Serialization.JsonSerializerContext;
