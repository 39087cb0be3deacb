using System.CommandLine;

namespace VmdkMount.Cli.Commands;

/// <summary>`--recover-truncated`, accepted by every command that opens a disk (the disk-level ones declare it themselves).</summary>
internal static class RecoverOption
{
    public static Option<bool> Create() =>
        new(CliCommon.RecoverFlag) { Description = "read a streamOptimized file that was cut short (no footer) from the grain records that survive" };
}
