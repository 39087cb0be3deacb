using VmdkMount.Cli;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Cli;

/// <summary>
/// `ls` behaves as GNU ls does on the same tree: dot entries only with -a (plus . and ..), -h sizes, -l times in the
/// local zone (TZ) or with --utc, numeric owner and group. The oracle is GNU ls itself on the kernel's read-only loop
/// mount of the same ext4 image (made by mke2fs -d).
/// </summary>
public sealed class LsOptionsTests : IDisposable
{
    private readonly string _dir = RepoPaths.NewScratch("ls-options");
    private readonly string _image;
    private readonly string _mnt;

    public LsOptionsTests()
    {
        _image = Path.Combine(_dir, "ext4.img");
        _mnt = Path.Combine(_dir, "mnt");
        Tool.Bash("""
            mkdir -p src/.config/app src/docs mnt
            echo secret > src/.hidden
            echo conf > src/.config/app/settings
            head -c 1536 /dev/zero | tr '\0' a > src/docs/one-and-a-half-k.txt
            head -c 10239 /dev/zero | tr '\0' b > src/docs/almost-ten-k.txt
            truncate -s 5000000 src/docs/five-million.bin
            truncate -s 3221225473 src/docs/three-gib-and-a-byte.bin
            echo v > src/visible.txt
            chown 1234:5678 src/visible.txt
            chown -R 4242:4343 src/docs
            touch -d '2026-07-04 23:30:15 UTC' src/visible.txt src/docs/*
            mke2fs -q -t ext4 -d src ext4.img 32M
            mount -o ro,loop,noload ext4.img mnt
            """, _dir);
    }

    public void Dispose()
    {
        Tool.Bash($"mountpoint -q '{_mnt}' && umount '{_mnt}' || true", allowFailure: true);
        Directory.Delete(_dir, recursive: true);
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void Dot_entries_show_only_with_a_as_gnu_ls_shows_them()
    {
        var plain = OurCli.Run("ls", "--raw-input", _image, "disk:/");
        Assert.Equal(0, plain.ExitCode);
        Assert.Equal(Lines(Tool.Run("ls", "-1", _mnt).StdOut).Order(StringComparer.Ordinal), Lines(plain.StdOut));
        Assert.DoesNotContain(".hidden", plain.StdOut);

        var all = OurCli.Run("ls", "--raw-input", _image, "disk:/", "-a");
        Assert.Equal(Lines(Tool.Run("ls", "-1a", _mnt).StdOut).Order(StringComparer.Ordinal), Lines(all.StdOut));
        Assert.Contains(".hidden", Lines(all.StdOut));
        Assert.Contains(".", Lines(all.StdOut));
        Assert.Contains("..", Lines(all.StdOut));

        // -R leaves hidden folders out, as ls -R does, and -aR walks them
        Assert.DoesNotContain("settings", OurCli.Run("ls", "--raw-input", _image, "disk:/", "-R").StdOut);
        Assert.Contains("/.config/app/settings", Lines(OurCli.Run("ls", "--raw-input", _image, "disk:/", "-R", "-a").StdOut));
        // JSON carries every entry, whatever the flags
        Assert.Contains("\".hidden\"", OurCli.Run("ls", "--raw-input", _image, "disk:/", "--json").StdOut);
    }

    [Theory]
    [InlineData("UTC")]
    [InlineData("Asia/Kolkata")]
    [InlineData("America/Los_Angeles")]
    public void Long_listing_shows_local_times_numeric_owners_and_human_sizes_as_gnu_ls(string zone)
    {
        var env = new Dictionary<string, string> { ["TZ"] = zone };
        var ours = Tool.Run("dotnet", [OurCli.Dll, "ls", "--raw-input", _image, "disk:/docs", "-l", "-h"], env: env);
        var gnu = Tool.Run("ls", ["-lnh", "--time-style=+%Y-%m-%d %H:%M:%S", Path.Combine(_mnt, "docs")], env: env);
        // GNU: mode links uid gid size date time name; ours: the same columns in the same order
        var expected = Lines(gnu.StdOut).Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(f => string.Join(' ', f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7])).Order(StringComparer.Ordinal);
        var actual = Lines(ours.StdOut).Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries)))
            .Order(StringComparer.Ordinal);
        Assert.Equal(expected, actual);

        var utc = OurCli.Run("ls", "--raw-input", _image, "disk:/visible.txt", "-l", "--utc");
        Assert.Contains("2026-07-04 23:30:15", utc.StdOut);
        Assert.Contains(" 1234  5678 ", utc.StdOut);
    }

    [Fact]
    public void Human_sizes_match_coreutils_at_every_unit_boundary()
    {
        long[] sizes = [0, 1, 1023, 1024, 1025, 1536, 10239, 10240, 10241, 102_399, 1_048_575, 1_048_576, 1_048_577,
                        5_000_000, 1_073_741_823, 1_073_741_825, 1L << 40, (1L << 40) + 1, 9_223_372_036_854_775_807];
        string folder = Path.Combine(_dir, "sizes");
        Directory.CreateDirectory(folder);
        foreach (long size in sizes.Where(s => s < 1L << 41))
            Tool.Run("truncate", "-s", size.ToString(System.Globalization.CultureInfo.InvariantCulture), Path.Combine(folder, $"f{size}"));
        var gnu = Lines(Tool.Run("ls", "-lnh", folder).StdOut).Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToDictionary(f => long.Parse(f[^1][1..], System.Globalization.CultureInfo.InvariantCulture), f => f[4]);
        foreach (var (size, shown) in gnu)
            Assert.True(shown == NodeFormat.HumanSize(size), $"{size}: coreutils {shown}, ours {NodeFormat.HumanSize(size)}");
        Assert.Equal("8.0E", NodeFormat.HumanSize(long.MaxValue));
    }
}
