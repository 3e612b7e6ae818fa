using System.ComponentModel;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Mesh.Cli;

/// <summary>Exit codes: 0 done (plan: nothing to change), 1 refused or failed, 2 a plan with changes.</summary>
public static class MeshctlApp
{
    public const int Changes = 2;

    public static async Task<int> RunAsync(string[] args, IAnsiConsole console, Func<GlobalSettings, Connection>? connect = null)
    {
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.SetApplicationName("meshctl");
            config.ConfigureConsole(console);
            config.Settings.Registrar.RegisterInstance(new Connector(connect ?? (s => Connection.Open(s))));
            config.AddCommand<PlanCommand>("plan").WithDescription("Show what applying a mesh file would change, per fleet (exit 2 when it changes something)");
            config.AddCommand<ApplyCommand>("apply").WithDescription("Apply a mesh file as one change (If-Match: --revision, or the mesh's current revision)");
            config.AddCommand<DiffCommand>("diff").WithDescription("Like plan; exit 1 when the mesh differs from the file");
            config.AddCommand<GetCommand>("get").WithDescription("Export a mesh as a mesh file");
            config.AddCommand<ChangesCommand>("changes").WithDescription("A mesh's changes, newest first");
            config.AddCommand<RollbackCommand>("rollback").WithDescription("Restore what a change replaced, as a new change");
            config.AddCommand<BootstrapCommand>("bootstrap").WithDescription("A fleet's Envoy bootstrap");
            config.AddBranch("import", import => import.AddCommand<ImportAppMeshCommand>("appmesh")
                .WithDescription("Translate an App Mesh mesh (aws appmesh describe-* JSON) into a mesh file and a migration report"));
            config.AddCommand<StatusCommand>("status").WithDescription("Per fleet and proxy: the version it runs, behind or rejecting, and why");
        });
        return await app.RunAsync(args);
    }
}

public sealed record Connector(Func<GlobalSettings, Connection> Connect);

public class GlobalSettings : CommandSettings
{
    [CommandOption("--server <URL>"), Description("The API (default MESHCTL_SERVER or http://127.0.0.1:8080)")]
    public string? Server { get; init; }

    [CommandOption("--token <TOKEN>"), Description("Bearer token (default MESHCTL_TOKEN or .local/token)")]
    public string? Token { get; init; }

    [CommandOption("--sigv4"), Description("Sign requests with SigV4 (the deployed API), credentials from the default chain")]
    public bool SigV4 { get; init; }

    [CommandOption("--region <REGION>")]
    public string? Region { get; init; }

    [CommandOption("-o|--output <FORMAT>"), Description("text or json"), DefaultValue("text")]
    public string Output { get; init; } = "text";

    public bool Json => Output == "json";

    public override ValidationResult Validate() =>
        Output is "text" or "json" ? ValidationResult.Success() : ValidationResult.Error("--output must be text or json");
}

public class FileSettings : GlobalSettings
{
    [CommandOption("-f|--file <PATH>"), Description("The mesh file (YAML or JSON)")]
    public string File { get; init; } = "";

    [CommandOption("--mesh <MESH>"), Description("The mesh (default: the file's 'mesh')")]
    public string? Mesh { get; init; }

    [CommandOption("--revision <ETAG>"), Description("apply: only over this revision of the mesh (what plan showed)")]
    public string? Revision { get; init; }

    public override ValidationResult Validate() =>
        string.IsNullOrEmpty(File) ? ValidationResult.Error("-f|--file is required") : System.IO.File.Exists(File) ? base.Validate() : ValidationResult.Error($"no file {File}");
}

public class MeshArgument : GlobalSettings
{
    [CommandArgument(0, "<MESH>")]
    public string Mesh { get; init; } = "";
}

/// <summary>Runs a command, showing what the API refused with the field paths it names.</summary>
public abstract partial class MeshCommand<T>(IAnsiConsole console, Connector connector) : AsyncCommand<T> where T : GlobalSettings
{
    protected IAnsiConsole Console => console;

