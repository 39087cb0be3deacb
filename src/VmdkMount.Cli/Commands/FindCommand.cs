using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Mounting;

namespace VmdkMount.Cli.Commands;

/// <summary>
/// `vmdkmount find DISK [VOL:/path] [--name GLOB] [--iname GLOB] [--newer DATE] [--older DATE] [--size +N|-N|N]
/// [--type f|d|l] [--json] [-0]`: what `find` does, across every volume of the disk or below one path, for "get me
/// last Tuesday's invoice". It walks the mount model depth first, each folder let go once passed, so a volume of
/// millions of files costs the stack of folders being walked; a loop in a damaged volume is walked once.
/// </summary>
internal static class FindCommand
{
    /// <summary>As `ls -R`: deeper than this is a damaged volume.</summary>
    private const int MaxDepth = 4096;

    public static Command Create()
    {
        var disk = CliCommon.DiskArgument();
        var more = CliCommon.DiskOption();
        var where = new Argument<string?>("VOL:/path") { Description = "search only below this path (default: every volume)", Arity = ArgumentArity.ZeroOrOne };
        var name = new Option<string?>("--name") { Description = "the entry's name matches this glob (*, ?, [abc], [!abc]), case as stored", HelpName = "GLOB" };
        var iname = new Option<string?>("--iname") { Description = "the same, ignoring case", HelpName = "GLOB" };
        var newer = new Option<string?>("--newer") { Description = "modified after DATE: 2026-11-24, 2026-11-24T18:00 (local time unless a zone is given), or 3d, 12h, 30m ago", HelpName = "DATE" };
        var older = new Option<string?>("--older") { Description = "modified before DATE (same forms as --newer)", HelpName = "DATE" };
        var size = new Option<string?>("--size") { Description = "+N larger than N bytes, -N smaller, N exactly; suffixes k, M, G (1024-based)", HelpName = "[+-]N" };
        var type = new Option<string?>("--type") { Description = "f file, d directory, l symbolic link", HelpName = "f|d|l" };
        var json = CliCommon.JsonOption();
        var nul = new Option<bool>("-0", "--print0") { Description = "VOL:/path of each match followed by a NUL, for xargs -0" };
        var ignoreCid = CliCommon.IgnoreCidOption();
        var rawInput = CliCommon.RawInputOption();
        var system = new Option<bool>("--system") { Description = "also search filesystem metafiles ($MFT, $LogFile, ...)" };
        var command = new Command("find", "search files by name, time, size and type across the volumes of a disk, as find does")
        {
            disk, where, more, name, iname, newer, older, size, type, json, nul, ignoreCid, rawInput, system,
        };
        command.SetAction(p => CliCommon.Run(() =>
        {
            var match = new FindFilter
            {
                Name = p.GetValue(name) is { } g ? Glob.Compile(g, ignoreCase: false) : p.GetValue(iname) is { } ig ? Glob.Compile(ig, ignoreCase: true) : null,
                NewerThan = p.GetValue(newer) is { } n ? FindFilter.ParseDate(n, "--newer") : null,
                OlderThan = p.GetValue(older) is { } o ? FindFilter.ParseDate(o, "--older") : null,
                Size = p.GetValue(size) is { } s ? FindFilter.ParseSize(s) : null,
                Type = p.GetValue(type) is { } t ? FindFilter.ParseType(t) : null,
            };
            string? scope = p.GetValue(where);
            if (scope is not null) RawArguments.RequireUtf8(scope, scope, "; type a name as `ls` shows it");
            using var mounted = MountedDisk.Open(CliCommon.Disks([p.GetValue(disk)!], p.GetValue(more)), CliCommon.DiskOptions(p, ignoreCid, rawInput),
                new FileSystemOptions { ShowSystemFiles = p.GetValue(system) });
            var tree = new MountTree(mounted, new MountTreeOptions { Retention = NodeRetention.UntilPassed }, m => Console.Error.WriteLine($"vmdkmount: {m}"));
            var finder = new Finder(tree, match, p.GetValue(json), p.GetValue(nul)) { Terminal = !Console.IsOutputRedirected, Warnings = () => DiskJson.Warnings(mounted) };
            return finder.Run(scope is null ? null : VolumePath.Parse(scope));
        }));
        return command;
    }

