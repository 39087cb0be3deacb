using System.Security.Cryptography;
using System.Text.Json;
using VmdkMount.Core.Disks;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Fuse;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Corruption;

/// <summary>
/// A sample of the corpus through the `vmdkmount` command and a FUSE mount: each case written out once (a sparse copy
/// of the image, patched, under build/corpus/cli), then `volumes`, `ls -R`, `cat` and `check` within a time bound,
/// exiting 0, 1 or 2 with no internal error; `check` listing each problem once; the mount serving a bounded walk that
/// reads every file (EIO allowed) and still answering afterwards. The copies are hashed before and after: unchanged.
/// </summary>
[Collection("Corruption corpus")]
public sealed class CorpusCliTests
{
    private static readonly string Root = Path.Combine(RepoPaths.Root, "build", "corpus", "cli");

    /// <summary>A case as files on disk: DISK to give the CLI, whether it is a raw image, the files to hash.</summary>
    private sealed record Written(string Label, string Disk, bool Raw, IReadOnlyList<string> Files);

    private static Written WriteFs(string set, string name, string kind, Func<CorruptionCase, bool> pick)
    {
        string img = Path.Combine(TestImages.Get(set), name + ".img");
        CorruptionCase c;
        using (var disk = new RawDisk(img))
        {
            var intact = new SubRange(disk, 0, disk.Length);
            IntactTree tree;
            using (var fs = FormatRegistry.Default.Open(kind, intact, name)) tree = IntactTree.Of(fs);
            c = FileSystemCorpus.Generate(kind, $"{kind} {name}", intact, tree).First(pick);
        }
        string dir = Path.Combine(Root, $"{name}-{Mutations.Seed(c.ToString()):x8}");
        string copy = Path.Combine(dir, name + ".img");
        Materialize(dir, [img], copy, c);
        return new Written(c.ToString(), copy, true, [copy]);
    }

    private static Written WriteVmdk(string kind, IReadOnlyList<string> chainFiles, Func<CorruptionCase, bool> pick)
    {
        var (top, cases) = VmdkCorpusTests.Generate(kind);
        var c = cases.First(pick);
        string dir = Path.Combine(Root, $"{kind}-{Mutations.Seed(c.ToString()):x8}");
        var sources = chainFiles.Select(f => Path.Combine(Path.GetDirectoryName(top)!, f)).ToList();
        Materialize(dir, sources, Path.Combine(dir, Path.GetFileName(c.File!)), c);
        return new Written(c.ToString(), Path.Combine(dir, Path.GetFileName(top)), false, sources.Select(s => Path.Combine(dir, Path.GetFileName(s))).ToList());
    }

    /// <summary>Sparse copies of the files, the case's patches and cut applied to one; reused when already made.</summary>
    private static void Materialize(string dir, IReadOnlyList<string> sources, string corrupted, CorruptionCase c)
    {
        string stamp = Path.Combine(dir, ".complete");
        if (File.Exists(stamp)) return;
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        foreach (var s in sources) Tool.Run("cp", "--sparse=always", s, Path.Combine(dir, Path.GetFileName(s)));
        using (var f = new FileStream(corrupted, FileMode.Open, FileAccess.ReadWrite))
        {
            foreach (var p in c.Patches)
            {
                f.Position = p.Offset;
                f.Write(p.Bytes);
            }
            if (c.TruncateTo is { } cut) f.SetLength(cut);
        }
        File.WriteAllText(stamp, c.ToString());
    }

