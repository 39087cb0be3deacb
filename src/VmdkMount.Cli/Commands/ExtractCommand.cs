using System.CommandLine;
using Spectre.Console;
using VmdkMount.Cli.Restore;
using VmdkMount.Core.FileSystems;

namespace VmdkMount.Cli.Commands;

/// <summary>
/// `vmdkmount extract DISK VOL:/path DEST`: file-level restore. Like `cp -r`: when DEST is an existing directory the
/// file or tree lands inside it under its own name, otherwise it is created as DEST.
/// </summary>
internal static class ExtractCommand
{
    public static Command Create()
    {
        var access = new VolumeAccess();
        var dest = new Argument<string>("DEST") { Description = "where to restore to" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "no progress bar" };
        var command = new Command("extract", "restore a file or a whole tree from a volume, timestamps kept");
        access.AddTo(command);
        command.Arguments.Add(dest);
        command.Options.Add(quiet);
        command.SetAction(p => CliCommon.Run(() =>
        {
            using var target = access.Open(p, followLastSymlink: false);
            string destination = p.GetValue(dest)!;
            string name = Path.GetFileName(target.Where.Path.TrimEnd('/'));
            if (Directory.Exists(destination) && name.Length > 0)
                destination = Path.Combine(destination, name);
            else if (target.Node.Type != FsNodeType.Directory && Path.GetDirectoryName(Path.GetFullPath(destination)) is { } parent)
                Directory.CreateDirectory(parent);

            var extractor = new TreeExtractor(target.Fs, target.Where.Volume);
            bool showProgress = !p.GetValue(quiet) && !Console.IsErrorRedirected;
            if (!showProgress)
            {
                extractor.Extract(target.Node, target.Where.Path, destination);
            }
            else
            {
                var (files, bytes) = extractor.Measure(target.Node);
                var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
                console.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                        new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                    .Start(ctx =>
                    {
                        var task = ctx.AddTask($"restoring {files} files", maxValue: Math.Max(1, bytes));
                        extractor.Progress = () =>
                        {
                            task.Value = extractor.BytesDone;
                            task.Description = $"{extractor.FilesDone}/{files} files";
                        };
                        extractor.Extract(target.Node, target.Where.Path, destination);
                        task.Value = task.MaxValue;
                    });
            }
            if (extractor.Failures > 0)
            {
                Console.Error.WriteLine($"vmdkmount: {extractor.Failures} item(s) could not be restored; {extractor.FilesDone} restored");
                return ExitCodes.Problems;
            }
            return ExitCodes.Ok;
        }));
        return command;
    }
}
