using VmdkMount.Tests.Infrastructure;
using static VmdkMount.Tests.Safety.RestoreSafetyKit;

namespace VmdkMount.Tests.Safety;

/// <summary>
/// `extract` against hostile images (duplicated names, a raw-byte name beside its escape, links to /etc and up out of
/// the tree) and hostile destinations (symlinks planted where folders and files go): nothing outside DEST changes,
/// no restored link resolves outside DEST, chain files are never overwritten, an interrupt leaves only whole files.
/// </summary>
public class ExtractSafetyTests
{
    private static string Hostile => Path.Combine(Images, "hostile.img");
    private static string BigSparse => Path.Combine(Images, "bigsparse.img");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Hostile_tree_into_a_planted_dest_writes_nothing_outside_it(bool keepLinkTargets)
    {
        string scratch = RepoPaths.NewScratch("extract-hostile");
        try
        {
            string outside = Path.Combine(scratch, "outside");
            string dest = Path.Combine(scratch, "dest");
            string root = Path.Combine(dest, "out");
            Directory.CreateDirectory(Path.Combine(outside, "sub"));
            WriteText(Path.Combine(outside, "victim.txt"), "keep me");
            WriteText(Path.Combine(outside, "sub", "payload.txt"), "keep me too");
            WriteText(Path.Combine(scratch, "sibling.txt"), "beside dest");
            Directory.CreateDirectory(root);
            // Planted: links where the image has a folder (links, dup_file), a file (d%25FF/inner.txt is below a
            // folder; lost+found is a folder) and where the linked-to file would be written.
            File.CreateSymbolicLink(Path.Combine(root, "links"), outside);
            File.CreateSymbolicLink(Path.Combine(root, "dup_file"), outside);
            File.CreateSymbolicLink(Path.Combine(root, "lost+found"), Path.Combine(outside, "victim.txt"));
            Directory.CreateDirectory(Path.Combine(root, "dup_dir_first"));
            File.CreateSymbolicLink(Path.Combine(root, "dup_dir_first", "DUPNAME1"), Path.Combine(outside, "sub"));
            var before = Snapshot(scratch, skip: dest);
            string imageHash = Hashing.Sha256File(Hostile);

            var args = new List<string> { "extract", "--raw-input", "-q", Hostile, "disk:/", root };
            if (keepLinkTargets) args.Add("--keep-link-targets");
            var r = RunCli([.. args]);

            Assert.True(r.ExitCode is 0 or 1, r.StdErr);
            Assert.Equal(before, Snapshot(scratch, skip: dest));
            Assert.Equal(imageHash, Hashing.Sha256File(Hostile));
            Assert.Equal("inner\n", File.ReadAllText(Path.Combine(root, "d%25FF", "inner.txt")));
            Assert.True(Directory.Exists(Path.Combine(root, "links")) && new DirectoryInfo(Path.Combine(root, "links")).LinkTarget is null,
                "the planted link to a host folder is replaced by a real folder");
            // find, not .NET's enumeration, which follows links to folders (--keep-link-targets writes raw ones)
            Assert.Equal("", Tool.Run("find", dest, "-name", "*vmdkmount-*").StdOut);
            if (!keepLinkTargets) Assert.Empty(LinksResolvingOutside(dest));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public void Restored_links_are_rewritten_to_resolve_inside_dest()
    {
        string scratch = RepoPaths.NewScratch("extract-links");
        try
        {
            string dest = Path.Combine(scratch, "dest");
            var r = RunCli("extract", "--raw-input", "-q", Hostile, "disk:/links", dest);
            Assert.Equal(0, r.ExitCode);
            Assert.Empty(LinksResolvingOutside(dest));
            Assert.Equal("etc", new FileInfo(Path.Combine(dest, "etc")).LinkTarget);
            var keep = RunCli("extract", "--raw-input", "-q", "--keep-link-targets", Hostile, "disk:/links", Path.Combine(scratch, "raw"));
            Assert.Equal(0, keep.ExitCode);
            Assert.Equal("/etc", new FileInfo(Path.Combine(scratch, "raw", "etc")).LinkTarget);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public void A_dest_that_is_a_chain_file_is_refused_and_left_unchanged()
    {
        string scratch = RepoPaths.NewScratch("extract-chain");
        try
        {
            string disk = Path.Combine(scratch, "disk.img");
            File.Copy(Hostile, disk);
            string hash = Hashing.Sha256File(disk);
            File.CreateSymbolicLink(Path.Combine(scratch, "alias.img"), disk);
            Tool.Run("ln", disk, Path.Combine(scratch, "hard.img"));
            Directory.CreateDirectory(Path.Combine(scratch, "into"));
            Tool.Run("ln", disk, Path.Combine(scratch, "into", "inner.txt"));

            foreach (var dest in new[] { disk, Path.Combine(scratch, "alias.img"), Path.Combine(scratch, "hard.img"), Path.Combine(scratch, "into") })
            {
                var r = RunCli("extract", "--raw-input", "-q", disk, "disk:/d%25FF/inner.txt", dest);
                Assert.Equal(2, r.ExitCode);
                Assert.Contains("chain", r.StdErr);
                Assert.Equal(hash, Hashing.Sha256File(disk));
            }
            Assert.True(File.Exists(Path.Combine(scratch, "hard.img")) && File.Exists(Path.Combine(scratch, "into", "inner.txt")));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public void A_chain_file_inside_the_tree_is_not_replaced()
    {
        string scratch = RepoPaths.NewScratch("extract-chain-tree");
        try
        {
            string disk = Path.Combine(scratch, "disk.img");
            File.Copy(Hostile, disk);
            string hash = Hashing.Sha256File(disk);
            string dest = Path.Combine(scratch, "dest");
            Directory.CreateDirectory(Path.Combine(dest, "d%25FF"));
            Tool.Run("ln", disk, Path.Combine(dest, "d%25FF", "second.txt"));
            var r = RunCli("extract", "--raw-input", "-q", disk, "disk:/d%25FF", dest);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("opened disk chain", r.StdErr);
            Assert.Equal(hash, Hashing.Sha256File(Path.Combine(dest, "d%25FF", "second.txt")));
            Assert.Equal("inner\n", File.ReadAllText(Path.Combine(dest, "d%25FF", "inner.txt")));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public async Task Sigint_mid_file_removes_the_temporary_and_keeps_the_old_file()
    {
        string scratch = RepoPaths.NewScratch("extract-sigint");
        try
        {
            string old = Path.Combine(scratch, "big.bin");
            WriteText(old, "previous version");
            var env = new Dictionary<string, string> { ["VMDKMOUNT_TEST_CHUNK_DELAY_MS"] = "100" };
            using var p = Start(env, "extract", "--raw-input", "-q", BigSparse, "disk:/big.bin", scratch);
            var stderr = p.StandardError.ReadToEndAsync();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!Directory.EnumerateFiles(scratch, ".big.bin.vmdkmount-*").Any() && DateTime.UtcNow < deadline && !p.HasExited)
                await Task.Delay(20);
            Assert.False(p.HasExited, "the copy ended before it could be interrupted");
            await Task.Delay(300); // a few chunks into the file
            Tool.Run("kill", "-INT", p.Id.ToString());
            Assert.True(p.WaitForExit(TimeSpan.FromSeconds(30)), "extract did not stop after SIGINT");
            Assert.Equal(130, p.ExitCode);
            Assert.Contains("interrupted: 0 files restored, 0 bytes;", await stderr);
            Assert.Contains("holds only complete files", await stderr);
            Assert.Equal("previous version", File.ReadAllText(old));
            Assert.Equal(["big.bin"], Directory.EnumerateFileSystemEntries(scratch).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public async Task Sigint_mid_file_removes_a_new_file_written_at_its_own_name()
    {
        string scratch = RepoPaths.NewScratch("extract-sigint-new");
        try
        {
            var env = new Dictionary<string, string> { ["VMDKMOUNT_TEST_CHUNK_DELAY_MS"] = "100" };
            using var p = Start(env, "extract", "--raw-input", "-q", BigSparse, "disk:/big.bin", scratch);
            var stderr = p.StandardError.ReadToEndAsync();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            string target = Path.Combine(scratch, "big.bin");
            // a free name is written in place: no temporary, the file itself grows
            while (!File.Exists(target) && DateTime.UtcNow < deadline && !p.HasExited)
                await Task.Delay(20);
            Assert.False(p.HasExited, "the copy ended before it could be interrupted");
            await Task.Delay(300); // a few chunks into the file
            Assert.Empty(Directory.EnumerateFiles(scratch, ".big.bin.vmdkmount-*"));
            Tool.Run("kill", "-INT", p.Id.ToString());
            Assert.True(p.WaitForExit(TimeSpan.FromSeconds(30)), "extract did not stop after SIGINT");
            Assert.Equal(130, p.ExitCode);
            Assert.Contains("interrupted: 0 files restored, 0 bytes;", await stderr);
            Assert.Contains("holds only complete files", await stderr);
            Assert.Empty(Directory.EnumerateFileSystemEntries(scratch));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public void A_16_TiB_sparse_file_restores_in_time_proportional_to_its_data()
    {
        string scratch = RepoPaths.NewScratch("extract-sparse");
        try
        {
            var r = OurCli.Run(["extract", "--raw-input", "-q", BigSparse, "disk:/huge.bin", scratch], timeout: TimeSpan.FromSeconds(60));
            Assert.Equal(0, r.ExitCode);
            string f = Path.Combine(scratch, "huge.bin");
            Assert.Equal((16L << 40) - 4096, new FileInfo(f).Length);
            long blocks = long.Parse(Tool.Run("stat", "-c", "%b", f).StdOut.Trim());
            Assert.InRange(blocks * 512, 1L << 20, 8L << 20);
            using var h = File.OpenHandle(f);
            var data = new byte[4096];
            RandomAccess.Read(h, data, 8L << 40);
            Assert.Contains(data, b => b != 0);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }
}
