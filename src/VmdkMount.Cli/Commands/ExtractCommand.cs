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
/// Ctrl-C / SIGTERM: the file being written is removed, complete files stay, exit 130. On success one summary line
/// (entries, bytes, destination, time) goes to stdout unless --quiet; -v names each entry as it lands, as `cp -v`.
/// </summary>
internal static class ExtractCommand
{
    public static Command Create()
    {
        var access = new VolumeAccess();
        var dest = new Argument<string>("DEST") { Description = "where to restore to" };
        var quiet = ProgressBars.QuietOption("no progress bar and no summary line");
        var noClobber = new Option<bool>("--no-clobber", "-n") { Description = "keep what is already at DEST: an existing entry is not replaced (folders are merged into), as cp -n" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "name each entry as it is restored (or skipped), as cp -v" };
        var keepLinks = new Option<bool>("--keep-link-targets")
        {
            Description = "write symlink targets as stored instead of rewriting them to resolve inside DEST " +
                          "(unsafe: a restored link may then point anywhere on this host, e.g. /etc)",
        };
        var command = new Command("extract", "restore a file or a whole tree from a volume, timestamps kept");
        access.AddTo(command);
        command.Arguments.Add(dest);
        command.Options.Add(quiet);
        command.Options.Add(noClobber);
        command.Options.Add(verbose);
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
                NoClobber = p.GetValue(noClobber),
                Verbose = p.GetValue(verbose) ? Console.Out : null,
            };
            var started = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                // -v lines and a bar would interleave on one terminal: the names are the progress then
                Run(extractor, target, destination, nameInside,
                    showProgress: ProgressBars.Wanted(p.GetValue(quiet), json: false) && !p.GetValue(verbose));
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
            if (!p.GetValue(quiet)) Console.WriteLine(Summary(extractor, destination, started.Elapsed));
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>"restored 1,204 files and 37 folders (52.3 MiB) to /tmp/restore in 1.8 s", plus what -n kept.</summary>
    internal static string Summary(TreeExtractor extractor, string destination, TimeSpan elapsed)
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        string files = extractor.FilesDone == 1 ? "1 file" : string.Format(c, "{0:N0} files", extractor.FilesDone);
        string folders = extractor.DirectoriesDone == 0 ? "" : extractor.DirectoriesDone == 1 ? " and 1 folder" : string.Format(c, " and {0:N0} folders", extractor.DirectoriesDone);
        string skipped = extractor.Skipped == 0 ? "" : string.Format(c, "; {0:N0} kept as they were (--no-clobber)", extractor.Skipped);
        return string.Format(c, "restored {0}{1} ({2}) to {3} in {4:0.0} s{5}", files, folders, DiskJson.Human(extractor.BytesRestored),
            TerminalText.ForDiagnostic(Path.GetFullPath(destination)), elapsed.TotalSeconds, skipped);
    }

    private static void Run(TreeExtractor extractor, VolumeAccess.Target target, string destination, string? nameInside, bool showProgress)
    {
        if (!showProgress)
        {
            extractor.Extract(target.Inode, target.Where.Path, destination, nameInside);
            return;
        }
        var (files, bytes) = extractor.Measure(target.Inode);
        ProgressBars.ForBytes(ProgressBars.ErrorConsole())
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
