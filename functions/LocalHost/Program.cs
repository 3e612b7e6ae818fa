using Mesh.LocalHost;

// The whole pipeline on one machine: a fresh embedded store, the samples' story replayed over HTTP, then serving.
// Options: --samples PATH, --Store:SqlitePath PATH (default .local/mesh.db beside samples.json, recreated), --urls URL, --Xds:AdsListen URL (default http://127.0.0.1:18000), --exit,
// --Auth:Tokens:PRINCIPAL TOKEN (default: a fresh token for local-operator in .local/token).
var samplesPath = OptionValue(args, "--samples") ?? SampleFile.Find(Directory.GetCurrentDirectory())
    ?? throw new FileNotFoundException("samples.json not found from the working directory upwards; pass --samples PATH");
var samples = SampleFile.Load(samplesPath);
var databasePath = OptionValue(args, "--Store:SqlitePath") ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(samplesPath))!, ".local", "mesh.db");
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
foreach (var file in new[] { databasePath, databasePath + "-wal", databasePath + "-shm" }) File.Delete(file);

// Writes need a caller: unless tokens are configured, a fresh one for "local-operator" goes to .local/token.
var tokenPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(databasePath))!, "token");
var token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
var configuredToken = args.Where(a => a.StartsWith("--Auth:Tokens:", StringComparison.Ordinal)).Select(a => OptionValue(args, a)).FirstOrDefault();
var configuresTokens = configuredToken is not null;
if (!configuresTokens)
{
    // Readable by its owner only: it lets anyone who reads it change the mesh.
    File.Delete(tokenPath);
    var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
    if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    await using var file = new FileStream(tokenPath, options);
    await file.WriteAsync(System.Text.Encoding.ASCII.GetBytes(token));
}
var urls = OptionValue(args, "--urls") ?? "http://127.0.0.1:8080";
var adsListen = OptionValue(args, "--Xds:AdsListen") ?? "http://127.0.0.1:18000";
// Proxies prove their fleet with a token the host issues into their bootstraps (an HMAC under a key made per run).
var fleetTokenKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

var settings = LocalPipeline.ContainerInstanceSettings(samples)
    .Append(new("Store:SqlitePath", databasePath))
    .Concat(configuresTokens ? [] : [new KeyValuePair<string, string?>("Auth:Tokens:local-operator", token)])
    .Append(new("urls", urls))
    .Append(new("Xds:AdsListen", adsListen))
    .Append(new("Xds:AdsAddress", adsListen))
    .Append(new("Xds:FleetTokenKey", fleetTokenKey))
    .Append(new("Xds:RequireProxyIdentity", "true"))
    // Bootstraps name this address, never the Host header a request happened to carry.
    .Append(new("Xds:ControlPlaneUrl", urls.Split(';')[0].Replace("://+", "://127.0.0.1", StringComparison.Ordinal).Replace("://*", "://127.0.0.1", StringComparison.Ordinal)));
var app = LocalPipeline.Build([.. args.Where(a => a != "--exit")], settings, Console.Out);
await app.StartAsync();
var address = new Uri(app.Urls.First());
Console.WriteLine($"Mesh Pipeline local host on {address}, ADS (gRPC) on {LocalPipeline.AdsAddress(app)} (store: {Path.GetFullPath(databasePath)})");
if (!configuresTokens) Console.WriteLine($"Writes need: Authorization: Bearer $(cat {tokenPath})  (principal local-operator)");
Console.WriteLine(samples.Story);
Console.WriteLine();

using var http = new HttpClient { BaseAddress = address };
http.DefaultRequestHeaders.Authorization = new("Bearer", configuredToken ?? token);
await new SampleReplay(app, http, Console.Out).RunAsync(samples, app.Lifetime.ApplicationStopping);
if (args.Contains("--exit")) await app.StopAsync();
else await app.WaitForShutdownAsync();

static string? OptionValue(string[] args, string name)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}
