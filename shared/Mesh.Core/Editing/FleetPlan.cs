using System.Collections.Immutable;
using System.Text.Json;
using Mesh.Core.Model;
using Mesh.Core.Snapshots;

namespace Mesh.Core.Editing;

/// <summary>One field that differs inside a changed resource: its JSON path and the two values, as JSON (null: absent).</summary>
public sealed record FieldDiff(string Path, string? Before, string? After);

/// <summary>A resource added, changed or removed; a changed one lists the fields that differ.</summary>
public sealed record ResourceDiff(string Type, string Name, ImmutableArray<FieldDiff> Fields);

/// <summary>
/// What a change does to one fleet: its version before and after, and the Envoy resources added, changed and
/// removed. Proxies is filled in by whoever knows the fleet's proxies.
/// </summary>
public sealed record FleetPlan(string Fleet, string? FromVersion, string? ToVersion,
    ImmutableArray<ResourceDiff> Added, ImmutableArray<ResourceDiff> Changed, ImmutableArray<ResourceDiff> Removed)
{
    public int Proxies { get; init; }

    public static FleetPlan Between(FleetId fleet, FleetSnapshot? before, FleetSnapshot? after)
    {
        var deltas = SnapshotDelta.Between(before, after).ToList();
        ImmutableArray<ResourceDiff> Of(DeltaKind kind) => [.. deltas.Where(d => d.Kind == kind).Select(d => new ResourceDiff(d.Type.PathName(), d.Name,
            kind == DeltaKind.Changed ? JsonDiff.Fields(d.Before!.Json, d.After!.Json) : []))];
        return new FleetPlan(fleet.ToString(), before?.Version, after?.Version, Of(DeltaKind.Added), Of(DeltaKind.Changed), Of(DeltaKind.Removed));
    }
}

/// <summary>The fields that differ between two JSON documents, by path; arrays of different length differ as a whole.</summary>
public static class JsonDiff
{
    public static ImmutableArray<FieldDiff> Fields(ReadOnlyMemory<byte> before, ReadOnlyMemory<byte> after)
    {
        using var a = JsonDocument.Parse(before);
        using var b = JsonDocument.Parse(after);
        var diffs = ImmutableArray.CreateBuilder<FieldDiff>();
        Walk("$", a.RootElement, b.RootElement, diffs);
        return diffs.ToImmutable();
    }

    private static void Walk(string path, JsonElement a, JsonElement b, ImmutableArray<FieldDiff>.Builder diffs)
    {
        if (a.ValueKind == JsonValueKind.Object && b.ValueKind == JsonValueKind.Object)
        {
            var names = a.EnumerateObject().Select(p => p.Name).Union(b.EnumerateObject().Select(p => p.Name), StringComparer.Ordinal);
            foreach (var name in names)
            {
                var inA = a.TryGetProperty(name, out var va);
                var inB = b.TryGetProperty(name, out var vb);
                var child = $"{path}.{name}";
                if (inA && inB) Walk(child, va, vb, diffs);
                else diffs.Add(new FieldDiff(child, inA ? va.GetRawText() : null, inB ? vb.GetRawText() : null));
            }
            return;
        }
        if (a.ValueKind == JsonValueKind.Array && b.ValueKind == JsonValueKind.Array && a.GetArrayLength() == b.GetArrayLength())
        {
            var i = 0;
            foreach (var (va, vb) in a.EnumerateArray().Zip(b.EnumerateArray())) Walk($"{path}[{i++}]", va, vb, diffs);
            return;
        }
        if (!JsonElement.DeepEquals(a, b)) diffs.Add(new FieldDiff(path, a.GetRawText(), b.GetRawText()));
    }
}