    private static Written Sample(string which) => which switch
    {
        "ext4 loop" => WriteFs("ext-basic", "ext4_4k", "ext4", c => c.Mutation.Contains("root (a loop)")),
        "ext4 extent tree loop" => WriteFs("ext-basic", "ext4_kernel", "ext4", c => c.Mutation == "extent tree points to itself"),
        "ext2 directory block" => WriteFs("ext-basic", "ext2_1k", "ext2", c => c.Structure.StartsWith("directory block", StringComparison.Ordinal) && c.Mutation.StartsWith("field", StringComparison.Ordinal)),
        "ntfs loop" => WriteFs("ntfs-basic", "basic", "ntfs", c => c.Mutation.Contains("own directory (a loop)")),
        "ntfs runlist" => WriteFs("ntfs-basic", "basic", "ntfs", c => c.Structure.StartsWith("runlist of attribute 0x80", StringComparison.Ordinal) && c.Mutation.StartsWith("field", StringComparison.Ordinal)),
        "fat32 cycle" => WriteFs("fat-basic", "fat32", "fat32", c => c.Mutation == "chain cycles to its start"),
        "fat16 loop" => WriteFs("fat-basic", "fat16", "fat16", c => c.Mutation.Contains("is its parent")),
        "exfat cross-link" => WriteFs("fat-exfat", "exfat", "exfat", c => c.Mutation.StartsWith("cross-linked", StringComparison.Ordinal)),
        "xfs v4 loop" => WriteFs("xfs-basic", "v4", "xfs", c => c.Mutation.Contains("root (a loop)")),
        "xfs attribute block" => WriteFs("xfs-xattr", "v5_4k", "xfs", c => c.Structure.StartsWith("attribute block", StringComparison.Ordinal)),
        "sparse shared grain table" => WriteVmdk("monolithicSparse", ["ms.vmdk"], c => c.Mutation.StartsWith("shares grain table", StringComparison.Ordinal)),
        "stream cut" => WriteVmdk("streamOptimized", ["so.vmdk"], c => c.Mutation.StartsWith("cut at", StringComparison.Ordinal) && c.TruncateTo > 512),
        "chain parent is itself" => WriteVmdk("chain", ["c4.vmdk", "c3.vmdk", "c2.vmdk", "c2-s001.vmdk", "c1.vmdk", "base.vmdk"], c => c.Mutation == "parent is itself"),
        "COWD grain table" => WriteVmdk("COWD", ["cowd.vmdk", "cowd-delta.vmdk", "ms-base.vmdk"], c => c.Structure.StartsWith("COWD grain table", StringComparison.Ordinal) && c.Mutation.StartsWith("field", StringComparison.Ordinal)),
        _ => WriteVmdk("seSparse", ["se.vmdk", "se-sesparse.vmdk", "ms-base.vmdk"], c => c.Structure == "SEsparse grain directory"),
    };

    public static TheoryData<string> CliSamples => ["ext4 loop", "ext4 extent tree loop", "ext2 directory block", "ntfs loop", "ntfs runlist", "fat32 cycle", "fat16 loop",
        "exfat cross-link", "xfs v4 loop", "xfs attribute block", "sparse shared grain table", "stream cut", "chain parent is itself", "COWD grain table", "seSparse grain directory"];

    private static readonly TimeSpan CommandBound = TimeSpan.FromSeconds(60);

    private static Tool.Result Cli(Written w, params string[] args)
    {
        var r = OurCli.Run(w.Raw ? [.. args, "--raw-input"] : args, timeout: CommandBound);
        Assert.True(r.ExitCode is 0 or 1 or 2, $"{w.Label}: `{string.Join(' ', args)}` exited {r.ExitCode}: {r.StdErr}");
        Assert.DoesNotContain("internal error", r.StdErr);
        Assert.DoesNotContain("Unhandled exception", r.StdErr);
        return r;
    }

    private static Dictionary<string, string> Hashes(Written w) =>
        w.Files.ToDictionary(f => f, f =>
        {
            using var s = File.OpenRead(f);
            return Convert.ToHexString(SHA256.HashData(s));
        });

