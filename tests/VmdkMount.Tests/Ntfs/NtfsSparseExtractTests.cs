using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Ntfs;

/// <summary>
/// `extract` of an NTFS sparse file skips the sparse runs through the reader's allocation map: the output has the
/// file's length, its bytes, and about the file's data in allocated blocks.
/// </summary>
public class NtfsSparseExtractTests
{
    /// <summary>
    /// basic.img's huge.bin (images/ntfs-basic.sh, written through ntfs-3g): 5 GiB, sparse, 'start' at 0 and 'beyond four
    /// gigabytes' at 4 GiB + 12345. The check reads only the output's data extents (SEEK_DATA/SEEK_HOLE), so it is exact
    /// and cheap: holes read as zeros, and every data extent must be zeros except the two strings.
    /// </summary>
    [Fact]
    public void Sparse_ntfs_file_extracts_sparse_with_its_bytes()
    {
        string image = Path.Combine(TestImages.Get("ntfs-basic"), "basic.img");
        string scratch = RepoPaths.NewScratch("ntfs-sparse-extract");
        try
        {
            var r = OurCli.Run(["extract", "--raw-input", "-q", image, "disk:/huge.bin", scratch], timeout: TimeSpan.FromSeconds(60));
            Assert.True(r.ExitCode == 0, r.StdErr);
            string f = Path.Combine(scratch, "huge.bin");
            Assert.Equal(5L << 30, new FileInfo(f).Length);
            long blocks = long.Parse(Tool.Run("stat", "-c", "%b", f).StdOut.Trim());
            Assert.InRange(blocks * 512, 1, 1L << 20);
            // Prints "offset length" per data extent, then the non-zero bytes as "offset:hex" lines.
            var scan = Tool.Run("python3", "-c", """
                import os, sys
                fd = os.open(sys.argv[1], os.O_RDONLY); size = os.fstat(fd).st_size; pos = 0
                while pos < size:
                    try: start = os.lseek(fd, pos, os.SEEK_DATA)
                    except OSError: break
                    end = os.lseek(fd, start, os.SEEK_HOLE)
                    print('extent', start, end - start)
                    data = os.pread(fd, end - start, start)
                    for i, b in enumerate(data):
                        if b: print('byte', start + i, b)
                    pos = end
                """, f).StdOut;
            var bytes = scan.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("byte ", StringComparison.Ordinal))
                .Select(l => l.Split(' ')).ToDictionary(p => long.Parse(p[1]), p => (byte)int.Parse(p[2]));
            var expected = new Dictionary<long, byte>();
            void Put(long at, string text) { foreach (var c in text) expected[at++] = (byte)c; }
            Put(0, "start");
            Put((4L << 30) + 12345, "beyond four gigabytes");
            Assert.Equal(expected.OrderBy(k => k.Key), bytes.OrderBy(k => k.Key));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }
}
