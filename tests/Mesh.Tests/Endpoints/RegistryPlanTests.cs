using Mesh.Core.Pipeline;
using Mesh.Core.Ports;

namespace Mesh.Tests.Endpoints;

public class RegistryPlanTests
{
    private static RegistryInstance Ours(string id, string address) =>
        new(id, new Dictionary<string, string> { ["AWS_INSTANCE_IPV4"] = address, [RegistryInstances.SourceAttribute] = "ecs-task:prod/" + id });

    [Fact]
    public void Registers_what_is_missing_or_changed_and_deregisters_only_its_own_instances_that_are_gone()
    {
        var foreign = new RegistryInstance("registered-by-ecs", new Dictionary<string, string> { ["AWS_INSTANCE_IPV4"] = "10.0.0.9" });
        var plan = RegistryPlan.Between(
            desired: [Ours("a", "10.0.0.1"), Ours("b", "10.0.0.2"), Ours("c", "10.0.0.3")],
            registered: [Ours("a", "10.0.0.1"), Ours("b", "10.0.0.22"), Ours("gone", "10.0.0.4"), foreign]);

        Assert.Equal(["b", "c"], plan.Register.Select(i => i.Id));
        Assert.Equal(["gone"], plan.Deregister);
    }

    [Fact]
    public void A_registry_that_already_agrees_needs_nothing()
    {
        IReadOnlyList<RegistryInstance> instances = [Ours("a", "10.0.0.1"), Ours("b", "10.0.0.2")];
        Assert.True(RegistryPlan.Between(instances, [.. instances.Reverse()]).IsEmpty);
    }
}