    public sealed override async Task<int> ExecuteAsync(CommandContext context, T settings, CancellationToken cancellationToken)
    {
        try
        {
            return await RunAsync(connector.Connect(settings), settings, cancellationToken);
        }
        catch (ApiException e)
        {
            console.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
            foreach (var error in e.Errors) console.MarkupLine($"  [red]✗[/] {Markup.Escape(error)}");
            return 1;
        }
        catch (HttpRequestException e)
        {
            console.MarkupLine($"[red]cannot reach the API: {Markup.Escape(e.Message)}[/]");
            return 1;
        }
    }

    protected abstract Task<int> RunAsync(Connection api, T settings, CancellationToken cancellationToken);

    /// <summary>A spinner while long work runs, for people; nothing that would spoil --output json.</summary>
    protected Task<TResult> ProgressAsync<TResult>(GlobalSettings settings, string status, Func<Task<TResult>> work) =>
        settings.Json ? work() : console.Status().StartAsync(status, _ => work());

    /// <summary>JSON for scripts goes to the output as is: no markup, no wrapping at the terminal's width.</summary>
    protected void WriteJson(JsonElement json) => WriteRaw(json.GetRawText());

    protected void WriteRaw(string text) => console.Profile.Out.Writer.WriteLine(text);

    protected static string Path(string mesh, string rest = "") => $"/v1/meshes/{Uri.EscapeDataString(mesh)}{rest}";

    /// <summary>The file's content, its media type, and the mesh it names (--mesh wins).</summary>
    protected static (HttpContent Content, string Mesh) Document(FileSettings settings)
    {
        var text = File.ReadAllText(settings.File);
        var yaml = !text.TrimStart().StartsWith('{');
        var named = yaml ? YamlMesh().Match(text) is { Success: true } m ? m.Groups[1].Value : null
            : JsonDocument.Parse(text).RootElement.TryGetProperty("mesh", out var mesh) ? mesh.GetString() : null;
        var content = new StringContent(text);
        content.Headers.ContentType = new MediaTypeHeaderValue(yaml ? "application/yaml" : "application/json");
        return (content, settings.Mesh ?? named ?? throw new ApiException(System.Net.HttpStatusCode.BadRequest, "no mesh", ["the file names no mesh: add 'mesh: NAME' or pass --mesh"]));
    }

    [GeneratedRegex(@"(?m)^mesh:\s*[""']?([a-z0-9-]+)[""']?\s*$")]
    private static partial Regex YamlMesh();
}

/// <summary>Plan and diff: the plan of applying the file, fleet by fleet.</summary>
public class PlanCommand(IAnsiConsole console, Connector connector) : MeshCommand<FileSettings>(console, connector)
{
    protected virtual int ExitWhenChanged => MeshctlApp.Changes;

    protected override async Task<int> RunAsync(Connection api, FileSettings settings, CancellationToken cancellationToken)
    {
        var (content, mesh) = Document(settings);
        var revision = await api.ETagAsync(Path(mesh, "/spec"), cancellationToken);
        var result = await ProgressAsync(settings, $"planning {mesh}…",
            () => api.SendAsync(HttpMethod.Put, Path(mesh, "/spec?dryRun=true"), content, settings.Revision ?? revision, cancellationToken));
        var plan = result.GetProperty("plan").EnumerateArray().ToList();
        var changed = plan.Any(f => PlanView.Version(f, "fromVersion") != PlanView.Version(f, "toVersion"));
        if (settings.Json)
        {
            WriteRaw(JsonSerializer.Serialize(new { mesh, revision, changed, plan }));
            return changed ? ExitWhenChanged : 0;
        }
        Console.MarkupLine($"mesh [bold]{Markup.Escape(mesh)}[/] at revision {Markup.Escape(revision ?? "(new)")}");
        foreach (var fleet in plan) PlanView.Write(Console, fleet);
        Console.MarkupLine(changed ? $"[yellow]{plan.Count} fleet(s) would change[/]" : "[green]no changes[/]");
        return changed ? ExitWhenChanged : 0;
    }
}

public sealed class DiffCommand(IAnsiConsole console, Connector connector) : PlanCommand(console, connector)
{
    protected override int ExitWhenChanged => 1;
}

