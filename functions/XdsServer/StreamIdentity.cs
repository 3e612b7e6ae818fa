using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;
using Envoy.Config.Core.V3;
using Grpc.Core;
using Mesh.Core.Serving;

namespace Mesh.XdsServer;

/// <summary>What a stream presents to prove its fleet: the URI SAN of its client certificate, and the fleet token in its node's metadata.</summary>
public static class StreamIdentity
{
    public static IReadOnlyList<ProxyCredential> Of(ServerCallContext context, Node node)
    {
        var credentials = new List<ProxyCredential>();
        if (context.GetHttpContext().Connection.ClientCertificate is { } certificate)
            credentials.AddRange(UriSans(certificate).Where(u => u.StartsWith("spiffe://", StringComparison.Ordinal)).Select(u => new SpiffeId(u)));
        if (node.Metadata?.Fields.TryGetValue(FleetTokens.MetadataKey, out var token) == true && token.StringValue is { Length: > 0 } value)
            credentials.Add(new FleetToken(value));
        return credentials;
    }

    /// <summary>The certificate's URI SANs (GeneralName [6] IA5String), which .NET does not enumerate itself.</summary>
    internal static IEnumerable<string> UriSans(X509Certificate2 certificate)
    {
        var uriTag = new Asn1Tag(TagClass.ContextSpecific, 6);
        foreach (var san in certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>())
        {
            var names = new AsnReader(san.RawData, AsnEncodingRules.DER).ReadSequence();
            while (names.HasData)
            {
                if (names.PeekTag().HasSameClassAndValue(uriTag)) yield return names.ReadCharacterString(UniversalTagNumber.IA5String, uriTag);
                else names.ReadEncodedValue();
            }
        }
    }
}
