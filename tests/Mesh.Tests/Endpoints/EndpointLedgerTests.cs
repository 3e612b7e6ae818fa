using Mesh.Core.Endpoints;
using Mesh.Core.Model;

namespace Mesh.Tests.Endpoints;

public class EndpointLedgerTests
{
    private static readonly WorkloadKey Workload = WorkloadKey.Ecs("prod", "orders");

    private static SourceObservation Seen(long version, bool terminal = false) =>
        new() { SourceId = "ecs-task:prod/t1", Workload = Workload, Version = version, Terminal = terminal };

    private static LedgerEntry Stored(long version, bool terminal = false) => new(Seen(version, terminal), Revision: 3);

    [Fact]
    public void The_first_event_of_a_source_applies() =>
        Assert.Equal(LedgerVerdict.Applied, EndpointLedger.Decide(null, Seen(1)));

    [Fact]
    public void A_newer_version_applies() =>
        Assert.Equal(LedgerVerdict.Applied, EndpointLedger.Decide(Stored(4), Seen(5)));

    [Fact]
    public void Stale_event_with_lower_version_is_ignored() =>
        Assert.Equal(LedgerVerdict.Stale, EndpointLedger.Decide(Stored(5), Seen(4)));

    [Fact]
    public void The_same_version_again_is_a_duplicate() =>
        Assert.Equal(LedgerVerdict.Duplicate, EndpointLedger.Decide(Stored(5), Seen(5)));

    [Fact]
    public void Nothing_applies_after_a_terminal_event_not_even_a_higher_version() =>
        Assert.Equal(LedgerVerdict.AfterTerminal, EndpointLedger.Decide(Stored(8, terminal: true), Seen(9)));

    [Fact]
    public void A_late_running_event_never_resurrects_a_stopped_task() =>
        Assert.Equal(LedgerVerdict.AfterTerminal, EndpointLedger.Decide(Stored(8, terminal: true), Seen(4)));

    [Fact]
    public void A_redelivered_terminal_event_is_a_duplicate() =>
        Assert.Equal(LedgerVerdict.Duplicate, EndpointLedger.Decide(Stored(8, terminal: true), Seen(8, terminal: true)));

    [Fact]
    public void A_deletion_at_the_stored_generation_applies() =>
        Assert.Equal(LedgerVerdict.Applied, EndpointLedger.Decide(Stored(19), Seen(19, terminal: true)));

    [Fact]
    public void A_terminal_event_with_a_lower_version_is_stale() =>
        Assert.Equal(LedgerVerdict.Stale, EndpointLedger.Decide(Stored(9), Seen(8, terminal: true)));
}
