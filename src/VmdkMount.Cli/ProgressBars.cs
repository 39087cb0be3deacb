using Spectre.Console;

namespace VmdkMount.Cli;

/// <summary>
/// Where and when the long commands (export, extract, check, changed) draw a progress bar: on stderr, only when stderr
/// is a terminal, never with --quiet or --json. A pipe, a log file or a cron job's mail gets no control sequences, and
/// stdout stays the command's output alone whatever happens to stderr.
/// </summary>
internal static class ProgressBars
{
    public static bool Wanted(bool quiet, bool json) => !quiet && !json && !System.Console.IsErrorRedirected;

    /// <summary>A console on the raw stderr (the bar's control sequences must pass the diagnostic escaping).</summary>
    public static IAnsiConsole ErrorConsole() =>
        AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(DiagnosticWriter.Raw) });

    /// <summary>The bar layout for work of a known size in bytes.</summary>
    public static Progress ForBytes(IAnsiConsole console) =>
        console.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
            new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn());

    /// <summary>The bar layout for steps (links, volumes) whose last one may be of unknown length.</summary>
    public static Progress ForSteps(IAnsiConsole console) =>
        console.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn(), new SpinnerColumn());

    /// <summary>A "--quiet/-q" option worded for the command it is on.</summary>
    public static System.CommandLine.Option<bool> QuietOption(string what) => new("--quiet", "-q") { Description = what };
}