public sealed class ApplyCommand(IAnsiConsole console, Connector connector) : MeshCommand<FileSettings>(console, connector)
{
    protected override async Task<int> RunAsync(Connection api, FileSettings settings, CancellationToken cancellationToken)
    {
        var (content, mesh) = Document(settings);
        var revision = settings.Revision ?? await api.ETagAsync(Path(mesh, "/spec"), cancellationToken);
        var result = await ProgressAsync(settings, $"applying {mesh}…", () => api.SendAsync(HttpMethod.Put, Path(mesh, "/spec"), content, revision, cancellationToken));
        if (settings.Json)
        {
            WriteJson(result);
            return 0;
        }
        if (!result.TryGetProperty("change", out var change))
        {
            Console.MarkupLine("[green]no changes[/]");
            return 0;
        }
        Console.MarkupLine($"change [bold]{Markup.Escape(change.GetProperty("id").GetString()!)}[/] applied to mesh {Markup.Escape(mesh)}");
        foreach (var fleet in result.GetProperty("plan").EnumerateArray()) PlanView.Write(Console, fleet);
        return 0;
    }
}

public sealed class GetSettings : MeshArgument
{
    [CommandOption("--format <FORMAT>"), Description("yaml or json"), DefaultValue("yaml")]
    public string Format { get; init; } = "yaml";
}

public sealed class GetCommand(IAnsiConsole console, Connector connector) : MeshCommand<GetSettings>(console, connector)
{
    protected override async Task<int> RunAsync(Connection api, GetSettings settings, CancellationToken cancellationToken)
    {
        Console.Profile.Out.Writer.Write(await api.GetTextAsync(Path(settings.Mesh, $"/spec?format={(settings.Json ? "json" : settings.Format)}"), cancellationToken));
        return 0;
    }
}

public sealed class ChangesSettings : MeshArgument
{
    [CommandOption("--limit <N>"), DefaultValue(20)]
    public int Limit { get; init; } = 20;
}

public sealed class ChangesCommand(IAnsiConsole console, Connector connector) : MeshCommand<ChangesSettings>(console, connector)
{
    protected override async Task<int> RunAsync(Connection api, ChangesSettings settings, CancellationToken cancellationToken)
    {
        var (page, _) = await api.GetJsonAsync(Path(settings.Mesh, $"/changes?limit={settings.Limit}"), cancellationToken);
        if (settings.Json)
        {
            WriteJson(page);
            return 0;
        }
        var table = new Table().AddColumns("id", "at", "actor", "operation", "resources");
        foreach (var change in page.GetProperty("items").EnumerateArray())
        {
            table.AddRow(Markup.Escape(change.GetProperty("id").GetString()!), Markup.Escape(change.GetProperty("at").GetString()!), Markup.Escape(change.GetProperty("actor").GetString()!),
                Markup.Escape(change.GetProperty("operation").GetString()!),
                Markup.Escape(string.Join(", ", change.GetProperty("resources").EnumerateArray().Select(r => r.GetProperty("resource").GetString()))));
        }
        Console.Write(table);
        return 0;
    }
}

public sealed class RollbackSettings : MeshArgument
{
    [CommandArgument(1, "<CHANGE>")]
    public string Change { get; init; } = "";
}

public sealed class RollbackCommand(IAnsiConsole console, Connector connector) : MeshCommand<RollbackSettings>(console, connector)
{
    protected override async Task<int> RunAsync(Connection api, RollbackSettings settings, CancellationToken cancellationToken)
    {
        var result = await api.SendAsync(HttpMethod.Post, Path(settings.Mesh, $"/changes/{Uri.EscapeDataString(settings.Change)}/rollback"), null, null, cancellationToken);
        if (settings.Json) WriteJson(result);
        else Console.MarkupLine($"rolled back {Markup.Escape(settings.Change)} as change [bold]{Markup.Escape(result.GetProperty("change").GetProperty("id").GetString()!)}[/]");
        return 0;
    }
}

public sealed class BootstrapSettings : MeshArgument
{
    [CommandArgument(1, "<FLEET>")]
    public string Fleet { get; init; } = "";

    [CommandOption("--node <ID>")]
    public string? Node { get; init; }

