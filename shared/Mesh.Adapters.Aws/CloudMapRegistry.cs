using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Mesh.Core.Ports;

namespace Mesh.Adapters.Aws;

/// <summary>
/// The service registry on AWS Cloud Map, in one namespace. A service's id comes from CreateService: it creates the
/// service (API-only, Type HTTP: no DNS records) or answers ServiceAlreadyExists with the existing id. So the function
/// needs no ListServices, which IAM cannot scope to a namespace. Ids are kept for the process's life.
/// </summary>
public sealed class CloudMapRegistry(AwsJsonClient client, string namespaceId) : IServiceRegistry
{
    private const int PageSize = 100;
    private readonly ConcurrentDictionary<string, string> _serviceIds = new(StringComparer.Ordinal);

    public async Task<IReadOnlyList<RegistryInstance>> ListInstancesAsync(string service, CancellationToken cancellationToken)
    {
        var serviceId = await ServiceIdAsync(service, cancellationToken);
        var instances = new List<RegistryInstance>();
        string? next = null;
        do
        {
            var page = await client.CallAsync("ListInstances", new ListInstancesRequest(serviceId, PageSize, next),
                AwsJson.Default.ListInstancesRequest, AwsJson.Default.ListInstancesResponse, cancellationToken);
            instances.AddRange((page.Instances ?? []).Select(i => new RegistryInstance(i.Id, i.Attributes ?? [])));
            next = page.NextToken;
        } while (next is not null);
        return instances;
    }

    public async Task RegisterAsync(string service, RegistryInstance instance, CancellationToken cancellationToken)
    {
        var serviceId = await ServiceIdAsync(service, cancellationToken);
        // The same registration retried carries the same CreatorRequestId, so Cloud Map runs it once; new attributes make a new id.
        var requestId = RequestId("register", [serviceId, instance.Id, .. instance.Attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}={a.Value}")]);
        await client.CallAsync("RegisterInstance", new RegisterInstanceRequest(serviceId, instance.Id, requestId, instance.Attributes),
            AwsJson.Default.RegisterInstanceRequest, AwsJson.Default.OperationResponse, cancellationToken);
    }

    public async Task DeregisterAsync(string service, string instanceId, CancellationToken cancellationToken)
    {
        var serviceId = await ServiceIdAsync(service, cancellationToken);
        try
        {
            await client.CallAsync("DeregisterInstance", new DeregisterInstanceRequest(serviceId, instanceId),
                AwsJson.Default.DeregisterInstanceRequest, AwsJson.Default.OperationResponse, cancellationToken);
        }
        catch (AwsCallException e) when (e.ErrorCode == "InstanceNotFound")
        {
            // Already gone: deregistering is idempotent.
        }
    }

    private async Task<string> ServiceIdAsync(string service, CancellationToken cancellationToken)
    {
        if (_serviceIds.TryGetValue(service, out var known)) return known;
        try
        {
            var created = await client.CallAsync("CreateService",
                new CreateServiceRequest(service, namespaceId, RequestId("create", [namespaceId, service]), "HTTP", $"Endpoints of mesh service {service}, kept by Mesh Pipeline"),
                AwsJson.Default.CreateServiceRequest, AwsJson.Default.CreateServiceResponse, cancellationToken);
            return _serviceIds[service] = created.Service?.Id ?? throw new AwsCallException($"Cloud Map CreateService for {service} returned no service id", null, null);
        }
        catch (AwsCallException e) when (e.ErrorCode == "ServiceAlreadyExists")
        {
            return _serviceIds[service] = ExistingServiceId(e)
                ?? throw new AwsCallException($"Cloud Map says {service} exists in {namespaceId} but did not say its id", e.Status, e.ErrorCode, e);
        }
    }

    private static string? ExistingServiceId(AwsCallException e)
    {
        try
        {
            using var body = JsonDocument.Parse(e.ErrorBody ?? "");
            return body.RootElement.TryGetProperty("ServiceId", out var id) ? id.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>At most 64 characters, as Cloud Map requires, and the same for the same request.</summary>
    private static string RequestId(string operation, IEnumerable<string> parts) =>
        $"{operation}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', parts))))[..40]}";
}
