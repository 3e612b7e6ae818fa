namespace Mesh.Core.Resilience;

/// <summary>Other writers kept winning the same guarded write; the caller fails the work so that it is retried later.</summary>
public sealed class ConcurrencyConflictException(string message) : Exception(message);
