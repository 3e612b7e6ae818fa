using System.Collections.Immutable;

namespace Mesh.Core.Model;

/// <summary>A name this resource depends on: an EDS name of a cluster, an RDS name of a listener, a route's target cluster.</summary>
public readonly record struct ResourceReference(XdsType Type, string Name);

/// <summary>
/// One Envoy resource as canonical proto3 JSON (an Any, "@type" first), with the hash of exactly those bytes.
/// </summary>
public sealed class XdsResource
{
    public XdsResource(string name, ReadOnlyMemory<byte> json, ImmutableArray<ResourceReference> references = default, int? listenPort = null)
    {
        Name = name;
        Json = json;
        Hash = ContentHash.Of(json.Span);
        References = references.IsDefault ? [] : references;
        ListenPort = listenPort;
    }

    public string Name { get; }
    public ReadOnlyMemory<byte> Json { get; }
    public string Hash { get; }
    /// <summary>Known while compiling, for the consistency check; not stored.</summary>
    public ImmutableArray<ResourceReference> References { get; }
    /// <summary>The port a listener binds, which no other listener of the snapshot may bind.</summary>
    public int? ListenPort { get; }
}
