using System.Runtime.InteropServices;

namespace VmdkMount.Cli.Restore;

/// <summary>
/// SIGINT and SIGTERM during a restore or export: instead of dying mid-write (leaving a temporary behind), the command
/// is asked to stop at the next chunk, removes what it was writing, and exits <see cref="ExitCode"/>.
/// </summary>
internal sealed class Interruption : IDisposable
{
    /// <summary>128 + SIGINT, what a shell reports for a command stopped by Ctrl-C.</summary>
    public const int ExitCode = 130;

    private readonly CancellationTokenSource _cts = new();
    private readonly PosixSignalRegistration[] _registrations;

    public Interruption()
    {
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
        ];
    }

    public CancellationToken Token => _cts.Token;

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true; // no default termination: the copy loop stops and cleans up
        _cts.Cancel();
    }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _cts.Dispose();
    }
}
