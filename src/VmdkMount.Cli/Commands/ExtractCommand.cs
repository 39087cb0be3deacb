using System.CommandLine;
using Spectre.Console;
using VmdkMount.Cli.Restore;
using VmdkMount.Core.FileSystems;

namespace VmdkMount.Cli.Commands;

/// <summary>
/// `vmdkmount extract DISK VOL:/path DEST`: file-level restore. Like `cp -r`: when DEST is an existing directory (a
/// symlink to one counts: the user named it) the file or tree lands inside it under its own name, otherwise it is
/// created as DEST (a symlink or file already at DEST is then replaced, not written through). Nothing is written
/// outside DEST (see <see cref="DestinationTree"/>); a DEST that is a file of an opened chain (of any --disk) is refused (exit 2).
/// Ctrl-C / SIGTERM: the file being written is removed, complete files stay, exit 130.
/// </summary>
internal static class ExtractCommand
{
    public static Command Create()
    {
        var access = new VolumeAccess();
        var dest = new Argument<string>("DEST") { Description = "where to restore to" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "no progress bar" };
        var keepLinks = new Option<bool>("--keep-link-targets")
        {
            Description = "write symlink targets as stored instead of rewriting them to resolve inside DEST " +
                          "(unsafe: a restored link may then point anywhere on this host, e.g. /etc)",
        };
        var command = new Command("extract", "restore a file or a whole tree from a volume, timestamps kept");
        access.AddTo(command);
        command.Arguments.Add(dest);
        command.Options.Add(quiet);
        command.Options.Add(keepLinks);
        command.SetAction(p => CliCommon.Run(() =>
        {
            using var target = access.Open(p, followLastSymlink: false);
            string destination = p.GetValue(dest)!;
            RawArguments.RequireUtf8(destination, "DEST");
            string name = Path.GetFileName(target.Where.Path.TrimEnd('/'));
            var chain = new ChainFileSet(target.Disk.Disks.SelectMany(d => d.SourceFiles));
            chain.RefuseIfChainFile(destination, "DEST");
            string? nameInside = null;
            if (Directory.Exists(destination) && name.Length > 0)
            {
                nameInside = name;
                chain.RefuseIfChainFile(Path.Combine(destination, name), "the restored entry");
            }

            using var interruption = new Interruption();
            var extractor = new TreeExtractor(target.Tree, target.Where.Volume, chain)
            {
                KeepLinkTargets = p.GetValue(keepLinks),
                Cancel = interruption.Token,
            };
            try
            {
                Run(extractor, target, destination, nameInside, showProgress: !p.GetValue(quiet) && !Console.IsErrorRedirected);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or UnauthorizedAccessException
                                          or Core.Errors.VmdkMountException)
            {
                bool signalled = e is OperationCanceledException;
                if (!signalled) Console.Error.WriteLine($"vmdkmount: {e.Message}");
                Console.Error.WriteLine($"vmdkmount: interrupted: {extractor.FilesDone} files restored, {extractor.BytesRestored} bytes; " +
                                        $"{destination} holds only complete files");
                return signalled ? Interruption.ExitCode : ExitCodes.Problems;
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

    private static void Run(TreeExtractor extractor, VolumeAccess.Target target, string destination, string? nameInside, bool showProgress)
    {
        if (!showProgress)
        {
            extractor.Extract(target.Inode, target.Where.Path, destination, nameInside);
            return;
        }
        var (files, bytes) = extractor.Measure(target.Inode);
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(DiagnosticWriter.Raw) });
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
                extractor.Extract(target.Inode, target.Where.Path, destination, nameInside);
                task.Value = task.MaxValue;
            });
    }
}
