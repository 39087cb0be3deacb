using System.CommandLine;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Mounting.RestorePoints;

namespace VmdkMount.Cli;

/// <summary>The DISK argument and options that `changed` and `versions` share, and how they open every point of the chain.</summary>
internal sealed class PointOptions
{
    public Argument<string> Disk { get; } = CliCommon.DiskArgument();
    public Option<bool> Json { get; } = CliCommon.JsonOption();
    public Option<bool> IgnoreCid { get; } = CliCommon.IgnoreCidOption();
    public Option<bool> RawInput { get; } = CliCommon.RawInputOption();

    public void AddTo(Command command)
    {
        command.Arguments.Add(Disk);
        command.Options.Add(Json);
        command.Options.Add(IgnoreCid);
        command.Options.Add(RawInput);
    }

    public RestorePointSet Open(ParseResult p) =>
        RestorePointSet.Open(p.GetValue(Disk)!, CliCommon.DiskOptions(p, IgnoreCid, RawInput), new FileSystemOptions());

    /// <summary>When the link file was last written (its point's time), for local chains; null when unknown.</summary>
    public static DateTime? LinkTime(string path) => File.Exists(path) ? File.GetLastWriteTimeUtc(path) : null;
}
