using Mesh.Core.Model;

namespace Mesh.Core.Endpoints;

public enum LedgerVerdict
{
    /// <summary>Newer than what is stored: store it.</summary>
    Applied,
    /// <summary>The same version again (at-least-once delivery).</summary>
    Duplicate,
    /// <summary>Older than what is stored (out-of-order delivery).</summary>
    Stale,
    /// <summary>The source already stopped or was deleted; nothing resurrects it.</summary>
    AfterTerminal,
}

/// <summary>The ordering rules for endpoint events: pure, so every order of the same events ends in the same state.</summary>
public static class EndpointLedger
{
    public static LedgerVerdict Decide(LedgerEntry? stored, SourceObservation incoming)
    {
        if (stored is null) return LedgerVerdict.Applied;
        var current = stored.Observation;
        if (current.Terminal)
            return incoming.Terminal && incoming.Version == current.Version ? LedgerVerdict.Duplicate : LedgerVerdict.AfterTerminal;
        if (incoming.Version < current.Version) return LedgerVerdict.Stale;
        if (incoming.Version > current.Version) return LedgerVerdict.Applied;
        // A Kubernetes DELETED watch event carries the object's last generation: it still applies.
        return incoming.Terminal ? LedgerVerdict.Applied : LedgerVerdict.Duplicate;
    }
}