    [Theory]
    [MemberData(nameof(CliSamples))]
    public void The_command_line_reads_a_corrupted_case_to_a_result_or_a_clear_error(string sample)
    {
        var w = Sample(sample);
        var before = Hashes(w);
        var volumes = Cli(w, "volumes", w.Disk, "--json");
        var ids = volumes.ExitCode == 0
            ? JsonDocument.Parse(volumes.StdOut).RootElement.GetProperty("volumes").EnumerateArray()
                .Where(v => v.GetProperty("mountable").GetBoolean()).Select(v => v.GetProperty("id").GetString()!).ToList()
            : [];
        foreach (var id in ids)
        {
            var ls = Cli(w, "ls", w.Disk, id + ":/", "-R", "--json");
            if (ls.ExitCode == 2) continue;
            var files = JsonDocument.Parse(ls.StdOut).RootElement.GetProperty("entries").EnumerateArray()
                .Where(e => e.GetProperty("type").GetString() == "file").Select(e => e.GetProperty("path").GetString()!).Take(3).ToList();
            foreach (var f in files) Cli(w, "cat", w.Disk, id + ":" + f);
        }
        var check = Cli(w, "check", w.Disk, "--json");
        if (check.StdOut.TrimStart().StartsWith('{'))
        {
            var lists = new List<List<string>>();
            var doc = JsonDocument.Parse(check.StdOut).RootElement;
            void Collect(JsonElement e)
            {
                var queue = new Queue<JsonElement>([e]);
                while (queue.Count > 0)
                {
                    var x = queue.Dequeue();
                    if (x.ValueKind == JsonValueKind.Object)
                        foreach (var p in x.EnumerateObject())
                        {
                            if (p.Name.EndsWith("roblems", StringComparison.Ordinal) && p.Value.ValueKind == JsonValueKind.Array)
                                lists.Add(p.Value.EnumerateArray().Select(v => v.ToString()).ToList());
                            else queue.Enqueue(p.Value);
                        }
                    else if (x.ValueKind == JsonValueKind.Array)
                        foreach (var v in x.EnumerateArray()) queue.Enqueue(v);
                }
            }
            Collect(doc);
            var all = lists.SelectMany(l => l).ToList();
            var twice = all.GroupBy(p => p).FirstOrDefault(g => g.Count() > 1);
            Assert.True(twice is null, $"{w.Label}: check reported a problem {twice?.Count()} times: {twice?.Key}");
        }
        Assert.Equal(before, Hashes(w));
    }

    public static TheoryData<string> MountSamples => ["ext4 loop", "fat32 cycle", "ntfs loop", "chain parent is itself", "sparse shared grain table"];

    [Theory]
    [MemberData(nameof(MountSamples))]
    public void A_mount_of_a_corrupted_case_serves_a_walk_and_stays_up(string sample)
    {
        var w = Sample(sample);
        var before = Hashes(w);
        string scratch = RepoPaths.NewScratch("corpus-mount");
        try
        {
            string mnt = Path.Combine(scratch, "mnt");
            CliMount mount;
            try
            {
                mount = new CliMount(w.Disk, mnt, Path.Combine(scratch, "state"), w.Raw ? ["--raw-input"] : []);
            }
            catch (InvalidOperationException e) when (e.Message.Contains("mount failed (2)", StringComparison.Ordinal))
            {
                // a chain that cannot be opened at all is refused before mounting, with exit code 2: a clear error
                Assert.DoesNotContain("internal error", e.Message);
                return;
            }
            using (mount)
            {
                var walk = Tool.Run("python3", ["-c", """
                    import os, stat, sys, time
                    root, deadline = sys.argv[1], time.time() + 30
                    files = errors = 0
                    for d, dirs, names in os.walk(root, onerror=lambda e: None):
                        if time.time() > deadline: break
                        for n in names:
                            # regular files only: a FIFO would wait for a writer, a device is the host's
                            try:
                                if not stat.S_ISREG(os.lstat(os.path.join(d, n)).st_mode): continue
                                files += 1
                                with open(os.path.join(d, n), 'rb') as f: f.read(1 << 20)
                            except OSError as e:
                                errors += 1
                    print(files, errors)
                    """, mnt], timeout: TimeSpan.FromSeconds(90));
                Assert.Matches(@"^\d+ \d+", walk.StdOut);
                Assert.NotEmpty(Directory.GetFileSystemEntries(mnt));
                Assert.DoesNotContain("Unhandled exception", mount.LogText);
            }
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
        Assert.Equal(before, Hashes(w));
    }
}
