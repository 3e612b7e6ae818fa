namespace Mesh.EksForwarder;

/// <summary>What the forwarder watches and where it puts events (configuration section "Forwarder").</summary>
public sealed class ForwarderOptions
{
    /// <summary>The EKS cluster's name, as services' workloads name it (workload.cluster).</summary>
    public string ClusterName { get; set; } = "";
    /// <summary>The cluster's ARN, put in each event's resources; optional.</summary>
    public string? ClusterArn { get; set; }
    public string EventBusName { get; set; } = "";
    public string Source { get; set; } = "mesh-pipeline.eks-forwarder";
    /// <summary>Namespaces to watch, comma-separated; empty: all of them.</summary>
    public string Namespaces { get; set; } = "";
    /// <summary>A Kubernetes label selector for the EndpointSlices to forward (their Services' labels are copied onto them).</summary>
    public string? LabelSelector { get; set; }
    /// <summary>The Lease that elects the one replica that publishes.</summary>
    public string LeaseName { get; set; } = "mesh-eks-forwarder";
    public string LeaseNamespace { get; set; } = "mesh-system";
    /// <summary>This replica's name in the Lease (the pod's name).</summary>
    public string Identity { get; set; } = Environment.MachineName;
    public int LeaseDurationSeconds { get; set; } = 15;
    /// <summary>Longest wait between attempts to reach the API server or EventBridge after a failure.</summary>
    public int MaxBackoffSeconds { get; set; } = 30;

    /// <summary>The namespaces to list and watch, one by one; a single null: all namespaces at once.</summary>
    public IReadOnlyList<string?> Scopes =>
        [.. Namespaces.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).DefaultIfEmpty()];

    public IEnumerable<string> Problems()
    {
        if (string.IsNullOrWhiteSpace(ClusterName)) yield return "Forwarder:ClusterName is required (the EKS cluster's name, as services' workload.cluster names it)";
        if (string.IsNullOrWhiteSpace(EventBusName)) yield return "Forwarder:EventBusName is required";
        if (LeaseDurationSeconds is < 5 or > 300) yield return "Forwarder:LeaseDurationSeconds must be between 5 and 300";
    }
}
