using System.Text;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Ntfs;

/// <summary>A 100,000-entry directory (images/ntfs-large.sh big.img) against the ntfs-3g mount's `find -printf '%i %f'`.</summary>
public class NtfsLargeDirectoryTests
{
    [Fact]
    public void Hundred_thousand_entries_list_and_look_up_like_ntfs3g()
    {
        string dir = TestImages.Get("ntfs-large");
        var expected = File.ReadAllLines(Path.Combine(dir, "big.names"))
            .Select(l => l.Split(' ', 2)).ToDictionary(p => p[1], p => long.Parse(p[0]), StringComparer.Ordinal);
        Assert.Equal(100_000, expected.Count);
        using var vol = new NtfsVolume(Path.Combine(dir, "big.img"));
        var huge = vol.Resolve("/huge");
        var listed = vol.Fs.List(huge.Id).ToList();
        Assert.Equal(expected.Count, listed.Count);
        foreach (var e in listed) Assert.Equal(expected[e.Name], e.Node.Id);
        // listing is in $UpCase collation order, as the B-tree stores it
        Assert.Equal(listed.Select(e => e.Name).Order(StringComparer.OrdinalIgnoreCase), listed.Select(e => e.Name));
        var rnd = new Random(100);
        var names = expected.Keys.ToArray();
        for (int i = 0; i < 2000; i++)
        {
            string n = names[rnd.Next(names.Length)];
            string asked = i % 2 == 0 ? n : n.ToUpperInvariant();
            Assert.Equal(expected[n], vol.Fs.Lookup(huge.Id, asked)?.Id);
        }
        Assert.Null(vol.Fs.Lookup(huge.Id, "file_100001.dat"));
        Assert.Null(vol.Fs.Lookup(huge.Id, "file_000000.dat"));
        var needle = vol.Fs.Lookup(huge.Id, "FILE_054321.DAT")!;
        Assert.Equal("needle\n", Encoding.ASCII.GetString(vol.ReadAll(needle.Id)));
    }
}