    [CommandOption("--zone <AZ>")]
    public string? Zone { get; init; }
}

public sealed class BootstrapCommand(IAnsiConsole console, Connector connector) : MeshCommand<BootstrapSettings>(console, connector)
{
    protected override async Task<int> RunAsync(Connection api, BootstrapSettings settings, CancellationToken cancellationToken)
    {
        var query = $"?format={(settings.Json ? "json" : "yaml")}{(settings.Node is { } node ? $"&node={Uri.EscapeDataString(node)}" : "")}{(settings.Zone is { } zone ? $"&zone={Uri.EscapeDataString(zone)}" : "")}";
        Console.Profile.Out.Writer.Write(await api.GetTextAsync(Path(settings.Mesh, $"/fleets/{Uri.EscapeDataString(settings.Fleet)}/bootstrap{query}"), cancellationToken));
        return 0;
    }
}

public sealed class StatusCommand(IAnsiConsole console, Connector connector) : MeshCommand<MeshArgument>(console, connector)
{
    protected override async Task<int> RunAsync(Connection api, MeshArgument settings, CancellationToken cancellationToken)
    {
        var (fleets, _) = await api.GetJsonAsync(Path(settings.Mesh, "/fleets"), cancellationToken);
        var statuses = new List<JsonElement>();
        foreach (var fleet in fleets.EnumerateArray())
        {
            var service = fleet.GetProperty("fleet").GetString()!.Split('/')[1];
            statuses.Add((await api.GetJsonAsync(Path(settings.Mesh, $"/fleets/{Uri.EscapeDataString(service)}/convergence"), cancellationToken)).Body);
        }
        if (settings.Json)
        {
            WriteRaw(JsonSerializer.Serialize(statuses));
            return 0;
        }
        var table = new Table().AddColumns("fleet", "version", "proxies", "current", "behind", "rejecting");
        var rejections = new List<string>();
        foreach (var status in statuses)
        {
            var counts = status.TryGetProperty("counts", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
            int Count(string name) => counts.ValueKind == JsonValueKind.Object ? counts.GetProperty(name).GetInt32() : 0;
            var rejected = counts.ValueKind == JsonValueKind.Object ? counts.GetProperty("rejected").EnumerateArray().ToList() : [];
            table.AddRow(Markup.Escape(status.GetProperty("fleet").GetString()!), Markup.Escape(PlanView.Version(status, "version")),
                Count("proxies").ToString(System.Globalization.CultureInfo.InvariantCulture), Count("current").ToString(System.Globalization.CultureInfo.InvariantCulture),
                Count("behind") > 0 ? $"[yellow]{Count("behind")}[/]" : "0", rejected.Count > 0 ? $"[red]{rejected.Count}[/]" : "0");
            rejections.AddRange(rejected.Select(r => $"{status.GetProperty("fleet").GetString()} {r.GetProperty("nodeId").GetString()}: rejected {r.GetProperty("rejectedVersion").GetString()} ({r.GetProperty("type").GetString()}), runs {r.GetProperty("runningVersion").GetString()}"));
        }
        Console.Write(table);
        var proxies = new Table().AddColumns("fleet", "proxy", "state", "last poll");
        foreach (var status in statuses)
        {
            if (!status.TryGetProperty("counts", out var counts) || counts.ValueKind != JsonValueKind.Object || !counts.TryGetProperty("nodes", out var nodes)) continue;
            foreach (var node in nodes.EnumerateArray())
            {
                var state = node.GetProperty("state").GetString()!;
                proxies.AddRow(Markup.Escape(status.GetProperty("fleet").GetString()!), Markup.Escape(node.GetProperty("nodeId").GetString()!),
                    state switch { "current" => "[green]current[/]", "behind" => "[yellow]behind[/]", _ => "[red]rejecting[/]" }, Markup.Escape(node.GetProperty("lastPoll").GetString()!));
            }
        }
        if (proxies.Rows.Count > 0) Console.Write(proxies);
        foreach (var rejection in rejections) Console.MarkupLine($"[red]✗[/] {Markup.Escape(rejection)}");
        return 0;
    }
}

/// <summary>One fleet's plan: its version move and the Envoy resources added, changed (field by field) and removed.</summary>
public static class PlanView
{
    public static void Write(IAnsiConsole console, JsonElement fleet)
    {
        var from = Version(fleet, "fromVersion");
        var to = Version(fleet, "toVersion");
        var proxies = fleet.TryGetProperty("proxies", out var p) ? p.GetInt32() : 0;
        console.MarkupLine($"[bold]{Markup.Escape(fleet.GetProperty("fleet").GetString()!)}[/] {Markup.Escape(from.Length > 0 ? from : "(none)")} → {Markup.Escape(to.Length > 0 ? to : "(none)")} ({proxies} proxies)");
        foreach (var resource in fleet.GetProperty("added").EnumerateArray()) console.MarkupLine($"  [green]+ {Name(resource)}[/]");
        foreach (var resource in fleet.GetProperty("changed").EnumerateArray())
        {
            console.MarkupLine($"  [yellow]~ {Name(resource)}[/]");
            foreach (var field in resource.GetProperty("fields").EnumerateArray())
                console.MarkupLine($"      {Markup.Escape(field.GetProperty("path").GetString()!)}: {Markup.Escape(Value(field, "before"))} → {Markup.Escape(Value(field, "after"))}");
        }
        foreach (var resource in fleet.GetProperty("removed").EnumerateArray()) console.MarkupLine($"  [red]- {Name(resource)}[/]");
    }

