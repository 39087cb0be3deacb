using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Ntfs;

/// <summary>Whole volumes against the independent readers: the ntfs-3g mount (manifest) and sleuthkit (fls).</summary>
public class NtfsOracleTests
{
    /// <summary>Entries ntfs-3g cannot show as they are (it lists dedup/cloud placeholders as broken symlinks, and reads EFS ciphertext).</summary>
    private static bool IsPlaceholder(OracleEntry o) =>
        o.Target?.StartsWith("unsupported reparse tag", StringComparison.Ordinal) == true && !o.Target.EndsWith("a000000c", StringComparison.Ordinal);

    /// <summary>ntfs-3g counts the DOS 8.3 alias as a link; we do not (issue 4: links without DOS aliases).</summary>
    private static readonly HashSet<string> HasDosAlias = ["/A long file name.txt"];

    [Theory]
    [InlineData("basic")]
    [InlineData("c512")]
    [InlineData("c2k")]
    [InlineData("c64k")]
    [InlineData("c2m")]
    public void Every_entry_size_hash_and_stream_matches_the_ntfs3g_mount(string name)
    {
        string dir = TestImages.Get("ntfs-basic");
        using var vol = new NtfsVolume(Path.Combine(dir, name + ".img"));
        CompareWithManifest(vol, Path.Combine(dir, name + ".manifest.json"), p => p.StartsWith("/surrogates", StringComparison.Ordinal));
    }

    [Fact]
    public void Fragmented_file_and_fragmented_mft_match_the_ntfs3g_mount()
    {
        string dir = TestImages.Get("ntfs-large");
        using var vol = new NtfsVolume(Path.Combine(dir, "frag.img"));
        // the premise: sleuthkit sees $MFT and the file with attribute lists and extension records
        Assert.Contains("$ATTRIBUTE_LIST", File.ReadAllText(Path.Combine(dir, "frag.mft.istat")));
        Assert.Contains("$ATTRIBUTE_LIST", File.ReadAllText(Path.Combine(dir, "frag.file.istat")));
        CompareWithManifest(vol, Path.Combine(dir, "frag.manifest.json"), null);
        var expected = new byte[1400 * 4096];
        for (int i = 0; i < expected.Length; i++) expected[i] = (byte)((i * 7 + 3) % 251);
        Assert.Equal(Hashing.Sha256(expected), vol.HashFile(vol.Resolve("/fragmented.bin").Id, null));
    }

    internal static void CompareWithManifest(NtfsVolume vol, string manifest, Func<string, bool>? skip)
    {
        var ours = vol.Walk(skip: skip);
        var oracle = OracleEntry.Load(manifest);
        var problems = new List<string>();
        foreach (var o in oracle)
        {
            if (!ours.TryGetValue(o.Path, out var e)) { problems.Add($"missing {o.Path}"); continue; }
            if (e.Node.Id != o.Inode) problems.Add($"{o.Path}: inode {e.Node.Id}, ntfs-3g {o.Inode}");
            if (o.MtimeNs is not null && (NtfsVolume.Ns(e.Node.Modified) != o.MtimeNs || NtfsVolume.Ns(e.Node.Accessed) != o.AtimeNs || NtfsVolume.Ns(e.Node.Changed) != o.CtimeNs))
                problems.Add($"{o.Path}: times m/a/c {NtfsVolume.Ns(e.Node.Modified)}/{NtfsVolume.Ns(e.Node.Accessed)}/{NtfsVolume.Ns(e.Node.Changed)}, ntfs-3g {o.MtimeNs}/{o.AtimeNs}/{o.CtimeNs}");
            if (o.Path.StartsWith("/wsl/", StringComparison.Ordinal)) continue; // WSL special files: NtfsFeatureTests
            if (IsPlaceholder(o))
            {
                if (e.Node.Type != FsNodeType.File || (e.Node.Attributes & FsAttributes.ReparsePoint) == 0)
                    problems.Add($"{o.Path}: placeholder shown as {e.Node.Type} {e.Node.Attributes}");
                continue;
            }
            string type = e.Node.Type switch { FsNodeType.File => "file", FsNodeType.Directory => "dir", FsNodeType.Symlink => "symlink", _ => "other" };
            if (type != o.Type) { problems.Add($"{o.Path}: type {type}, ntfs-3g {o.Type}"); continue; }
            if (o.Type != "dir" && e.Node.Links != o.Links - (HasDosAlias.Contains(o.Path) ? 1 : 0)) problems.Add($"{o.Path}: links {e.Node.Links}, ntfs-3g {o.Links}");
            if (o.Type == "file")
            {
                if (e.Node.Size != o.Size) problems.Add($"{o.Path}: size {e.Node.Size}, ntfs-3g {o.Size}");
                if ((e.Node.Attributes & FsAttributes.Encrypted) != 0) continue; // checked by the EFS test
                if (e.Sha256 != o.Sha256) problems.Add($"{o.Path}: sha256 {e.Sha256}, ntfs-3g {o.Sha256}");
            }
            var ourStreams = e.Streams.Select(s => $"{s.Name} {s.Size} {s.Sha256}").Order().ToList();
            var theirStreams = o.Streams.Select(s => $"{s.Name} {s.Size} {s.Sha256}").Order().ToList();
            if (!ourStreams.SequenceEqual(theirStreams))
                problems.Add($"{o.Path}: streams [{string.Join(", ", ourStreams)}], ntfs-3g [{string.Join(", ", theirStreams)}]");
        }
        var oraclePaths = oracle.Select(o => o.Path).ToHashSet();
        foreach (var p in ours.Keys.Where(p => !oraclePaths.Contains(p)))
            problems.Add($"extra {p}");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.True(oracle.Count > 40, "oracle is suspiciously small");
        Assert.True(oracle.All(o => o.MtimeNs is not null), "oracle has no times");
    }

    [Theory]
    [InlineData("basic")]
    [InlineData("c512")]
    [InlineData("c64k")]
    public void Every_path_sleuthkit_lists_resolves_to_the_same_record(string name)
    {
        string dir = TestImages.Get("ntfs-basic");
        using var vol = new NtfsVolume(Path.Combine(dir, name + ".img"), new FileSystemOptions { ShowSystemFiles = true });
        var fls = FlsEntry.Load(Path.Combine(dir, name + ".fls"));
        Assert.NotEmpty(fls);
        var problems = new List<string>();
        foreach (var f in fls)
        {
            if (f.Path.StartsWith("$OrphanFiles", StringComparison.Ordinal) || f.Path.Contains("surrogates/")) continue;
            string path = f.Path;
            string? stream = null;
            int colon = path.IndexOf(':', path.LastIndexOf('/') + 1);
            if (colon >= 0) { stream = path[(colon + 1)..]; path = path[..colon]; }
            if (path.EndsWith("/.", StringComparison.Ordinal)) path = path[..^2]; // fls names a directory's stream "dir/.:name"
            try
            {
                var node = vol.Resolve(path);
                if (node.Id != f.Record) problems.Add($"{f.Path}: record {node.Id}, fls {f.Record}");
                if (stream is not null && f.AttributeType == 128 && !vol.Fs.Streams().ListStreams(node.Id).Any(s => s.Name == stream))
                    problems.Add($"{f.Path}: stream not listed");
            }
            catch (Xunit.Sdk.XunitException ex) { problems.Add(ex.Message); }
            catch (VmdkMountException ex) { problems.Add($"{f.Path}: {ex.Message}"); }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
