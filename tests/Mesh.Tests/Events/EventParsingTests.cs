using System.Text.Json.Nodes;
using Mesh.Contracts.Events;
using Mesh.Core.Model;
using Mesh.Tests.Support;

namespace Mesh.Tests.Events;

public class EventParsingTests
{
    private static readonly EventMapper Mapper = SampleEvents.Mapper(Repo.Samples);

    private static JsonObject SharedEvent(string name) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Repo.SharedEvents, name)))!.AsObject();

    private static EndpointEvent MapEndpoints(JsonNode node) =>
        Assert.IsType<EndpointEvent>(Mapper.Map(node.ToJsonString()));

    [Fact]
    public void Every_sample_message_parses_and_only_the_poison_message_is_malformed()
    {
        var mapped = SampleEvents.Bodies(Repo.Samples).Select(b => (b.Sample, Event: Mapper.Map(b.Body))).ToList();
        var malformed = mapped.Where(m => m.Event is MalformedEvent).Select(m => m.Sample).ToList();
        Assert.Equal(["16-unhandled-type-and-poison-message"], malformed);
        Assert.Equal(17, mapped.Count(m => m.Event is EndpointEvent));
        Assert.Equal(2, mapped.Count(m => m.Event is AcknowledgedEvent));
    }

    [Fact]
    public void A_running_awsvpc_task_yields_one_endpoint_from_its_eni_with_zone_revision_and_health()
    {
        var mapped = MapEndpoints(SharedEvent("ecs-task-running.json"));
        var observation = mapped.Observation;
        Assert.Equal("ecs-task:payments-prod/8f2c4d61a9b34e0c9d7e15aa03b6c2f4", observation.SourceId);
        Assert.Equal(WorkloadKey.Ecs("payments-prod", "checkout-api"), observation.Workload);
        Assert.Equal(4, observation.Version);
        Assert.False(observation.Terminal);
        var endpoint = Assert.Single(observation.Endpoints);
        Assert.Equal("8f2c4d61a9b34e0c9d7e15aa03b6c2f4", endpoint.Id);
        Assert.Equal("10.42.17.83", endpoint.Address);
        Assert.Empty(endpoint.Ports);
        Assert.Equal("eu-west-1", endpoint.Region);
        Assert.Equal("eu-west-1b", endpoint.Zone);
        Assert.Equal("57", endpoint.Version);
        Assert.Equal(EndpointHealth.Healthy, endpoint.Health);
    }

    [Fact]
    public void A_stopped_task_is_terminal_and_carries_no_endpoint()
    {
        var observation = MapEndpoints(SharedEvent("ecs-task-stopped.json")).Observation;
        Assert.True(observation.Terminal);
        Assert.Equal(8, observation.Version);
        Assert.Empty(observation.Endpoints);
    }

    [Fact]
    public void A_running_task_told_to_stop_is_draining()
    {
        var json = SharedEvent("ecs-task-running.json");
        json["detail"]!["desiredStatus"] = "STOPPED";
        Assert.Equal(EndpointHealth.Draining, Assert.Single(MapEndpoints(json).Observation.Endpoints).Health);
    }

    [Theory]
    [InlineData("PENDING", "UNKNOWN", EndpointHealth.Unhealthy)]
    [InlineData("ACTIVATING", "UNKNOWN", EndpointHealth.Unhealthy)]
    [InlineData("RUNNING", "UNHEALTHY", EndpointHealth.Unhealthy)]
    [InlineData("RUNNING", "UNKNOWN", EndpointHealth.Unknown)]
    [InlineData("DEACTIVATING", "HEALTHY", EndpointHealth.Draining)]
    [InlineData("STOPPING", "HEALTHY", EndpointHealth.Draining)]
    public void Task_status_and_health_map_to_endpoint_health(string lastStatus, string healthStatus, EndpointHealth expected)
    {
        var json = SharedEvent("ecs-task-running.json");
        json["detail"]!["lastStatus"] = lastStatus;
        json["detail"]!["healthStatus"] = healthStatus;
        Assert.Equal(expected, Assert.Single(MapEndpoints(json).Observation.Endpoints).Health);
    }

    [Fact]
    public void Unknown_fields_anywhere_are_ignored()
    {
        var json = SharedEvent("ecs-task-running.json");
        json["futureTopLevel"] = new JsonObject { ["x"] = 1 };
        json["detail"]!["someNewEcsField"] = new JsonArray(1, 2, 3);
        json["detail"]!["containers"]![0]!["gpuIds"] = new JsonArray("0");
        Assert.Equal("10.42.17.83", Assert.Single(MapEndpoints(json).Observation.Endpoints).Address);
    }

    [Fact]
    public void Missing_optional_fields_still_give_an_endpoint()
    {
        var json = SharedEvent("ecs-task-running.json");
        var detail = json["detail"]!.AsObject();
        foreach (var optional in new[] { "availabilityZone", "healthStatus", "taskDefinitionArn", "attributes", "connectivity", "startedAt" })
            detail.Remove(optional);
        var endpoint = Assert.Single(MapEndpoints(json).Observation.Endpoints);
        Assert.Equal("", endpoint.Zone);
        Assert.Equal("", endpoint.Version);
        Assert.Equal(EndpointHealth.Unknown, endpoint.Health);
    }

    [Fact]
    public void The_address_comes_from_container_network_interfaces_when_the_eni_attachment_lacks_it()
    {
        var json = SharedEvent("ecs-task-running.json");
        json["detail"]!.AsObject().Remove("attachments");
        json["detail"]!["containers"]![0]!["networkInterfaces"]![0]!["privateIpv4Address"] = "10.42.99.1";
        Assert.Equal("10.42.99.1", Assert.Single(MapEndpoints(json).Observation.Endpoints).Address);
    }

    [Fact]
    public void Both_casings_of_the_private_address_are_read()
    {
        var attachmentCasing = SharedEvent("ecs-task-running.json");
        attachmentCasing["detail"]!["attachments"]![0]!["details"]![4]!["name"] = "privateIpv4Address";
        foreach (var container in attachmentCasing["detail"]!["containers"]!.AsArray()) container!.AsObject().Remove("networkInterfaces");
        Assert.Equal("10.42.17.83", Assert.Single(MapEndpoints(attachmentCasing).Observation.Endpoints).Address);

        var containerCasing = SharedEvent("ecs-task-running.json");
        containerCasing["detail"]!.AsObject().Remove("attachments");
        var nic = containerCasing["detail"]!["containers"]![0]!["networkInterfaces"]![0]!.AsObject();
        nic.Remove("privateIpv4Address");
        nic["privateIPv4Address"] = "10.42.17.84";
        Assert.Equal("10.42.17.84", Assert.Single(MapEndpoints(containerCasing).Observation.Endpoints).Address);
    }

    [Fact]
    public void Bridge_mode_tasks_publish_host_ports_on_their_container_instance_address()
    {
        var body = SampleEvents.Bodies(Repo.Samples).Single(b => b.Sample == "04-payments-bridge-task-running").Body;
        var endpoint = Assert.Single(Assert.IsType<EndpointEvent>(Mapper.Map(body)).Observation.Endpoints);
        Assert.Equal("10.42.50.7", endpoint.Address);
        Assert.Equal(new EndpointPort(null, 9000, 32768), Assert.Single(endpoint.Ports));
    }

    [Fact]
    public void A_bridge_mode_binding_on_a_specific_address_uses_that_address()
    {
        var json = JsonNode.Parse(SampleEvents.Bodies(Repo.Samples).Single(b => b.Sample == "04-payments-bridge-task-running").Body)!;
        json["detail"]!.AsObject().Remove("containerInstanceArn");
        json["detail"]!["containers"]![0]!["networkBindings"]![0]!["bindIP"] = "10.42.50.99";
        Assert.Equal("10.42.50.99", Assert.Single(MapEndpoints(json).Observation.Endpoints).Address);
    }

    [Fact]
    public void A_bridge_mode_task_on_an_unknown_instance_is_recorded_without_an_address()
    {
        var json = JsonNode.Parse(SampleEvents.Bodies(Repo.Samples).Single(b => b.Sample == "04-payments-bridge-task-running").Body)!;
        json["detail"]!["containerInstanceArn"] = "arn:aws:ecs:eu-west-1:210987654321:container-instance/payments-prod/unknown";
        Assert.Null(Assert.Single(MapEndpoints(json).Observation.Endpoints).Address);
    }

    [Theory]
    [InlineData("version", "detail.version is missing")]
    [InlineData("taskArn", "detail.taskArn")]
    [InlineData("clusterArn", "detail.clusterArn")]
    [InlineData("lastStatus", "detail.lastStatus")]
    public void A_task_event_without_a_required_field_is_malformed_and_says_which(string field, string reason)
    {
        var json = SharedEvent("ecs-task-running.json");
        json["detail"]!.AsObject().Remove(field);
        Assert.Contains(reason, Assert.IsType<MalformedEvent>(Mapper.Map(json.ToJsonString())).Reason);
    }

    [Fact]
    public void A_field_of_the_wrong_type_is_malformed()
    {
        var json = SharedEvent("ecs-task-running.json");
        json["detail"]!["version"] = new JsonObject();
        Assert.IsType<MalformedEvent>(Mapper.Map(json.ToJsonString()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("{\"detail\":{}}")]
    [InlineData("{\"detail-type\":\"ECS Task State Change\",\"source\":\"aws.ecs\",\"detail\":\"text\"}")]
    public void Bodies_that_are_not_eventbridge_events_are_malformed(string body) =>
        Assert.IsType<MalformedEvent>(Mapper.Map(body));

    [Fact]
    public void A_standalone_task_is_acknowledged_not_failed()
    {
        var json = SharedEvent("ecs-task-running.json");
        json["detail"]!["group"] = "family:batch-job";
        Assert.Contains("not part of a service", Assert.IsType<AcknowledgedEvent>(Mapper.Map(json.ToJsonString())).Reason);
    }

    [Fact]
    public void A_deployment_state_change_is_acknowledged()
    {
        var acknowledged = Assert.IsType<AcknowledgedEvent>(Mapper.Map(SharedEvent("ecs-deployment-completed.json").ToJsonString()));
        Assert.Contains("SERVICE_DEPLOYMENT_COMPLETED", acknowledged.Reason);
    }

    [Fact]
    public void An_endpointslice_yields_every_endpoint_with_conditions_mapped_not_dropped()
    {
        var observation = MapEndpoints(SharedEvent("eks-endpointslice.json")).Observation;
        Assert.Equal("eks-slice:3f6c9a21-8d4e-4b70-a5c2-e19f0d7b6a48", observation.SourceId);
        Assert.Equal(WorkloadKey.Eks("orders-prod", "inventory", "inventory-api"), observation.Workload);
        Assert.Equal(19, observation.Version);
        var health = observation.Endpoints.ToDictionary(e => e.Address!, e => e.Health);
        Assert.Equal(EndpointHealth.Healthy, health["10.61.4.27"]);
        Assert.Equal(EndpointHealth.Healthy, health["10.61.22.140"]);
        Assert.Equal(EndpointHealth.Draining, health["10.61.37.58"]);
        Assert.Equal(EndpointHealth.Unhealthy, health["10.61.5.203"]);
        var first = observation.Endpoints.Single(e => e.Address == "10.61.4.27");
        Assert.Equal("0c71e5a9-3b28-4d6f-8e14-a9f2c7b0d365", first.Id);
        Assert.Equal("eu-west-1a", first.Zone);
        Assert.Equal([new EndpointPort("http", null, 8080), new EndpointPort("grpc", null, 9090)], first.Ports.ToArray());
    }

    [Fact]
    public void Pod_labels_give_slice_endpoints_their_version()
    {
        var body = SampleEvents.Bodies(Repo.Samples).Single(b => b.Sample == "06-inventory-slice-b-added").Body;
        Assert.All(Assert.IsType<EndpointEvent>(Mapper.Map(body)).Observation.Endpoints, e => Assert.Equal("v3", e.Version));
    }

    [Fact]
    public void A_deleted_slice_is_terminal_at_its_last_generation()
    {
        var json = SharedEvent("eks-endpointslice.json");
        json["detail"]!["watchEventType"] = "DELETED";
        var observation = MapEndpoints(json).Observation;
        Assert.True(observation.Terminal);
        Assert.Equal(19, observation.Version);
        Assert.Empty(observation.Endpoints);
    }

    [Fact]
    public void A_slice_endpoint_with_unknown_readiness_is_treated_as_ready()
    {
        var json = SharedEvent("eks-endpointslice.json");
        json["detail"]!["endpointSlice"]!["endpoints"]![3]!.AsObject().Remove("conditions");
        Assert.Equal(EndpointHealth.Healthy, MapEndpoints(json).Observation.Endpoints.Single(e => e.Address == "10.61.5.203").Health);
    }

    [Theory]
    [InlineData("uid", "metadata.uid")]
    [InlineData("generation", "metadata.generation")]
    public void A_slice_without_its_identity_or_generation_is_malformed(string field, string reason)
    {
        var json = SharedEvent("eks-endpointslice.json");
        json["detail"]!["endpointSlice"]!["metadata"]!.AsObject().Remove(field);
        Assert.Contains(reason, Assert.IsType<MalformedEvent>(Mapper.Map(json.ToJsonString())).Reason);
    }

    [Fact]
    public void Slices_without_a_service_label_or_with_fqdn_addresses_are_acknowledged()
    {
        var unlabelled = SharedEvent("eks-endpointslice.json");
        unlabelled["detail"]!["endpointSlice"]!["metadata"]!["labels"]!.AsObject().Remove("kubernetes.io/service-name");
        Assert.IsType<AcknowledgedEvent>(Mapper.Map(unlabelled.ToJsonString()));

        var fqdn = SharedEvent("eks-endpointslice.json");
        fqdn["detail"]!["endpointSlice"]!["addressType"] = "FQDN";
        Assert.IsType<AcknowledgedEvent>(Mapper.Map(fqdn.ToJsonString()));

        var bookmark = SharedEvent("eks-endpointslice.json");
        bookmark["detail"]!["watchEventType"] = "BOOKMARK";
        Assert.IsType<AcknowledgedEvent>(Mapper.Map(bookmark.ToJsonString()));
    }

    [Fact]
    public void An_event_type_we_do_not_handle_is_acknowledged()
    {
        var json = SharedEvent("ecs-task-running.json");
        json["detail-type"] = "ECS Container Instance State Change";
        Assert.IsType<AcknowledgedEvent>(Mapper.Map(json.ToJsonString()));
    }
}
