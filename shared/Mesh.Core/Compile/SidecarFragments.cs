using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Mesh.Core.Model;

namespace Mesh.Core.Compile;

/// <summary>
/// What runs beside the app, as App Mesh ran it, so its traffic interception keeps working: for ECS the Envoy
/// container, the task's proxyConfiguration (outbound TCP redirected to 15001, the app ports to 15000, Envoy's own
/// user and the metadata addresses left alone) and the app's dependency on a healthy Envoy; for EKS the Envoy
/// sidecar and the init container that sets up the same redirection. Envoy starts from this fleet's bootstrap,
/// carried in an environment variable, with the task's or pod's identity and zone filled in at start.
/// </summary>
public static class SidecarFragments
{
    /// <summary>The user Envoy runs as, which the interception leaves alone (App Mesh's IgnoredUID).</summary>
    public const string EnvoyUid = "1337";
    public const string DefaultImage = "envoyproxy/envoy:v1.33-latest";
    public const string BootstrapVariable = "ENVOY_BOOTSTRAP";
    /// <summary>The SDS files the mTLS contexts name (<see cref="SdsSecrets"/>), written where Envoy looks for them.</summary>
    public const string CertificateSecretVariable = "ENVOY_SDS_CERTIFICATE";
    public const string ValidationSecretVariable = "ENVOY_SDS_VALIDATION";
    /// <summary>Placeholders in the bootstrap, replaced when the container starts.</summary>
    public const string NodePlaceholder = "@NODE@";
    public const string ZonePlaceholder = "@ZONE@";
    public const string RegionPlaceholder = "@REGION@";
    /// <summary>ECS's task metadata and credentials endpoints, and EC2's instance metadata: never redirected.</summary>
    public const string EgressIgnoredIps = "169.254.170.2,169.254.169.254";

