using System.Reflection;
using Google.Protobuf.Reflection;

namespace Envoy.Api;

/// <summary>Every message type generated here, by full name: what a JSON Any's "@type" is resolved against.</summary>
public static class EnvoyTypes
{
    private static readonly Lazy<TypeRegistry> LazyRegistry = new(() => TypeRegistry.FromFiles([.. GeneratedFiles()]));

    public static TypeRegistry Registry => LazyRegistry.Value;

    private static IEnumerable<FileDescriptor> GeneratedFiles() =>
        typeof(EnvoyTypes).Assembly.GetTypes()
            .Where(t => t.IsClass && t.IsAbstract && t.IsSealed && t.Name.EndsWith("Reflection", StringComparison.Ordinal))
            .Select(t => t.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)?.GetValue(null))
            .OfType<FileDescriptor>();
}
