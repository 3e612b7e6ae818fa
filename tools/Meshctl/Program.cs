using Mesh.Cli;
using Spectre.Console;

return await MeshctlApp.RunAsync(args, AnsiConsole.Console);
