using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Core.Model;

namespace Mesh.Tests.Support;

/// <summary>A raw ADS stream over a real gRPC channel on loopback, as a proxy would hold it: requests written, responses read one by one.</summary>
public sealed class AdsClient : IAsyncDisposable
{
    private readonly GrpcChannel _channel;

    public AdsClient(Uri address) => _channel = GrpcChannel.ForAddress(address);

    public AggregatedDiscoveryService.AggregatedDiscoveryServiceClient Service => new(_channel);

    public static Node Node(string id, string fleet, string? token = null)
    {
        var node = new Node { Id = id, Cluster = fleet };
        if (token is not null) node.Metadata = new Struct { Fields = { ["mesh_fleet_token"] = Value.ForString(token) } };
        return node;
    }

    public static DiscoveryRequest Request(XdsType type, Node? node = null, string version = "", string nonce = "", string? error = null, params string[] names)
    {
        var request = new DiscoveryRequest { TypeUrl = type.TypeUrl(), VersionInfo = version, ResponseNonce = nonce, Node = node };
        request.ResourceNames.AddRange(names);
        if (error is not null) request.ErrorDetail = new Google.Rpc.Status { Code = 3, Message = error };
        return request;
    }

    /// <summary>
    /// Reads a response stream with a wait per read. A read is not cancelled when the wait ends (cancelling one would end
    /// the whole call): it stays pending, and the next read takes it over.
    /// </summary>
    public sealed class Reader<T>(IAsyncStreamReader<T> responses) where T : class
    {
        private Task<bool>? _pending;

        /// <summary>The next response, or null when none comes within <paramref name="wait"/>.</summary>
        public async Task<T?> NextAsync(TimeSpan wait)
        {
            _pending ??= responses.MoveNext(CancellationToken.None);
            if (await Task.WhenAny(_pending, Task.Delay(wait)) != _pending) return null;
            var more = await _pending;
            _pending = null;
            return more ? responses.Current : null;
        }
    }

    public ValueTask DisposeAsync()
    {
        _channel.Dispose();
        return ValueTask.CompletedTask;
    }
}
