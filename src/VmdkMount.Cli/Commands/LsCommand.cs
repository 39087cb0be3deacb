using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Mounting;

namespace VmdkMount.Cli.Commands;

/// <summary>
/// `vmdkmount ls DISK VOL:/path [-l] [-R] [--json]`. Text output renders names with <see cref="TerminalText"/>
/// (shell-escape quoting on a terminal; exact but never a raw control character when redirected); JSON carries them
/// exactly. Entries a reader cannot show (<see cref="IReportsUnshownEntries"/>) are named on stderr, listed under
/// "unshown" in JSON, and make the exit code 1. As GNU ls does, text output leaves out dot entries unless `-a` (which
/// also shows `.` and `..` of a listed folder), `-h` gives sizes in K/M/G, and `-l` shows times in the local time zone
/// (`--utc` for UTC) with numeric owner and group where the filesystem records them. JSON always carries every entry.
/// </summary>
internal static class LsCommand
{
    public static Command Create()
    {
        var access = new VolumeAccess();
        var longOpt = new Option<bool>("-l") { Description = "long listing: type and mode, links, size, mtime, name -> target" };
        var recursive = new Option<bool>("-R", "--recursive") { Description = "every descendant, depth first" };
        var all = new Option<bool>("-a", "--all") { Description = "also show entries whose names start with '.' (and . and ..), as ls -a" };
        var human = new Option<bool>("-h", "--human-readable") { Description = "with -l: sizes as 1.5K, 23M, 4.0G (powers of 1024), as ls -h; help is --help or -?" };
        var utc = new Option<bool>("--utc") { Description = "with -l: times in UTC rather than the local time zone" };
        var json = CliCommon.JsonOption();
        var command = new Command("ls", "list a directory (or describe one file) inside a volume; without VOL:/path, the volumes");
        access.AddTo(command);
        access.Path.Arity = ArgumentArity.ZeroOrOne;
        command.Options.Add(longOpt);
        command.Options.Add(recursive);
        command.Options.Add(all);
        command.Options.Add(human);
        command.Options.Add(utc);
        command.Options.Add(json);
        command.SetAction(p => CliCommon.Run(() =>
        {
            if (p.GetValue(access.Path) is null)
                return VolumesCommand.List(CliCommon.Disks([p.GetValue(access.Disk)!], p.GetValue(access.MoreDisks)),
                    CliCommon.DiskOptions(p, access.IgnoreCid, access.RawInput), p.GetValue(json));
            using var target = access.Open(p, followLastSymlink: true);
            var lister = new Lister(target.Tree, p.GetValue(longOpt), p.GetValue(recursive), p.GetValue(json))
            {
                Terminal = !Console.IsOutputRedirected,
                All = p.GetValue(all),
                HumanSizes = p.GetValue(human),
                Utc = p.GetValue(utc),
                Warnings = DiskJson.Warnings(target.Disk).Concat(target.Fs.Warnings),
            };
            return lister.Run(target.Where.Volume, target.Where.Path, target.Inode);
        }));
        return command;
    }

    /// <summary>
    /// Lists through the mount model (<see cref="MountTree"/>), as a mount would show the same folders; each folder is
    /// passed (<see cref="MountTree.Passed"/>) once its entries are taken, so `-R` over millions of files holds only
    /// the folders still to be shown.
    /// </summary>
    internal sealed class Lister(MountTree tree, bool longFormat, bool recursive, bool json)
    {
        private bool _failed;
        private string _volume = "";
        private readonly List<(string Dir, UnshownEntry Entry)> _unshown = [];

        /// <summary>Stdout is a terminal: names are shell-escape quoted as GNU ls does there.</summary>
        public bool Terminal { get; init; }

        /// <summary>What the disk and filesystem said while opening: the JSON document's "warnings".</summary>
        public IEnumerable<string> Warnings { get; init; } = [];

        /// <summary>-a: dot entries too (JSON has them always).</summary>
        public bool All { get; init; }

        /// <summary>-h: sizes in powers of 1024 with a unit letter.</summary>
        public bool HumanSizes { get; init; }

        /// <summary>--utc: long-format times in UTC instead of the local zone.</summary>
        public bool Utc { get; init; }

        /// <summary>What text output leaves out without -a, as ls does: names starting with a dot.</summary>
        private bool Hidden(string name) => !json && !All && name.StartsWith('.');

        public int Run(string volume, string path, MountInode start)
        {
            using var stdout = Console.OpenStandardOutput();
            return Run(volume, path, start, stdout);
        }

        public int Run(string volume, string path, MountInode start, Stream stdout)
        {
            using var writer = json ? new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = false }) : null;
            using var text = json ? null : new StreamWriter(stdout, leaveOpen: true) { AutoFlush = false };
            _volume = volume;
            writer?.WriteStartObject();
            writer?.WriteString("volume", volume);
            writer?.WriteStartArray("entries");

