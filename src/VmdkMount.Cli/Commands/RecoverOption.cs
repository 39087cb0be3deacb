using System.CommandLine;

namespace VmdkMount.Cli.Commands;

/// <summary>`--recover-truncated`, shared by the disk-level VMDK commands (info, check, map, export).</summary>
internal static class RecoverOption
{
    public static Option<bool> Create() =>
        new("--recover-truncated") { Description = "read a streamOptimized file that was cut short (no footer) from the grain records that survive" };
}
