using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Mesh.Core.Ports;

namespace Mesh.Adapters.Aws;

/// <summary>
/// The service registry on AWS Cloud Map, in one namespace. Services are found by name (ListServices) and created on
/// first registration as API-only services (Type HTTP: no DNS records); their ids are kept for the process's life.
/// </summary>
public sealed class CloudMapRegistry(AwsJsonClient client, string namespaceId) : IServiceRegistry
{
    private const int PageSize = 100;
    private readonly ConcurrentDictionary<string, string> _serviceIds = new(StringComparer.Ordinal);

    public async Task<IReadOnlyList<RegistryInstance>> ListInstancesAsync(string service, CancellationToken cancellationToken)
    {
        if (await FindServiceIdAsync(service, cancellationToken) is not { } serviceId) return [];
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
        var serviceId = await FindServiceIdAsync(service, cancellationToken) ?? await CreateServiceAsync(service, cancellationToken);
        // The same registration retried carries the same CreatorRequestId, so Cloud Map runs it once; new attributes make a new id.
        var requestId = RequestId("register", [serviceId, instance.Id, .. instance.Attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}={a.Value}")]);
        await client.CallAsync("RegisterInstance", new RegisterInstanceRequest(serviceId, instance.Id, requestId, instance.Attributes),
            AwsJson.Default.RegisterInstanceRequest, AwsJson.Default.OperationResponse, cancellationToken);
    }

    public async Task DeregisterAsync(string service, string instanceId, CancellationToken cancellationToken)
    {
        if (await FindServiceIdAsync(service, cancellationToken) is not { } serviceId) return;
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

    private async Task<string?> FindServiceIdAsync(string service, CancellationToken cancellationToken)
    {
        if (_serviceIds.TryGetValue(service, out var known)) return known;
        string? next = null;
        do
        {
            var page = await client.CallAsync("ListServices",
                new ListServicesRequest([new ServiceFilter("NAMESPACE_ID", [namespaceId], "EQ")], PageSize, next),
                AwsJson.Default.ListServicesRequest, AwsJson.Default.ListServicesResponse, cancellationToken);
            foreach (var summary in page.Services ?? []) _serviceIds[summary.Name] = summary.Id;
            next = page.NextToken;
        } while (next is not null);
        return _serviceIds.GetValueOrDefault(service);
    }

    private async Task<string> CreateServiceAsync(string service, CancellationToken cancellationToken)
    {
        try
        {
            var created = await client.CallAsync("CreateService",
                new CreateServiceRequest(service, namespaceId, RequestId("create", [namespaceId, service]), "HTTP", "Endpoints of mesh service " + service + ", kept by Mesh Pipeline"),
                AwsJson.Default.CreateServiceRequest, AwsJson.Default.CreateServiceResponse, cancellationToken);
            var id = created.Service?.Id ?? throw new AwsCallException($"Cloud Map CreateService for {service} returned no service id", null, null);
            return _serviceIds[service] = id;
        }
        catch (AwsCallException e) when (e.ErrorCode == "ServiceAlreadyExists")
        {
            // Another function instance created it first.
            _serviceIds.TryRemove(service, out _);
            return await FindServiceIdAsync(service, cancellationToken)
                ?? throw new AwsCallException($"Cloud Map says {service} exists, but it is not in namespace {namespaceId}", e.Status, e.ErrorCode, e);
        }
    }

    /// <summary>At most 64 characters, as Cloud Map requires, and the same for the same request.</summary>
    private static string RequestId(string operation, IEnumerable<string> parts) =>
        $"{operation}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', parts))))[..40]}";
}
