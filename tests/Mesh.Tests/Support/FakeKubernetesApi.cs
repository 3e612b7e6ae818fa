using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Mesh.Tests.Support;

/// <summary>
/// A Kubernetes API server on loopback that serves what a test scripted: lists of EndpointSlices and pods, watch
/// streams (each a script writing event lines, then closing, dropping the connection mid-line, or holding it open),
/// pods by name, and a Lease that leader election can create and renew with resourceVersion conflicts.
/// </summary>
public sealed class FakeKubernetesApi : IAsyncDisposable
{
    /// <summary>A watch stream's script: writes lines with <see cref="WatchStream.SendAsync"/>; returning ends the stream.</summary>
    public delegate Task WatchScript(WatchStream stream);

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Func<string?>>> _lists = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<WatchScript>> _watches = new(StringComparer.Ordinal);
    private readonly object _leaseLock = new();
    private JsonObject? _lease;
    private int _leaseVersion;

    public ConcurrentDictionary<string, JsonObject> Pods { get; } = new(StringComparer.Ordinal);

    /// <summary>Every request, as "METHOD path?query".</summary>
    public IReadOnlyList<string> Requests => [.. _requests];

    public string Url => _app.Urls.First();

    private FakeKubernetesApi(WebApplication app) => _app = app;

