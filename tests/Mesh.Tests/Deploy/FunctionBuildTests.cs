using System.Diagnostics;
using System.Net;
using System.Text;
using Mesh.Tests.Support;

namespace Mesh.Tests.Deploy;

/// <summary>
/// What `sam build` does for each function: `make build-&lt;Function&gt;` with ARTIFACTS_DIR set, a Native AOT publish.
/// The artifact must be one executable named bootstrap, built without trimming or AOT warnings, that serves when
/// configured as template.yaml configures it (on DynamoDB, here DynamoDB Local).
/// </summary>
[Collection(DynamoDbCollection.Name)]
public class FunctionBuildTests(DynamoDbLocal dynamoDb)
{
    [Theory]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    [InlineData("IngestFunction", "/events")]
    [InlineData("ApiFunction", "/v3/discovery:clusters")]
    public async Task The_makefile_target_builds_an_executable_bootstrap_that_serves(string function, string route)
    {
        var artifacts = Directory.CreateTempSubdirectory("sam-artifacts-").FullName;
        try
        {
            var (exitCode, output) = await ChildProcess.RunAsync("make", [$"build-{function}", $"ARTIFACTS_DIR={artifacts}"], Repo.Root);
            Assert.True(exitCode == 0, output);
            Assert.DoesNotMatch(@"warning (IL\d+|AOT)", output);

            var file = Assert.Single(Directory.EnumerateFileSystemEntries(artifacts));
            Assert.Equal("bootstrap", Path.GetFileName(file));
            Assert.True(File.GetUnixFileMode(file).HasFlag(UnixFileMode.UserExecute));
            Assert.Equal("\u007fELF"u8.ToArray(), File.ReadAllBytes(file)[..4]);

            await ServeOnceAsync(file, artifacts, route);
        }
        finally
        {
            Directory.Delete(artifacts, recursive: true);
        }
    }

    /// <summary>Starts the binary as the Lambda Web Adapter would find it (on a port, from ASPNETCORE_URLS) and sends it one request.</summary>
    private async Task ServeOnceAsync(string bootstrap, string directory, string route)
    {
        var port = DynamoDbLocal.FreePort();
        var start = new ProcessStartInfo(bootstrap) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = directory };
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        // Lambda sets it; in Lambda only the Web Adapter reaches /events, so it needs no token there.
        start.Environment["AWS_LAMBDA_FUNCTION_NAME"] = Path.GetFileName(directory);
        start.Environment["Store__DynamoDb__TableName"] = $"build-{Guid.NewGuid():N}";
        start.Environment["Store__DynamoDb__ServiceUrl"] = dynamoDb.ServiceUrl.ToString();
        using var process = new Process { StartInfo = start };
        // Drained as it comes: a full pipe would block the server's logging, and with it the server.
        var log = new StringBuilder();
        process.OutputDataReceived += (_, line) => { lock (log) log.AppendLine(line.Data); };
        process.ErrorDataReceived += (_, line) => { lock (log) log.AppendLine(line.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
            await WaitHealthyAsync(http, process, log);
            using var response = route == "/events"
                ? await http.PostAsync(route, new StringContent(Repo.Samples.Samples[0].Event.GetRawText(), Encoding.UTF8, "application/json"))
                : await http.PostAsync(route, new StringContent("""{"node":{"id":"p1","cluster":"shop/storefront"},"version_info":""}""", Encoding.UTF8, "application/json"));
            var body = await response.Content.ReadAsStringAsync();
            // Ingest answers a partial batch response; the Api a problem for a fleet it has never compiled (an empty store).
            if (route == "/events") Assert.Equal((HttpStatusCode.OK, """{"batchItemFailures":[]}"""), (response.StatusCode, body));
            else Assert.Equal((HttpStatusCode.NotFound, "application/problem+json"), (response.StatusCode, response.Content.Headers.ContentType?.MediaType));
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    private static async Task WaitHealthyAsync(HttpClient http, Process process, StringBuilder log)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            Assert.False(process.HasExited, "the binary exited: " + log);
            try
            {
                if ((await http.GetAsync("/healthz")).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                // Not listening yet.
            }
            Assert.True(DateTime.UtcNow < deadline, "no answer on /healthz within 30 s");
            await Task.Delay(50);
        }
    }
}
