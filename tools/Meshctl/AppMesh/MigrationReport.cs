using System.Text;

namespace Mesh.Cli.AppMesh;

public static class MigrationReport
{
    public static string Markdown(ImportResult result)
    {
        var text = new StringBuilder();
        text.AppendLine($"# Migrating App Mesh mesh to `{result.Spec.Mesh}`").AppendLine();
        Section("What each App Mesh resource became", result.Became);
        Section("Made explicit (App Mesh did it implicitly)", result.Explicit);
        Section("Not supported, or needing you", result.Unsupported);
        Section("Keeping existing sidecars working", result.Sidecars);
        return text.ToString();

        void Section(string title, IReadOnlyList<string> lines)
        {
            text.AppendLine($"## {title}").AppendLine();
            if (lines.Count == 0) text.AppendLine("- nothing");
            foreach (var line in lines.Distinct(StringComparer.Ordinal)) text.AppendLine($"- {line}");
            text.AppendLine();
        }
    }
}
