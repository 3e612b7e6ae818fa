using System.Runtime.CompilerServices;
using Envoy.Api;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Mesh.Core.Model;

namespace Mesh.XdsServer;

/// <summary>
/// A snapshot's resources as the protobuf Anys ADS sends: parsed once per resource (streams of a fleet share them),
/// with the config sources a REST-polling proxy needs turned into ADS ones: a cluster's EDS and a listener's RDS
/// come over the same stream. Resources compiled for ADS already (proxyless gRPC fleets) pass unchanged.
/// </summary>
public static class EnvoyAny
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithTypeRegistry(EnvoyTypes.Registry).WithIgnoreUnknownFields(false));
    private static readonly ConditionalWeakTable<XdsResource, Any> Parsed = new();

    public static Any Of(XdsResource resource) => Parsed.GetValue(resource, Convert);

    private static Any Convert(XdsResource resource)
    {
        var any = Parser.Parse<Any>(System.Text.Encoding.UTF8.GetString(resource.Json.Span));
        if (any.Is(Cluster.Descriptor))
        {
            var cluster = any.Unpack<Cluster>();
            if (cluster.EdsClusterConfig?.EdsConfig is { } eds && ToAds(eds)) return Any.Pack(cluster);
        }
        else if (any.Is(Listener.Descriptor))
        {
            var listener = any.Unpack<Listener>();
            var chains = listener.FilterChains.AsEnumerable();
            if (listener.DefaultFilterChain is { } fallback) chains = chains.Append(fallback);
            var changed = false;
            foreach (var filter in chains.SelectMany(c => c.Filters).Where(f => f.TypedConfig?.Is(HttpConnectionManager.Descriptor) == true))
            {
                var manager = filter.TypedConfig.Unpack<HttpConnectionManager>();
                if (manager.Rds?.ConfigSource is not { } source || !ToAds(source)) continue;
                filter.TypedConfig = Any.Pack(manager);
                changed = true;
            }
            if (changed) return Any.Pack(listener);
        }
        return any;
    }

    /// <summary>Turns a REST config source into ADS, keeping its timeouts; false when it is not REST.</summary>
    private static bool ToAds(ConfigSource source)
    {
        if (source.ConfigSourceSpecifierCase != ConfigSource.ConfigSourceSpecifierOneofCase.ApiConfigSource) return false;
        source.Ads = new AggregatedConfigSource();
        return true;
    }
}
