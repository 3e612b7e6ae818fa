namespace Mesh.EksForwarder;

/// <summary>What the health endpoint reports: whether this replica leads, when it last listed, what waits to be put.</summary>
public sealed class ForwarderHealth
{
    private long _pending;
    private long _published;

    public bool Leading { get; set; }
    public string? Leader { get; set; }
    public DateTimeOffset? LastListAt { get; set; }
    public DateTimeOffset? LastPublishAt { get; private set; }
    public long Pending => Interlocked.Read(ref _pending);
    public long PublishedEvents => Interlocked.Read(ref _published);

    public void Queued(int count) => Interlocked.Add(ref _pending, count);

    public void Published(int count, DateTimeOffset at)
    {
        Interlocked.Add(ref _published, count);
        LastPublishAt = at;
    }
}