            string basePath = path == "/" ? "" : path.TrimEnd('/');
            if (!start.IsDirectory)
            {
                Emit(writer, text, path, Path.GetFileName(basePath), start, showPath: true);
            }
            else
            {
                // Depth first without recursion: a stack of (directory path, its entries still to show).
                var stack = new Stack<(string Dir, IEnumerator<(string Name, MountInode Inode)> Entries)>();
                // A damaged volume can link a directory back to an ancestor: each directory is walked once.
                var visited = new HashSet<long> { start.Node!.Id };
                if (All && !json && !recursive)
                {
                    Emit(writer, text, path, ".", start, showPath: false);
                    string parentPath = basePath.Length == 0 ? "/" : basePath[..Math.Max(1, basePath.LastIndexOf('/'))];
                    Emit(writer, text, parentPath, "..", tree.Resolve(parentPath) ?? start, showPath: false);
                }
                stack.Push((basePath, Entries(start, path)));
                while (stack.Count > 0)
                {
                    var (dir, entries) = stack.Peek();
                    if (!entries.MoveNext())
                    {
                        entries.Dispose();
                        stack.Pop();
                        continue;
                    }
                    var (name, child) = entries.Current;
                    string childPath = dir + "/" + name;
                    Emit(writer, text, childPath, name, child, showPath: recursive);
                    if (recursive && child.IsDirectory)
                    {
                        if (stack.Count > 4096)
                            Fail($"{volume}:{childPath}: directory tree deeper than 4096 levels; not descending");
                        else if (!visited.Add(child.Node!.Id))
                            Fail($"{volume}:{childPath}: directory already listed under another path (a loop in a damaged volume); not descending");
                        else
                            stack.Push((childPath, Entries(child, childPath)));
                    }
                }
            }

            writer?.WriteEndArray();
            if (writer is not null && _unshown.Count > 0)
            {
                writer.WriteStartArray("unshown");
                foreach (var (dir, u) in _unshown)
                {
                    writer.WriteStartObject();
                    writer.WriteString("path", dir.Length == 0 ? "/" : dir);
                    writer.WriteString("name", u.Name);
                    writer.WriteNumber("inode", u.Id);
                    writer.WriteString("reason", u.Reason);
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
            }
            if (writer is not null) DiskJson.WriteWarnings(writer, Warnings);
            writer?.WriteEndObject();
            writer?.Flush();
            text?.Flush();
            if (json) stdout.WriteByte((byte)'\n');
            return _failed ? ExitCodes.Problems : ExitCodes.Ok;
        }

        private IEnumerator<(string Name, MountInode Inode)> Entries(MountInode dir, string path)
        {
            try
            {
                var list = tree.List(dir).Where(e => !Hidden(e.Name)).OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
                tree.Passed(dir);
                if (dir.FileSystem is IReportsUnshownEntries reports)
                    foreach (var u in reports.UnshownEntries(dir.Node!.Id))
                    {
                        string shown = path == "/" ? "" : path.TrimEnd('/');
                        _unshown.Add((shown, u));
                        Fail($"{_volume}:{(shown.Length == 0 ? "/" : shown)}: entry '{u.Name}' (inode {u.Id}) cannot be shown: {u.Reason}");
                    }
                return list.GetEnumerator();
            }
            catch (VmdkMountException e)
            {
                Fail($"{path}: {e.Message}");
                return Enumerable.Empty<(string, MountInode)>().GetEnumerator();
            }
        }

        /// <summary>What a link shows: confined to the volume from its own place (absolute stays absolute, relative relative).</summary>
        private static string ConfinedTarget(string raw, string linkPath)
        {
            var components = VolumePath.Components(linkPath);
            var directory = components.Take(Math.Max(0, components.Length - 1)).ToList();
            return raw.StartsWith('/') ? LinkTarget.VolumeAbsolute(raw, directory) : LinkTarget.RelativeKeepingSafeText(raw, directory);
        }

        private void Emit(Utf8JsonWriter? writer, StreamWriter? text, string path, string name, MountInode inode, bool showPath)
        {
            var node = inode.Node!;
            var fs = inode.FileSystem!;
            string? target = null;
            IReadOnlyList<FsStream> streams = [];
            try
            {
                if (node.Type == FsNodeType.Symlink)
                    target = ConfinedTarget(fs is ISymlinkReader links ? links.ReadLink(node.Id) : throw MissingCapability.NoSymlinks(fs, node.Id), path);
                if (json && node.Type == FsNodeType.File) streams = tree.Streams(inode);
            }
            catch (VmdkMountException e)
            {
                Fail($"{path}: {e.Message}");
            }
            if (writer is not null)
            {
                NodeFormat.WriteJson(writer, path, name, node, target, streams);
                return;
            }
            string shown = TerminalText.ForOutput(showPath ? path : name, Terminal);
            if (!longFormat)
            {
                text!.Write(shown);
                text.Write('\n');
                return;
            }
            text!.Write(NodeFormat.ModeString(node));
            text.Write(' ');
            text.Write(node.Links.ToString(CultureInfo.InvariantCulture).PadLeft(3));
            text.Write(' ');
            if (node.Uid is { } uid)
            {
                text.Write(uid.ToString(CultureInfo.InvariantCulture).PadLeft(5));
                text.Write(' ');
                text.Write((node.Gid ?? 0).ToString(CultureInfo.InvariantCulture).PadLeft(5));
                text.Write(' ');
            }
            text.Write((HumanSizes ? NodeFormat.HumanSize(node.Size) : node.Size.ToString(CultureInfo.InvariantCulture)).PadLeft(HumanSizes ? 5 : 12));
            text.Write(' ');
            text.Write(node.Modified is { } m ? NodeFormat.ListingTime(m, Utc) : "                   ");
            text.Write(' ');
            text.Write(shown);
            if (target is not null) text.Write(" -> " + TerminalText.ForOutput(target, Terminal));
            text.Write('\n');
        }

        private void Fail(string message)
        {
            _failed = true;
            Console.Error.WriteLine($"vmdkmount: {message}");
        }
    }
}
