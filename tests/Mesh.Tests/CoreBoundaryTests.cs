namespace Mesh.Tests;

public class CoreBoundaryTests
{
    [Fact]
    public void The_core_references_no_aws_sdk_no_aspnet_and_no_http_client()
    {
        var references = typeof(Mesh.Core.Compile.FleetCompiler).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.DoesNotContain(references, r => r.StartsWith("AWSSDK", StringComparison.Ordinal));
        Assert.DoesNotContain(references, r => r.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        Assert.DoesNotContain(references, r => r == "System.Net.Http");
        Assert.DoesNotContain(references, r => r.StartsWith("Microsoft.Data", StringComparison.Ordinal));
    }

    [Fact]
    public void Contracts_depend_on_the_core_and_never_the_reverse()
    {
        var core = typeof(Mesh.Core.Compile.FleetCompiler).Assembly.GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.DoesNotContain("Mesh.Contracts", core);
        Assert.Contains("Mesh.Core", typeof(Mesh.Contracts.Events.EventMapper).Assembly.GetReferencedAssemblies().Select(a => a.Name));
    }
}
