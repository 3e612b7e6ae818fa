using System.Text.RegularExpressions;
using Mesh.Tests.Support;

namespace Mesh.Tests.Layering;

/// <summary>
/// The core's folders point one way: the model at the bottom; ports, endpoint rules and snapshots above it; the
/// compiler; publishing and serving; editing; the use cases on top. A namespace may use only namespaces of a lower
/// layer, whether by a using directive or a qualified name.
/// </summary>
public partial class CoreLayerTests
{
    private static readonly Dictionary<string, int> Layers = new()
    {
        ["Model"] = 0, ["Resilience"] = 0, ["Telemetry"] = 0,
        ["Ports"] = 1, ["Endpoints"] = 1, ["Snapshots"] = 1,
        ["Compile"] = 2,
        ["Publishing"] = 3, ["Serving"] = 3,
        ["Editing"] = 4,
        ["Pipeline"] = 5,
    };

    private static string CoreRoot => Path.Combine(Repo.Root, "shared", "Mesh.Core");

    [Fact]
    public void Every_core_folder_has_a_layer_and_its_namespace_matches_it()
    {
        foreach (var file in CoreFiles())
        {
            var folder = Path.GetFileName(Path.GetDirectoryName(file))!;
            Assert.True(Layers.ContainsKey(folder), $"{file}: folder '{folder}' has no layer in this test");
            Assert.Matches($@"(?m)^namespace Mesh\.Core\.{folder};", File.ReadAllText(file));
        }
    }

    [Fact]
    public void Core_namespaces_use_only_lower_layers()
    {
        var violations = new List<string>();
        foreach (var file in CoreFiles())
        {
            var folder = Path.GetFileName(Path.GetDirectoryName(file))!;
            foreach (var used in UsedNamespaces(File.ReadAllText(file)).Where(u => u != folder))
            {
                if (!Layers.TryGetValue(used, out var layer) || layer >= Layers[folder])
                    violations.Add($"{Path.GetRelativePath(CoreRoot, file)}: {folder} (layer {Layers[folder]}) uses {used}");
            }
        }
        Assert.Empty(violations);
    }

    [Fact]
    public void The_check_sees_a_qualified_name_as_well_as_a_using_directive()
    {
        Assert.Equal(["Pipeline", "Editing"], UsedNamespaces("using Mesh.Core.Pipeline;\nvar x = new Mesh.Core.Editing.MeshEditor();"));
    }

    private static IEnumerable<string> CoreFiles() =>
        Directory.EnumerateFiles(CoreRoot, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    private static List<string> UsedNamespaces(string source) =>
        [.. UsedNamespace().Matches(source).Select(m => m.Groups[1].Value).Distinct()];

    [GeneratedRegex(@"(?<!namespace )\bMesh\.Core\.([A-Z][A-Za-z]+)")]
    private static partial Regex UsedNamespace();
}
