using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Mounting;
using VmdkMount.Core.Mounting.RestorePoints;

namespace VmdkMount.Cli.Commands;

/// <summary>
/// `vmdkmount versions DISK VOL:/path [--json] [--hash]`: every restore point where the path exists, newest first,
/// and whether each version reads differently from the next newer one (from the chain's allocation where it can tell).
/// </summary>
internal static class VersionsCommand
{
    public static Command Create()
    {
        var options = new PointOptions();
        var path = new Argument<string>("VOL:/path") { Description = "volume id as `volumes` prints it, then a path in it: p1:/docs/invoice.xlsx" };
        var hash = new Option<bool>("--hash") { Description = "add the sha256 of each version (reads every version)" };
        var command = new Command("versions", "every restore point where a path exists, newest first: point, link time, size, mtime, changed from the next newer");
        options.AddTo(command);
        command.Arguments.Add(path);
        command.Options.Add(hash);
        command.SetAction(p => CliCommon.Run(() =>
        {
            string text = p.GetValue(path)!;
            RawArguments.RequireUtf8(text, text, "; type a name as `ls` shows it (other bytes appear escaped, as %XX)");
            var where = VolumePath.Parse(text);
            using var points = options.Open(p);
            var versions = VersionHistory.Of(points, where);
            if (versions.Count == 0)
                throw new Core.Errors.PathNotFoundException($"{where}: exists in none of the {points.Count} restore points");
            bool json = p.GetValue(options.Json);
            using var stdout = Console.OpenStandardOutput();
            using var writer = json ? new Utf8JsonWriter(stdout) : null;
            using var textOut = json ? null : new StreamWriter(stdout, leaveOpen: true);
            writer?.WriteStartObject();
            writer?.WriteString("path", where.ToString());
            writer?.WriteStartArray("versions");
            foreach (var v in versions)
            {
                var link = points.Link(v.Point);
                string? sha = p.GetValue(hash) && v.Node.Type == FsNodeType.File ? Sha256(v.Inode) : null;
                var linkTime = PointOptions.LinkTime(link.Path);
                if (writer is not null)
                {
                    writer.WriteStartObject();
                    writer.WriteNumber("point", v.Point);
                    writer.WriteString("link", link.Path);
                    writer.WriteString("file", Path.GetFileName(link.Path));
                    if (linkTime is { } lt) writer.WriteString("linkTime", lt.ToString("o"));
                    else writer.WriteNull("linkTime");
                    writer.WriteString("type", NodeFormat.TypeWord(v.Node.Type));
                    writer.WriteNumber("size", v.Node.Size);
                    writer.WriteString("mtime", NodeFormat.Time(v.Node.Modified));
                    if (v.Changed is { } c) writer.WriteBoolean("changed", c);
                    else writer.WriteNull("changed");
                    if (v.By is { } by) writer.WriteString("decidedBy", Evidence(by));
                    else writer.WriteNull("decidedBy");
                    if (sha is not null) writer.WriteString("sha256", sha);
                    writer.WriteEndObject();
                }
                else
                {
                    string changed = v.Changed switch { true => "changed", false => "same", null => "newest" };
                    textOut!.WriteLine($"{v.Point,4} {TerminalText.ForOutput(Path.GetFileName(link.Path), !Console.IsOutputRedirected)}  " +
                        $"{linkTime?.ToString("yyyy-MM-dd HH:mm:ss") ?? "-"}  {v.Node.Size,12}  {NodeFormat.Time(v.Node.Modified)}  {changed}" +
                        (sha is null ? "" : "  " + sha));
                }
            }
            writer?.WriteEndArray();
            if (writer is not null) DiskJson.WriteWarnings(writer, points.Chain.Warnings);
            writer?.WriteEndObject();
            return ExitCodes.Ok;
        }));
        return command;
    }

    internal static string Evidence(SamenessEvidence by) => by switch
    {
        SamenessEvidence.Attributes => "attributes",
        SamenessEvidence.Allocation => "allocation",
        _ => "bytes",
    };

    private static string Sha256(MountInode inode)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        var fs = inode.FileSystem!;
        for (long pos = 0; pos < inode.Node!.Size;)
        {
            int n = fs.Read(inode.Node.Id, pos, buffer);
            if (n <= 0) break;
            sha.AppendData(buffer, 0, n);
            pos += n;
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