    public static async Task<FakeKubernetesApi> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeKubernetesApi(app);
        app.Run(fake.HandleAsync);
        await app.StartAsync();
        return fake;
    }

    /// <summary>The next list of a collection path answers this (lists past the last scripted repeat it); null: a 500.</summary>
    public void List(string path, Func<string?> body) => _lists.GetOrAdd(path, _ => new()).Enqueue(body);

    /// <summary>The next watch of a collection path runs this script; with none left, a watch is held open.</summary>
    public void Watch(string path, WatchScript script) => _watches.GetOrAdd(path, _ => new()).Enqueue(script);

    public int WatchesOf(string path) => _requests.Count(r => r.StartsWith($"GET {path}?", StringComparison.Ordinal) && r.Contains("watch=true", StringComparison.Ordinal));

    public string? LeaseHolder
    {
        get
        {
            lock (_leaseLock) return (string?)_lease?["spec"]?["holderIdentity"];
        }
    }

    private async Task HandleAsync(HttpContext http)
    {
        var path = http.Request.Path.Value!;
        _requests.Enqueue($"{http.Request.Method} {path}{http.Request.QueryString}");
        if (path.StartsWith("/apis/coordination.k8s.io/v1/", StringComparison.Ordinal))
        {
            await LeaseAsync(http);
            return;
        }
        if (http.Request.Query["watch"] == "true")
        {
            var script = _watches.TryGetValue(path, out var queue) && queue.TryDequeue(out var next) ? next : HoldOpen;
            http.Response.ContentType = "application/json";
            await http.Response.StartAsync();
            await script(new WatchStream(http));
            return;
        }
        if (_lists.TryGetValue(path, out var lists) && lists.TryPeek(out var list))
        {
            if (lists.Count > 1) lists.TryDequeue(out _);
            await (list() is { } body ? Json(http, 200, body) : Json(http, 500, Status(500, "InternalError", "etcd is unavailable")));
            return;
        }
        if (path.StartsWith("/api/v1/namespaces/", StringComparison.Ordinal) && path.Split('/') is [_, _, _, _, var ns, "pods", var name]
            && Pods.TryGetValue($"{ns}/{name}", out var pod))
        {
            await Json(http, 200, pod.ToJsonString());
            return;
        }
        await Json(http, 404, Status(404, "NotFound", $"{path} not found"));
    }

    private static async Task HoldOpen(WatchStream stream)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, stream.Aborted);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task LeaseAsync(HttpContext http)
    {
        var body = http.Request.ContentLength > 0 || http.Request.Method is "POST" or "PUT"
            ? JsonNode.Parse(await new StreamReader(http.Request.Body).ReadToEndAsync())!.AsObject()
            : null;
        int status;
        string answer;
        lock (_leaseLock)
        {
            var stale = http.Request.Method == "PUT" && (string?)body!["metadata"]?["resourceVersion"] != $"{_leaseVersion}";
            (status, answer) = http.Request.Method switch
            {
                "GET" => _lease is null ? (404, Status(404, "NotFound", "leases not found")) : (200, _lease.ToJsonString()),
                "POST" => _lease is not null ? (409, Status(409, "AlreadyExists", "lease exists")) : Store(body!),
                "PUT" => stale ? (409, Status(409, "Conflict", "the object has been modified")) : Store(body!),
                _ => (405, Status(405, "MethodNotAllowed", "not supported")),
            };
        }
        await Json(http, status, answer);

        (int, string) Store(JsonObject lease)
        {
            lease["metadata"]!["resourceVersion"] = $"{++_leaseVersion}";
            _lease = lease;
            return (http.Request.Method == "POST" ? 201 : 200, lease.ToJsonString());
        }
    }

    public static string Status(int code, string reason, string message) =>
        new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = "Failure", ["message"] = message, ["reason"] = reason, ["code"] = code }.ToJsonString();

    private static async Task Json(HttpContext http, int status, string body)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(body);
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    /// <summary>One watch response: event lines, flushed as they are written.</summary>
    public sealed class WatchStream(HttpContext http)
    {
        public CancellationToken Aborted => http.RequestAborted;

        public async Task SendAsync(string type, JsonNode item)
        {
            await http.Response.WriteAsync(new JsonObject { ["type"] = type, ["object"] = item.DeepClone() }.ToJsonString() + "\n", Aborted);
            await http.Response.Body.FlushAsync(Aborted);
        }

        /// <summary>The API server's answer to a watch from a version it no longer has.</summary>
        public Task GoneAsync() => SendAsync("ERROR", JsonNode.Parse(Status(410, "Expired", "too old resource version"))!);

        /// <summary>The stream ends in the middle of an event: half a line, then the end of the response.</summary>
        public async Task DropAsync()
        {
            await http.Response.WriteAsync("{\"type\":\"MODIFIED\",\"object\":{\"kind\":", Aborted);
            await http.Response.Body.FlushAsync(Aborted);
        }

        public Task BookmarkAsync(string kind, string resourceVersion) =>
            SendAsync("BOOKMARK", new JsonObject { ["kind"] = kind, ["apiVersion"] = kind == "Pod" ? "v1" : "discovery.k8s.io/v1", ["metadata"] = new JsonObject { ["resourceVersion"] = resourceVersion } });
    }

    public static string ListOf(string kind, string resourceVersion, params JsonNode[] items) => new JsonObject
    {
        ["kind"] = kind, ["apiVersion"] = kind == "PodList" ? "v1" : "discovery.k8s.io/v1",
        ["metadata"] = new JsonObject { ["resourceVersion"] = resourceVersion },
        ["items"] = new JsonArray([.. items.Select(i => i.DeepClone())]),
    }.ToJsonString();

    /// <summary>An EndpointSlice of a Service, its endpoints (address, pod, ready) behind one named port.</summary>
    public static JsonObject Slice(string ns, string name, string uid, string service, long generation, string resourceVersion, string portName, int port,
        params (string Address, string Pod, bool Ready)[] endpoints) => new()
    {
        ["kind"] = "EndpointSlice", ["apiVersion"] = "discovery.k8s.io/v1",
        ["metadata"] = new JsonObject
        {
            ["name"] = name, ["namespace"] = ns, ["uid"] = uid, ["generation"] = generation, ["resourceVersion"] = resourceVersion,
            ["labels"] = new JsonObject { ["kubernetes.io/service-name"] = service },
        },
        ["addressType"] = "IPv4",
        ["ports"] = new JsonArray(new JsonObject { ["name"] = portName, ["port"] = port, ["protocol"] = "TCP" }),
        ["endpoints"] = new JsonArray([.. endpoints.Select(e => (JsonNode)new JsonObject
        {
            ["addresses"] = new JsonArray(e.Address),
            ["conditions"] = new JsonObject { ["ready"] = e.Ready },
            ["zone"] = "eu-west-1a",
            ["targetRef"] = new JsonObject { ["kind"] = "Pod", ["namespace"] = ns, ["name"] = e.Pod, ["uid"] = $"uid-{e.Pod}" },
        })]),
    };

    public static JsonObject Pod(string ns, string name, string version, string resourceVersion) => new()
    {
        ["kind"] = "Pod", ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject
        {
            ["name"] = name, ["namespace"] = ns, ["uid"] = $"uid-{name}", ["resourceVersion"] = resourceVersion,
            ["labels"] = new JsonObject { ["app"] = "inventory-api", ["version"] = version },
        },
    };
}