    public static byte[] Ecs(ServiceDefinition service, ControlPlaneAddress controlPlane, XdsSettings settings, string image, BootstrapOptions? options = null) =>
        Write(w =>
        {
            w.WriteStartArray("containerDefinitions");
            EcsEnvoy(w, image, 128, [], e => Environment(e, "environment", service, controlPlane, settings, options), StartCommand(settings, EcsIdentity), settings);
            w.WriteEndArray();

            w.WriteStartObject("proxyConfiguration");
            w.WriteString("type", "APPMESH");
            w.WriteString("containerName", "envoy");
            w.WriteStartArray("properties");
            foreach (var (name, value) in Interception(service, settings))
            {
                w.WriteStartObject();
                w.WriteString("name", name);
                w.WriteString("value", value);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();

            // Added to the app's container definition, so the app starts once Envoy is ready to carry its traffic.
            w.WriteStartArray("appContainerDependsOn");
            w.WriteStartObject();
            w.WriteString("containerName", "envoy");
            w.WriteString("condition", "HEALTHY");
            w.WriteEndObject();
            w.WriteEndArray();
        });

    public static byte[] Eks(ServiceDefinition service, ControlPlaneAddress controlPlane, XdsSettings settings, string image, BootstrapOptions? options = null) =>
        Write(w =>
        {
            w.WriteStartArray("initContainers");
            w.WriteStartObject();
            w.WriteString("name", "proxyinit");
            w.WriteString("image", "public.ecr.aws/appmesh/aws-appmesh-proxy-route-manager:v7-prod");
            w.WriteStartObject("securityContext");
            w.WriteStartObject("capabilities");
            w.WriteStartArray("add");
            w.WriteStringValue("NET_ADMIN");
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartArray("env");
            foreach (var (name, value) in Interception(service, settings))
            {
                w.WriteStartObject();
                w.WriteString("name", name switch
                {
                    "IgnoredUID" => "APPMESH_IGNORE_UID",
                    "ProxyIngressPort" => "APPMESH_ENVOY_INGRESS_PORT",
                    "ProxyEgressPort" => "APPMESH_ENVOY_EGRESS_PORT",
                    "AppPorts" => "APPMESH_APP_PORTS",
                    _ => "APPMESH_EGRESS_IGNORED_IP",
                });
                w.WriteString("value", value);
                w.WriteEndObject();
            }
            w.WriteStartObject();
            w.WriteString("name", "APPMESH_START_ENABLED");
            w.WriteString("value", "1");
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndArray();

            w.WriteStartArray("containers");
            EksEnvoy(w, image, [], StartCommand(settings, EksIdentity), e => Environment(e, "env", service, controlPlane, settings, options, downwardApi: true), settings);
            w.WriteEndArray();
        });

    /// <summary>The task's id and zone from the task metadata endpoint ECS gives every container.</summary>
    private const string EcsIdentity =
        "TASK=$(curl -s \"$ECS_CONTAINER_METADATA_URI_V4/task\"); " +
        "NODE=$(printf '%s' \"$TASK\" | sed -n 's/.*\"TaskARN\":\"[^\"]*\\/\\([^\"]*\\)\".*/\\1/p'); " +
        "ZONE=$(printf '%s' \"$TASK\" | sed -n 's/.*\"AvailabilityZone\":\"\\([^\"]*\\)\".*/\\1/p'); ";

    /// <summary>
    /// The pod's name from the downward API. The downward API cannot read the node's zone label: set POD_ZONE to the
    /// zone (e.g. from a mutating webhook or per-zone deployments) for zone-aware routing.
    /// </summary>
    private const string EksIdentity = "NODE=\"$POD_NAME\"; ZONE=\"${POD_ZONE:-}\"; ";

    /// <summary>Each SDS file a gateway needs is carried by a variable of this prefix, named after the file.</summary>
    public const string GatewaySecretPrefix = "ENVOY_SDS_FILE_";

    /// <summary>
    /// A gateway's Envoy container for an ECS task (Fargate behind a Network Load Balancer): no interception, its
    /// listener ports published, its SDS files (the mesh certificate for mTLS to services, each TLS listener's
    /// certificate) carried in variables, which a task definition may also take from SSM parameters.
    /// </summary>
    public static byte[] EcsGateway(GatewayDefinition gateway, ControlPlaneAddress controlPlane, XdsSettings settings, string image, BootstrapOptions? options = null) =>
        Write(w =>
        {
            w.WriteStartArray("containerDefinitions");
            EcsEnvoy(w, image, 256, [.. gateway.Listeners.Select(l => l.Port)], e =>
            {
                e.WriteStartArray("environment");
                foreach (var (name, value) in GatewayEnvironment(gateway, controlPlane, settings, options)) Variable(e, name, value);
                e.WriteEndArray();
            }, GatewayStartCommand(settings, EcsIdentity), settings);
            w.WriteEndArray();
        });

    /// <summary>Envoy's ECS container: as the ignored user, started by a shell command, healthy once Envoy is ready.</summary>
    private static void EcsEnvoy(Utf8JsonWriter w, string image, int memoryReservation, IReadOnlyList<int> ports, Action<Utf8JsonWriter> environment, string command, XdsSettings settings)
    {
        w.WriteStartObject();
        w.WriteString("name", "envoy");
        w.WriteString("image", image);
        w.WriteBoolean("essential", true);
        w.WriteString("user", EnvoyUid);
        w.WriteNumber("memoryReservation", memoryReservation);
        ContainerPorts(w, "portMappings", ports, "tcp");
        environment(w);
        w.WriteStartArray("entryPoint");
        w.WriteStringValue("/bin/sh");
        w.WriteStringValue("-c");
        w.WriteEndArray();
        w.WriteStartArray("command");
        w.WriteStringValue(command);
        w.WriteEndArray();
        w.WriteStartObject("healthCheck");
        w.WriteStartArray("command");
        w.WriteStringValue("CMD-SHELL");
        w.WriteStringValue(ReadyCheck(settings));
        w.WriteEndArray();
        w.WriteNumber("interval", 5);
        w.WriteNumber("timeout", 2);
        w.WriteNumber("retries", 3);
        w.WriteNumber("startPeriod", 10);
        w.WriteEndObject();
        w.WriteStartArray("ulimits");
        w.WriteStartObject();
        w.WriteString("name", "nofile");
        w.WriteNumber("softLimit", 15000);
        w.WriteNumber("hardLimit", 15000);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>A gateway's Envoy container for a Kubernetes Deployment behind a Service of type LoadBalancer.</summary>
    public static byte[] EksGateway(GatewayDefinition gateway, ControlPlaneAddress controlPlane, XdsSettings settings, string image, BootstrapOptions? options = null) =>
        Write(w =>
        {
            w.WriteStartArray("containers");
            EksEnvoy(w, image, [.. gateway.Listeners.Select(l => l.Port)], GatewayStartCommand(settings, EksIdentity), e =>
            {
                e.WriteStartArray("env");
                foreach (var (name, value) in GatewayEnvironment(gateway, controlPlane, settings, options)) Variable(e, name, value);
                PodName(e);
                e.WriteEndArray();
            }, settings);
            w.WriteEndArray();
        });

    /// <summary>Envoy's container in a pod: as the ignored user, started by a shell command, ready once Envoy is.</summary>
    private static void EksEnvoy(Utf8JsonWriter w, string image, IReadOnlyList<int> ports, string command, Action<Utf8JsonWriter> environment, XdsSettings settings)
    {
        w.WriteStartObject();
        w.WriteString("name", "envoy");
        w.WriteString("image", image);
        w.WriteStartObject("securityContext");
        w.WriteNumber("runAsUser", int.Parse(EnvoyUid, CultureInfo.InvariantCulture));
        w.WriteEndObject();
        ContainerPorts(w, "ports", ports, "TCP");
        w.WriteStartArray("command");
        w.WriteStringValue("/bin/sh");
        w.WriteStringValue("-c");
        w.WriteStringValue(command);
        w.WriteEndArray();
        environment(w);
        ReadinessProbe(w, settings);
        w.WriteEndObject();
    }

    /// <summary>The bootstrap and every SDS file of a gateway, as the variables its start command reads.</summary>
    public static IReadOnlyList<(string Name, string Value)> GatewayEnvironment(GatewayDefinition gateway, ControlPlaneAddress controlPlane, XdsSettings settings, BootstrapOptions? options = null)
    {
        var bootstrap = BootstrapWriter.Write(gateway.Fleet, NodePlaceholder, ZonePlaceholder, controlPlane, settings, RegionPlaceholder, options);
        var files = new List<(string Path, byte[] Content)>
        {
            (settings.Tls.CertificateSecretPath, SdsSecrets.Certificate(settings)),
            (settings.Tls.ValidationSecretPath, SdsSecrets.Validation(settings)),
        };
        files.AddRange(SdsSecrets.Ingress(gateway, settings));
        return
        [
            (BootstrapVariable, Encoding.UTF8.GetString(bootstrap)),
            .. files.Select(f => (GatewaySecretVariable(f.Path), Encoding.UTF8.GetString(f.Content))),
            ("ENVOY_LOG_LEVEL", "info"),
        ];
    }

    /// <summary>"/tmp/envoy-sds/ingress-443-ca.json" is carried by ENVOY_SDS_FILE_INGRESS_443_CA.</summary>
    public static string GatewaySecretVariable(string path)
    {
        var file = path[(path.LastIndexOf('/') + 1)..];
        return GatewaySecretPrefix + file[..^".json".Length].Replace('-', '_').ToUpperInvariant();
    }

    /// <summary>
    /// Writes every SDS file its variables carry (so a task definition may add or take them from SSM without a new
    /// command), fills the bootstrap's placeholders and starts Envoy.
    /// </summary>
    public static string GatewayStartCommand(XdsSettings settings, string identity) =>
        $"mkdir -p '{settings.Tls.SecretsDirectory}' && " +
        $"for name in $(env | sed -n 's/^{GatewaySecretPrefix}\\([A-Z0-9_]*\\)=.*/\\1/p'); do " +
        $"printf '%s' \"$(printenv \"{GatewaySecretPrefix}$name\")\" > \"{settings.Tls.SecretsDirectory.TrimEnd('/')}/$(printf '%s' \"$name\" | tr 'A-Z_' 'a-z-').json\"; done; " +
        identity + Launch;

    /// <summary>App Mesh's interception settings (ECS proxyConfiguration property names).</summary>
    public static IReadOnlyList<(string Name, string Value)> Interception(ServiceDefinition service, XdsSettings settings) =>
    [
        ("IgnoredUID", EnvoyUid),
        ("ProxyIngressPort", settings.InboundPort.ToString(CultureInfo.InvariantCulture)),
        ("ProxyEgressPort", settings.OutboundPort.ToString(CultureInfo.InvariantCulture)),
        ("AppPorts", string.Join(",", service.Ports.Select(p => p.Port.ToString(CultureInfo.InvariantCulture)))),
        ("EgressIgnoredIPs", EgressIgnoredIps),
    ];

    /// <summary>Writes the SDS files, fills the bootstrap's placeholders (an empty zone leaves the locality to match nothing) and starts Envoy.</summary>
    private static string StartCommand(XdsSettings settings, string identity) =>
        identity +
        $"mkdir -p '{settings.Tls.SecretsDirectory}' && printf '%s' \"${CertificateSecretVariable}\" > '{settings.Tls.CertificateSecretPath}' && " +
        $"printf '%s' \"${ValidationSecretVariable}\" > '{settings.Tls.ValidationSecretPath}' && " + Launch;

    private static readonly string Launch =
        $"REGION=$(printf '%s' \"$ZONE\" | sed 's/[a-z]*$//'); " +
        $"printf '%s' \"${BootstrapVariable}\" | sed \"s|{NodePlaceholder}|$NODE|g; s|{ZonePlaceholder}|$ZONE|g; s|{RegionPlaceholder}|$REGION|g\" > /tmp/envoy.json && " +
        "exec envoy -c /tmp/envoy.json";

    private static string ReadyCheck(XdsSettings settings) =>
        $"curl -s http://127.0.0.1:{settings.AdminPort}/ready | grep -q LIVE";

    private static void Environment(Utf8JsonWriter w, string property, ServiceDefinition service, ControlPlaneAddress controlPlane, XdsSettings settings, BootstrapOptions? options, bool downwardApi = false)
    {
        var bootstrap = BootstrapWriter.Write(service.Fleet, NodePlaceholder, ZonePlaceholder, controlPlane, settings, RegionPlaceholder, options);
        w.WriteStartArray(property);
        Variable(w, BootstrapVariable, Encoding.UTF8.GetString(bootstrap));
        foreach (var (name, secret) in new[] { (CertificateSecretVariable, SdsSecrets.Certificate(settings)), (ValidationSecretVariable, SdsSecrets.Validation(settings)) })
            Variable(w, name, Encoding.UTF8.GetString(secret));
        Variable(w, "ENVOY_LOG_LEVEL", "info");
        if (downwardApi) PodName(w);
        w.WriteEndArray();
    }

    /// <summary>The listener ports a container publishes (ECS spells the protocol "tcp", Kubernetes "TCP"); none: nothing.</summary>
    private static void ContainerPorts(Utf8JsonWriter w, string property, IReadOnlyList<int> ports, string protocol)
    {
        if (ports.Count == 0) return;
        w.WriteStartArray(property);
        foreach (var port in ports)
        {
            w.WriteStartObject();
            w.WriteNumber("containerPort", port);
            w.WriteString("protocol", protocol);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void Variable(Utf8JsonWriter w, string name, string value)
    {
        w.WriteStartObject();
        w.WriteString("name", name);
        w.WriteString("value", value);
        w.WriteEndObject();
    }

    private static void PodName(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("name", "POD_NAME");
        w.WriteStartObject("valueFrom");
        w.WriteStartObject("fieldRef");
        w.WriteString("fieldPath", "metadata.name");
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void ReadinessProbe(Utf8JsonWriter w, XdsSettings settings)
    {
        w.WriteStartObject("readinessProbe");
        w.WriteStartObject("httpGet");
        w.WriteString("host", "127.0.0.1");
        w.WriteString("path", "/ready");
        w.WriteNumber("port", settings.AdminPort);
        w.WriteEndObject();
        w.WriteNumber("periodSeconds", 5);
        w.WriteEndObject();
    }

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(8192);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
