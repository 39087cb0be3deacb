using System.Text.Json;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Cli;

/// <summary>
/// `map` names each range by the file holding its bytes, as `qemu-img map` does: on a chain whose base is split into
/// 2 GiB extent files (twoGbMaxExtentSparse, by qemu-img) under a monolithic child, every range qemu-img reports lies
/// in ranges of ours naming the same file, and the allocated bytes agree.
/// </summary>
public sealed class MapFileTests : IDisposable
{
    private readonly string _dir = RepoPaths.NewScratch("map-file");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Every_range_is_named_by_the_file_qemu_img_names()
    {
        Tool.Bash("""
            qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentSparse base.vmdk 5G
            qemu-io -f vmdk -c 'write -P 1 0 128k' -c 'write -P 2 2047M 2M' -c 'write -P 3 4600M 64k' base.vmdk >/dev/null
            qemu-img create -q -f vmdk -b base.vmdk -F vmdk child.vmdk
            qemu-io -f vmdk -c 'write -P 4 64k 64k' -c 'write -P 5 3G 64k' child.vmdk >/dev/null
            """, _dir);
        string child = Path.Combine(_dir, "child.vmdk");
        Assert.True(Directory.GetFiles(_dir, "base-s00*.vmdk").Length >= 3, "the base is split into extent files");

        var ours = JsonDocument.Parse(OurCli.Run("map", child, "--json").StdOut).RootElement;
        var ranges = ours.GetProperty("ranges").EnumerateArray()
            .Select(r => (Offset: r.GetProperty("offset").GetInt64(), Length: r.GetProperty("length").GetInt64(), File: r.GetProperty("file").GetString()!))
            .ToList();

        var qemu = Tool.Run("qemu-img", "map", "-f", "vmdk", child).StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToList();
        Assert.True(qemu.Count >= 5, string.Join('\n', qemu));
        var files = new HashSet<string>();
        foreach (var line in qemu)
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long offset = Convert.ToInt64(f[0], 16), length = Convert.ToInt64(f[1], 16);
            string file = Path.GetFileName(f[3]);
            files.Add(file);
            long covered = 0;
            foreach (var r in ranges.Where(r => r.Offset < offset + length && r.Offset + r.Length > offset))
            {
                Assert.Equal(file, Path.GetFileName(r.File));
                covered += Math.Min(r.Offset + r.Length, offset + length) - Math.Max(r.Offset, offset);
            }
            Assert.True(covered == length, $"qemu-img's range {line} is covered by {covered} bytes of ours");
        }
        Assert.Contains("child.vmdk", files);
        Assert.True(files.Count(f => f.StartsWith("base-s00", StringComparison.Ordinal)) >= 3, string.Join(", ", files));

        var text = OurCli.Run("map", child).StdOut;
        Assert.Contains("base-s002.vmdk", text);
        Assert.Contains(" file", text.Split('\n')[0]);
    }
}
