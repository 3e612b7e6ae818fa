using System.Diagnostics;

namespace Mesh.Tests.Support;

public static class ChildProcess
{
    /// <summary>Runs a command to its end; its standard output and error, read as they come, joined.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string command, IEnumerable<string> arguments, string workingDirectory)
    {
        var start = new ProcessStartInfo(command, arguments) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await errors);
    }
}
