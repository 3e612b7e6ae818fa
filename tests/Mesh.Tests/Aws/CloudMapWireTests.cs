using System.Net;
using System.Text.Json;
using Mesh.Adapters.Aws;
using Mesh.Core.Ports;
using Mesh.Tests.Support;

namespace Mesh.Tests.Aws;

/// <summary>The Cloud Map client against a loopback listener: what goes on the wire, signing, retries, errors.</summary>
public sealed class CloudMapWireTests : IAsyncLifetime
{
    private const string Namespace = "ns-abc123";
    private const string AlreadyExists = """{"__type":"ServiceAlreadyExists","Message":"Service already exists","CreatorRequestId":"earlier","ServiceId":"srv-checkout"}""";
    private LoopbackAws _aws = null!;
    private AwsJsonClient _client = null!;
    private CloudMapRegistry _registry = null!;

    public async Task InitializeAsync()
    {
        _aws = await LoopbackAws.StartAsync();
        _client = _aws.Client(AwsJsonService.CloudMap(LoopbackAws.Region, _aws.Url));
        _registry = new CloudMapRegistry(_client, Namespace);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _aws.DisposeAsync();
    }

    private static RegistryInstance Task1 => new("0a1b2c3d4e5f60718293a4b5c6d7e8f9", new Dictionary<string, string>
    {
        ["AWS_INSTANCE_IPV4"] = "10.0.1.17", ["AWS_INSTANCE_PORT"] = "8080", ["AVAILABILITY_ZONE"] = "eu-west-1a",
        ["MESH_REVISION"] = "58", ["MESH_SOURCE"] = "ecs-task:prod/0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    });

    [Fact]
    public async Task Register_learns_the_existing_service_s_id_from_create_service_then_registers_with_the_documented_body_and_a_valid_signature()
    {
        _aws.Script("CreateService", (400, AlreadyExists));
        await _registry.RegisterAsync("checkout-api.shop", Task1, CancellationToken.None);

        Assert.Equal(["Route53AutoNaming_v20170314.CreateService", "Route53AutoNaming_v20170314.RegisterInstance"], _aws.Requests.Select(r => r.Target));
        Assert.Matches("""^\{"Name":"checkout-api.shop","NamespaceId":"ns-abc123","CreatorRequestId":"create-[0-9a-f]{40}","Type":"HTTP","Description":"[^"]+"\}$""", _aws.Requests[0].Text);
        var register = _aws.Requests[1];
        using var body = JsonDocument.Parse(register.Body);
        Assert.Equal(["ServiceId", "InstanceId", "CreatorRequestId", "Attributes"], body.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal("srv-checkout", body.RootElement.GetProperty("ServiceId").GetString());
        Assert.Equal(Task1.Id, body.RootElement.GetProperty("InstanceId").GetString());
        Assert.InRange(body.RootElement.GetProperty("CreatorRequestId").GetString()!.Length, 1, 64);
        Assert.Equal(Task1.Attributes, body.RootElement.GetProperty("Attributes").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!));
        foreach (var request in _aws.Requests)
        {
            Assert.Equal("POST", request.Method);
            Assert.Equal("application/x-amz-json-1.1", request.Headers["content-type"]);
            var scope = SigV4.Verify(request, LoopbackAws.SecretKey);
            Assert.Matches(@"^\d{8}/eu-west-1/servicediscovery/aws4_request$", scope);
        }
        Assert.StartsWith($"AWS4-HMAC-SHA256 Credential={LoopbackAws.AccessKey}/", register.Headers["authorization"]);
        // The check itself fails on a body or a key other than the ones signed.
        Assert.ThrowsAny<Exception>(() => SigV4.Verify(register with { Body = [.. register.Body, (byte)' '] }, LoopbackAws.SecretKey));
        Assert.ThrowsAny<Exception>(() => SigV4.Verify(register, "another-secret"));
    }

    [Fact]
    public async Task The_same_registration_carries_the_same_request_id_and_new_attributes_a_new_one()
    {
        _aws.Script("CreateService", (400, AlreadyExists));
        await _registry.RegisterAsync("checkout-api.shop", Task1, CancellationToken.None);
        await _registry.RegisterAsync("checkout-api.shop", Task1, CancellationToken.None);
        var moved = Task1 with { Attributes = new Dictionary<string, string>(Task1.Attributes) { ["MESH_REVISION"] = "59" } };
        await _registry.RegisterAsync("checkout-api.shop", moved, CancellationToken.None);

        var ids = _aws.Calls("RegisterInstance").Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("CreatorRequestId").GetString()).ToList();
        Assert.Equal(3, ids.Count);
        Assert.Equal(ids[0], ids[1]);
        Assert.NotEqual(ids[0], ids[2]);
        Assert.Single(_aws.Calls("CreateService"));
    }

    [Fact]
    public async Task A_service_not_in_the_namespace_is_created_as_an_api_only_service_before_the_first_registration()
    {
        _aws.Script("CreateService", (200, """{"Service":{"Id":"srv-new","Name":"payments.shop"}}"""));
        await _registry.RegisterAsync("payments.shop", Task1, CancellationToken.None);

        using var create = JsonDocument.Parse(_aws.Calls("CreateService").Single().Body);
        Assert.Equal("payments.shop", create.RootElement.GetProperty("Name").GetString());
        Assert.Equal(Namespace, create.RootElement.GetProperty("NamespaceId").GetString());
        Assert.Equal("HTTP", create.RootElement.GetProperty("Type").GetString());
        Assert.Contains("\"ServiceId\":\"srv-new\"", _aws.Calls("RegisterInstance").Single().Text);
    }

    [Fact]
    public async Task Listing_follows_next_tokens()
    {
        _aws.Script("CreateService", (400, AlreadyExists));
        _aws.Script("ListInstances",
            (200, """{"Instances":[{"Id":"a","Attributes":{"AWS_INSTANCE_IPV4":"10.0.0.1"}}],"NextToken":"page2"}"""),
            (200, """{"Instances":[{"Id":"b","Attributes":{"AWS_INSTANCE_IPV4":"10.0.0.2"}}]}"""));

        var instances = await _registry.ListInstancesAsync("checkout-api.shop", CancellationToken.None);
        Assert.Equal(["a", "b"], instances.Select(i => i.Id));
        Assert.Equal("""{"ServiceId":"srv-checkout","MaxResults":100,"NextToken":"page2"}""", _aws.Calls("ListInstances")[1].Text);
    }

    [Fact]
    public async Task Throttling_and_server_errors_are_retried_and_each_attempt_is_signed_again()
    {
        _aws.Script("CreateService", (400, AlreadyExists));
        _aws.Script("RegisterInstance",
            (503, """{"__type":"com.amazonaws.servicediscovery#ServiceUnavailable","message":"try later"}"""),
            (400, """{"__type":"ThrottlingException","Message":"Rate exceeded"}"""),
            (429, """{"__type":"RequestLimitExceeded","Message":"slow down"}"""),
            (200, """{"OperationId":"op-1"}"""));
        await _registry.RegisterAsync("checkout-api.shop", Task1, CancellationToken.None);

        var attempts = _aws.Calls("RegisterInstance");
        Assert.Equal(4, attempts.Count);
        Assert.Single(attempts.Select(a => a.Text).Distinct());
        foreach (var attempt in attempts) SigV4.Verify(attempt, LoopbackAws.SecretKey);
    }

    [Fact]
    public async Task A_failure_that_outlasts_the_retries_is_a_clear_error_naming_the_operation_and_the_last_answer()
    {
        _aws.Script("CreateService", (400, AlreadyExists));
        _aws.Default = _ => (500, """{"__type":"InternalFailure","Message":"the service is down"}""");
        var error = await Assert.ThrowsAsync<AwsCallException>(() => _registry.RegisterAsync("checkout-api.shop", Task1, CancellationToken.None));

        Assert.Equal(5, _aws.Calls("RegisterInstance").Count);
        Assert.Equal("Cloud Map RegisterInstance failed after 5 attempts: HTTP 500 InternalFailure: the service is down", error.Message);
        Assert.Equal(HttpStatusCode.InternalServerError, error.Status);
    }

    [Fact]
    public async Task A_refusal_is_not_retried_and_deregistering_an_instance_that_is_gone_succeeds()
    {
        _aws.Script("CreateService", (400, AlreadyExists));
        _aws.Script("RegisterInstance", (400, """{"__type":"com.amazonaws.servicediscovery#InvalidInput","Message":"bad attribute"}"""));
        var error = await Assert.ThrowsAsync<AwsCallException>(() => _registry.RegisterAsync("checkout-api.shop", Task1, CancellationToken.None));
        Assert.Equal("InvalidInput", error.ErrorCode);
        Assert.Equal("Cloud Map RegisterInstance failed: HTTP 400 InvalidInput: bad attribute", error.Message);
        Assert.Single(_aws.Calls("RegisterInstance"));

        _aws.Script("DeregisterInstance", (404, """{"__type":"InstanceNotFound","Message":"no such instance"}"""));
        await _registry.DeregisterAsync("checkout-api.shop", Task1.Id, CancellationToken.None);
        Assert.Equal($$"""{"ServiceId":"srv-checkout","InstanceId":"{{Task1.Id}}"}""", _aws.Calls("DeregisterInstance").Single().Text);
    }
}