    /// <summary>A fleet's version before or after; empty where it has none (a new or removed fleet).</summary>
    public static string Version(JsonElement fleet, string name) =>
        fleet.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";

    private static string Name(JsonElement resource) => Markup.Escape($"{resource.GetProperty("type").GetString()} {resource.GetProperty("name").GetString()}");

    /// <summary>A field's value, shortened for the terminal (--output json has it whole).</summary>
    private static string Value(JsonElement field, string name) =>
        field.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()! is { Length: > 100 } text ? $"{text[..97]}…" : value.GetString()!
            : "∅";
}

public sealed class ImportSettings : GlobalSettings
{
    [CommandOption("--from <PATH>"), Description("A folder of describe-* JSON files, one per resource, or one file listing them")]
    public string From { get; init; } = "";

    [CommandOption("--out <FILE>"), Description("The mesh file to write (JSON)"), DefaultValue("mesh.json")]
    public string Out { get; init; } = "mesh.json";

    [CommandOption("--report <FILE>"), Description("The migration report to write (Markdown)"), DefaultValue("migration-report.md")]
    public string Report { get; init; } = "migration-report.md";

    public override ValidationResult Validate() =>
        Directory.Exists(From) || File.Exists(From) ? base.Validate() : ValidationResult.Error($"--from: no folder or file {From}");
}

/// <summary>Works offline: reads the App Mesh export, writes the mesh file and the report; apply the file with meshctl apply.</summary>
public sealed class ImportAppMeshCommand(IAnsiConsole console, Connector connector) : MeshCommand<ImportSettings>(console, connector)
{
    protected override Task<int> RunAsync(Connection api, ImportSettings settings, CancellationToken cancellationToken)
    {
        var result = AppMesh.AppMeshImporter.Import(AppMesh.AppMeshImporter.ReadResources(settings.From));
        File.WriteAllText(settings.Out, JsonSerializer.Serialize(result.Spec, Mesh.Contracts.State.StateJson.Default.MeshSpec));
        File.WriteAllText(settings.Report, AppMesh.MigrationReport.Markdown(result));
        if (settings.Json)
        {
            WriteRaw(JsonSerializer.Serialize(new { mesh = result.Spec.Mesh, file = settings.Out, report = settings.Report, services = result.Spec.Services.Length, unsupported = result.Unsupported }));
            return Task.FromResult(0);
        }
        Console.MarkupLine($"mesh [bold]{Markup.Escape(result.Spec.Mesh)}[/]: {result.Spec.Services.Length} services → {Markup.Escape(settings.Out)}; report → {Markup.Escape(settings.Report)}");
        foreach (var line in result.Unsupported) Console.MarkupLine($"  [yellow]![/] {Markup.Escape(line)}");
        return Task.FromResult(0);
    }
}
