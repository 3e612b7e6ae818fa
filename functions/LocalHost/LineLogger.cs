namespace Mesh.LocalHost;

/// <summary>
/// One line per log entry, written at once: the framework's console logger writes from a background queue,
/// which would print each sample's decisions under the next sample's heading in the local replay.
/// </summary>
public sealed class LineLoggerProvider(TextWriter output) : ILoggerProvider
{
    private readonly Lock _gate = new();
    private readonly TextWriter _output = output;

    public ILogger CreateLogger(string categoryName) => new LineLogger(this);

    public void Dispose()
    {
    }

    private sealed class LineLogger(LineLoggerProvider provider) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var level = logLevel switch { LogLevel.Warning => "warn", LogLevel.Error or LogLevel.Critical => "FAIL", _ => "    " };
            lock (provider._gate) provider._output.WriteLine($"    {level} {formatter(state, exception)}");
        }
    }
}
