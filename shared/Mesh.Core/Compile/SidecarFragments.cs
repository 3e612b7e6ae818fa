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

    public static byte[] Ecs(ServiceDefinition service, ControlPlaneAddress controlPlane, XdsSettings settings, string image) =>
        Write(w =>
        {
            w.WriteStartArray("containerDefinitions");
            w.WriteStartObject();
            w.WriteString("name", "envoy");
            w.WriteString("image", image);
            w.WriteBoolean("essential", true);
            w.WriteString("user", EnvoyUid);
            w.WriteNumber("memoryReservation", 128);
            Environment(w, "environment", service, controlPlane, settings);
            w.WriteStartArray("entryPoint");
            w.WriteStringValue("/bin/sh");
            w.WriteStringValue("-c");
            w.WriteEndArray();
            w.WriteStartArray("command");
            // The task's id and zone from the task metadata endpoint ECS gives every container.
            w.WriteStringValue(StartCommand(settings,
                "TASK=$(curl -s \"$ECS_CONTAINER_METADATA_URI_V4/task\"); " +
                "NODE=$(printf '%s' \"$TASK\" | sed -n 's/.*\"TaskARN\":\"[^\"]*\\/\\([^\"]*\\)\".*/\\1/p'); " +
                "ZONE=$(printf '%s' \"$TASK\" | sed -n 's/.*\"AvailabilityZone\":\"\\([^\"]*\\)\".*/\\1/p'); "));
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

    public static byte[] Eks(ServiceDefinition service, ControlPlaneAddress controlPlane, XdsSettings settings, string image) =>
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
            w.WriteStartObject();
            w.WriteString("name", "envoy");
            w.WriteString("image", image);
            w.WriteStartObject("securityContext");
            w.WriteNumber("runAsUser", int.Parse(EnvoyUid, CultureInfo.InvariantCulture));
            w.WriteEndObject();
            w.WriteStartArray("command");
            w.WriteStringValue("/bin/sh");
            w.WriteStringValue("-c");
            // The pod's name from the downward API. The downward API cannot read the node's zone label: set POD_ZONE to
            // the zone (e.g. from a mutating webhook or per-zone deployments) for zone-aware routing.
            w.WriteStringValue(StartCommand(settings, "NODE=\"$POD_NAME\"; ZONE=\"${POD_ZONE:-}\"; "));
            w.WriteEndArray();
            Environment(w, "env", service, controlPlane, settings, downwardApi: true);
            w.WriteStartObject("readinessProbe");
            w.WriteStartObject("httpGet");
            w.WriteString("host", "127.0.0.1");
            w.WriteString("path", "/ready");
            w.WriteNumber("port", settings.AdminPort);
            w.WriteEndObject();
            w.WriteNumber("periodSeconds", 5);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndArray();
        });

    /// <summary>App Mesh's interception settings (ECS proxyConfiguration property names).</summary>
    public static IReadOnlyList<(string Name, string Value)> Interception(ServiceDefinition service, XdsSettings settings) =>
    [
        ("IgnoredUID", EnvoyUid),
        ("ProxyIngressPort", settings.InboundPort.ToString(CultureInfo.InvariantCulture)),
        ("ProxyEgressPort", settings.OutboundPort.ToString(CultureInfo.InvariantCulture)),
        ("AppPorts", string.Join(",", service.Ports.Select(p => p.Port.ToString(CultureInfo.InvariantCulture)))),
        ("EgressIgnoredIPs", EgressIgnoredIps),
    ];

    /// <summary>Fills the bootstrap's placeholders (an empty zone leaves the locality to match nothing) and starts Envoy.</summary>
    private static string StartCommand(XdsSettings settings, string identity) =>
        identity +
        $"mkdir -p '{settings.Tls.SecretsDirectory}' && printf '%s' \"${CertificateSecretVariable}\" > '{settings.Tls.CertificateSecretPath}' && " +
        $"printf '%s' \"${ValidationSecretVariable}\" > '{settings.Tls.ValidationSecretPath}' && " +
        $"REGION=$(printf '%s' \"$ZONE\" | sed 's/[a-z]*$//'); " +
        $"printf '%s' \"${BootstrapVariable}\" | sed \"s|{NodePlaceholder}|$NODE|g; s|{ZonePlaceholder}|$ZONE|g; s|{RegionPlaceholder}|$REGION|g\" > /tmp/envoy.json && " +
        "exec envoy -c /tmp/envoy.json";

    private static string ReadyCheck(XdsSettings settings) =>
        $"curl -s http://127.0.0.1:{settings.AdminPort}/ready | grep -q LIVE";

    private static void Environment(Utf8JsonWriter w, string property, ServiceDefinition service, ControlPlaneAddress controlPlane, XdsSettings settings, bool downwardApi = false)
    {
        var bootstrap = BootstrapWriter.Write(service.Fleet, NodePlaceholder, ZonePlaceholder, controlPlane, settings, RegionPlaceholder);
        w.WriteStartArray(property);
        w.WriteStartObject();
        w.WriteString("name", BootstrapVariable);
        w.WriteString("value", Encoding.UTF8.GetString(bootstrap));
        w.WriteEndObject();
        foreach (var (name, secret) in new[] { (CertificateSecretVariable, SdsSecrets.Certificate(settings)), (ValidationSecretVariable, SdsSecrets.Validation(settings)) })
        {
            w.WriteStartObject();
            w.WriteString("name", name);
            w.WriteString("value", Encoding.UTF8.GetString(secret));
            w.WriteEndObject();
        }
        w.WriteStartObject();
        w.WriteString("name", "ENVOY_LOG_LEVEL");
        w.WriteString("value", "info");
        w.WriteEndObject();
        if (downwardApi)
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
        w.WriteEndArray();
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