    internal sealed class Finder(MountTree tree, FindFilter filter, bool json, bool nul)
    {
        private bool _failed;

        public bool Terminal { get; init; }

        /// <summary>What the disks said while opening, asked when the document ends: the JSON "warnings".</summary>
        public Func<IEnumerable<string>> Warnings { get; init; } = () => [];

        public int Run(VolumePath? scope)
        {
            using var stdout = Console.OpenStandardOutput();
            return Run(scope, stdout);
        }

        public int Run(VolumePath? scope, Stream stdout)
        {
            using var writer = json ? new Utf8JsonWriter(stdout) : null;
            using var text = json ? null : new StreamWriter(stdout, new UTF8Encoding(false), leaveOpen: true);
            writer?.WriteStartObject();
            writer?.WriteStartArray("matches");
            // (volume, path, node) still to visit: depth first, names in order
            var pending = new Stack<(string Volume, string Path, MountInode Node, int Depth)>();
            if (scope is { } s)
            {
                var start = tree.ResolveFollowingLinks($"/{s.Volume}{s.Path}", followLast: true, s.ToString());
                pending.Push((s.Volume, s.Path == "/" ? "" : s.Path.TrimEnd('/'), start, 0));
            }
            else
            {
                foreach (var (volumeName, volume) in Sorted(tree.List(tree.Root)).Reverse())
                    if (volume.IsDirectory) pending.Push((volumeName, "", volume, 0));
            }
            var visited = new HashSet<(string, long)>();
            while (pending.Count > 0)
            {
                var (volume, path, node, depth) = pending.Pop();
                if ((depth > 0 || !node.IsDirectory) && filter.Matches(Path.GetFileName(path), node.Node!)) Emit(writer, text, volume, path.Length == 0 ? "/" : path, node.Node!);
                if (!node.IsDirectory) continue;
                if (node.Kind == MountNodeKind.UnreadableVolume)
                {
                    Fail($"{volume}: {node.Error}");
                    continue;
                }
                if (depth >= MaxDepth)
                {
                    Fail($"{volume}:{path}: directory tree deeper than {MaxDepth} levels; not descending");
                    continue;
                }
                if (!visited.Add((volume, node.Node!.Id)))
                {
                    Fail($"{volume}:{path}: directory already searched under another path (a loop in a damaged volume); not descending");
                    continue;
                }
                IReadOnlyList<(string Name, MountInode Inode)> children;
                try
                {
                    children = Sorted(tree.List(node));
                    tree.Passed(node);
                }
                catch (VmdkMountException e)
                {
                    Fail($"{volume}:{(path.Length == 0 ? "/" : path)}: {e.Message}");
                    continue;
                }
                for (int i = children.Count - 1; i >= 0; i--)
                    pending.Push((volume, path + "/" + children[i].Name, children[i].Inode, depth + 1));
            }
            writer?.WriteEndArray();
            if (writer is not null) DiskJson.WriteWarnings(writer, Warnings());
            writer?.WriteEndObject();
            writer?.Flush();
            text?.Flush();
            if (json) stdout.WriteByte((byte)'\n');
            return _failed ? ExitCodes.Problems : ExitCodes.Ok;
        }

        private static IReadOnlyList<(string Name, MountInode Inode)> Sorted(IReadOnlyList<(string Name, MountInode Inode)> entries) =>
            entries.OrderBy(e => e.Name, StringComparer.Ordinal).ToList();

        private void Emit(Utf8JsonWriter? writer, StreamWriter? text, string volume, string path, FsNode node)
        {
            if (writer is not null)
            {
                writer.WriteStartObject();
                writer.WriteString("volume", volume);
                writer.WriteString("path", path);
                writer.WriteString("type", NodeFormat.TypeWord(node.Type));
                writer.WriteNumber("size", node.Size);
                if (node.Modified is { } m)
                    writer.WriteString("mtime", m.ToDateTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
                writer.WriteEndObject();
                return;
            }
            string shown = $"{volume}:{path}";
            if (nul)
            {
                text!.Write(shown);
                text.Write('\0');
                return;
            }
            text!.Write(TerminalText.ForOutput(shown, Terminal));
            text.Write('\n');
        }

        private void Fail(string message)
        {
            _failed = true;
            Console.Error.WriteLine($"vmdkmount: {message}");
        }
    }
}
