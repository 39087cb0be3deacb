using System.CommandLine;
using VmdkMount.Core.Disks;

namespace VmdkMount.Cli.Commands;

/// <summary>The argument and options that the disk-level commands `info`, `check` and `map` share, and how they open DISK.</summary>
internal sealed class DiskCommandOptions
{
    public Argument<string> Disk { get; } = CliCommon.DiskArgument();
    public Option<bool> Json { get; } = CliCommon.JsonOption();
    public Option<bool> IgnoreCid { get; } = CliCommon.IgnoreCidOption();
    public Option<bool> RawInput { get; } = CliCommon.RawInputOption();
    public Option<bool> Recover { get; } = RecoverOption.Create();

    /// <summary>A command carrying DISK, --json, --ignore-cid-mismatch, --raw-input and --recover-truncated, in that order.</summary>
    public Command CreateCommand(string name, string description) =>
        new(name, description) { Disk, Json, IgnoreCid, RawInput, Recover };

    public IVirtualDisk OpenDisk(ParseResult p) =>
        DiskOpener.Open(p.GetValue(Disk)!, CliCommon.DiskOptions(p, IgnoreCid, RawInput) with { RecoverTruncatedStreams = p.GetValue(Recover) });
}
