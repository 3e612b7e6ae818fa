using Mesh.Core.Model;

namespace Mesh.Core.Editing;

/// <summary>The three resources operators edit per service.</summary>
public enum ServicePart { Service, Routes, Policy }

/// <summary>One edited resource of a change: the service as it was and became (null where it did not exist), and which part of it differs.</summary>
public sealed record EditedResource(string Resource, ServicePart Part, StoredService? Before, StoredService? After);

/// <summary>A change as operators edit it: per resource (service, routes, policy), only those that differ.</summary>
public static class ChangeDiff
{
    public static IEnumerable<EditedResource> Of(ChangeRecord change) => change.Services.SelectMany(Of);

    public static IEnumerable<EditedResource> Of(ServiceChange change)
    {
        foreach (var part in Enum.GetValues<ServicePart>())
        {
            var before = change.Before is null ? null : Content(change.Before, part);
            var after = change.After is null ? null : Content(change.After, part);
            if (before is not null && after is not null && before == after) continue;
            // A new service's empty routes and default policy are not edits of their own.
            if (before is null && after is not null && part != ServicePart.Service && after == Content(new StoredService { Service = new ServiceDefinition() }, part)) continue;
            yield return new EditedResource(Resource(change.Name, part), part, change.Before, change.After);
        }
    }

    public static string Resource(string service, ServicePart part) => part switch
    {
        ServicePart.Routes => MeshValidator.RoutesResource(service),
        ServicePart.Policy => MeshValidator.PolicyResource(service),
        _ => MeshValidator.ServiceResource(service),
    };

    private static string Content(StoredService service, ServicePart part) => part switch
    {
        ServicePart.Routes => ResourceTags.Routes(service.ToDefinition()),
        ServicePart.Policy => ResourceTags.Policy(service.ToDefinition()),
        _ => ResourceTags.Service(service.Service),
    };
}
