using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using VmdkMount.Dokan;
using Xunit;

namespace VmdkMount.Tests.Dokan;

/// <summary>
/// The Dokan adapter over images/ntfs-basic.sh's basic.img, driven through the operations table. Expected values come
/// from the image's manifest (ntfs-3g's view: sizes, times, SHA-256 of files and streams) and from the attribute
/// values the script set, never from this reader.
/// </summary>
public sealed class DokanNtfsTests : IDisposable
{
    private readonly DokanImages _m = DokanImages.NtfsOnly();
    private DokanHarness D => _m.Dokan;

    public void Dispose() => _m.Dispose();

    private static List<JsonElement> Manifest() =>
        JsonDocument.Parse(File.ReadAllText(DokanImages.NtfsManifest)).RootElement.EnumerateArray().ToList();

    private static string Sha(byte[] b) => Convert.ToHexString(SHA256.HashData(b)).ToLowerInvariant();

    private static long FileTimeOfNs(long ns) => ns / 100 + VmdkMount.Dokan.Native.FileTime.UnixEpochTicks;

    [Fact]
    public void Root_listing_has_every_file_and_folder_of_the_manifest_with_its_size_and_times()
    {
        Assert.Equal(NtStatus.Success, D.List(@"\", null, out var entries));
        var byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        Assert.DoesNotContain(".", byName.Keys); // none at the root
        int checkedEntries = 0;
        foreach (var e in Manifest())
        {
            string path = e.GetProperty("path").GetString()!;
            string type = e.GetProperty("type").GetString()!;
            if (path.Count(c => c == '/') != 1 || type is not ("file" or "dir")) continue;
            var entry = byName[path[1..]];
            Assert.Equal(type == "dir", (entry.Attributes & DokanAttributes.Directory) != 0);
            if (type == "file") Assert.Equal(e.GetProperty("size").GetInt64(), entry.Size);
            Assert.Equal(FileTimeOfNs(e.GetProperty("mtime_ns").GetInt64()), entry.Written);
            Assert.Equal(FileTimeOfNs(e.GetProperty("atime_ns").GetInt64()), entry.Accessed);
            Assert.Equal("", entry.AlternateName); // short names are not invented
            checkedEntries++;
        }
        Assert.True(checkedEntries >= 15, $"only {checkedEntries} manifest entries at the root");
    }

    [Theory]
    [InlineData(@"\small.txt", "/small.txt", 7)]
    [InlineData(@"\big.bin", "/big.bin", 65536)]
    [InlineData(@"\dir1\pattern.bin", "/dir1/pattern.bin", 4096)]
    [InlineData(@"\compdir\comp.txt", "/compdir/comp.txt", 1 << 20)]
    [InlineData(@"\COMPDIR\Mixed.BIN", "/compdir/mixed.bin", 9999)]
    public void Files_read_as_ntfs3g_shows_them(string windowsPath, string manifestPath, int request)
    {
        var expected = Manifest().Single(e => e.GetProperty("path").GetString() == manifestPath).GetProperty("sha256").GetString();
        Assert.Equal(expected, Sha(D.ReadAll(windowsPath, request)));
    }

    [Fact]
    public void A_read_past_4_GiB_and_past_the_end()
    {
        Assert.Equal(NtStatus.Success, D.Create(@"\huge.bin", out var h));
        var buffer = new byte[21];
        Assert.Equal(NtStatus.Success, D.Read(h, 4L * 1024 * 1024 * 1024 + 12345, buffer, out uint n));
        Assert.Equal(21u, n);
        Assert.Equal("beyond four gigabytes", Encoding.ASCII.GetString(buffer));
        Assert.Equal(NtStatus.Success, D.Read(h, 5L * 1024 * 1024 * 1024, buffer, out n));
        Assert.Equal(0u, n); // dokan2.dll turns a 0-byte success into STATUS_END_OF_FILE
        D.Close(h);
    }

    [Fact]
    public void Named_streams_are_listed_and_open_as_file_colon_stream()
    {
        Assert.Equal(NtStatus.Success, D.Streams(@"\small.txt", out var streams));
        Assert.Equal([("::$DATA", 15L), (":mystream:$DATA", 12L)], streams);
        Assert.Equal("stream data\n", Encoding.UTF8.GetString(D.ReadAll(@"\small.txt:mystream")));
        Assert.Equal("stream data\n", Encoding.UTF8.GetString(D.ReadAll(@"\SMALL.TXT:MyStream:$DATA")));
        Assert.Equal("hello resident\n", Encoding.UTF8.GetString(D.ReadAll(@"\small.txt::$DATA")));
        var big = Manifest().Single(e => e.GetProperty("path").GetString() == "/big.bin").GetProperty("streams")[0];
        Assert.Equal(big.GetProperty("sha256").GetString(), Sha(D.ReadAll(@"\big.bin:bigstream", 8192)));
        Assert.Equal(NtStatus.ObjectNameNotFound, D.Probe(@"\small.txt:nosuch"));
        Assert.Equal(NtStatus.ObjectNameInvalid, D.Probe(@"\small.txt:s:$INDEX_ALLOCATION"));
    }

    [Fact]
    public void A_folder_stream_is_file_data_and_a_folder_without_streams_has_none()
    {
        Assert.Equal(NtStatus.Success, D.Streams(@"\dir1", out var streams));
        Assert.Equal([(":dirstream:$DATA", 11L)], streams);
        Assert.Equal(NtStatus.Success, D.Create(@"\dir1:dirstream", out var h));
        Assert.False(h.IsDirectory);
        D.Close(h);
        Assert.Equal("dir stream\n", Encoding.UTF8.GetString(D.ReadAll(@"\dir1:dirstream")));
        Assert.Equal(NtStatus.EndOfFile, D.Streams(@"\compdir", out streams));
        Assert.Empty(streams);
    }

    [Fact]
    public void A_full_stream_buffer_ends_the_listing_without_an_error()
    {
        Assert.Equal(NtStatus.Success, D.Streams(@"\small.txt", out var streams, stopAfter: 1));
        Assert.Single(streams);
    }

    [Theory]
    [InlineData(@"\hidden.txt", DokanAttributes.Hidden | DokanAttributes.Archive)]
    [InlineData(@"\readonly.txt", DokanAttributes.ReadOnly | DokanAttributes.Archive)]
    [InlineData(@"\system.txt", DokanAttributes.System | DokanAttributes.Archive)]
    public void Ntfs_attributes_are_the_volume_s_own(string path, uint expected)
    {
        // the script set them with setfattr system.ntfs_attrib_be (0x22, 0x21, 0x24)
        Assert.Equal(NtStatus.Success, D.Info(path, out var info));
        Assert.Equal(expected, info.FileAttributes);
    }

    [Fact]
    public void Compressed_and_sparse_show_and_no_reparse_bit_is_claimed()
    {
        Assert.Equal(NtStatus.Success, D.Info(@"\compdir", out var dir));
        Assert.Equal(DokanAttributes.Directory | DokanAttributes.Compressed, dir.FileAttributes & (DokanAttributes.Directory | DokanAttributes.Compressed));
        Assert.Equal(NtStatus.Success, D.Info(@"\sparse.bin", out var sparse));
        Assert.NotEqual(0u, sparse.FileAttributes & DokanAttributes.Sparse);
        Assert.Equal(NtStatus.Success, D.List(@"\", null, out var entries));
        Assert.All(entries, e => Assert.Equal(0u, e.Attributes & DokanAttributes.ReparsePoint));
    }

    [Fact]
    public void File_information_carries_size_links_index_and_times()
    {
        var manifest = Manifest().Single(e => e.GetProperty("path").GetString() == "/big.bin");
        Assert.Equal(NtStatus.Success, D.Info(@"\big.bin", out var info));
        Assert.Equal(300000u, info.FileSizeLow);
        Assert.Equal(0u, info.FileSizeHigh);
        Assert.Equal((uint)manifest.GetProperty("links").GetInt32(), info.NumberOfLinks);
        Assert.Equal((uint)manifest.GetProperty("inode").GetInt64(), info.FileIndexLow); // the MFT record number with one volume
        Assert.Equal(FileTimeOfNs(manifest.GetProperty("mtime_ns").GetInt64()), info.LastWriteTime.Ticks);
        Assert.Equal(NtStatus.Success, D.Info(@"\huge.bin", out var huge));
        Assert.Equal(1u, huge.FileSizeHigh);
        Assert.Equal(1u << 30, huge.FileSizeLow);
    }

    [Fact]
    public void Links_and_junctions_inside_the_volume_are_followed_and_others_are_plain_empty_files()
    {
        Assert.Equal("nested\n", Encoding.UTF8.GetString(D.ReadAll(@"\win_symlink_rel")));
        Assert.Equal("nested\n", Encoding.UTF8.GetString(D.ReadAll(@"\junction_in\nested.txt")));
        Assert.Contains("nested.txt", D.Names(@"\junction_in"));
        Assert.Equal("nested\n", Encoding.UTF8.GetString(D.ReadAll(@"\win_symlink_via_junction")));
        foreach (var leaving in new[] { @"\junction_out", @"\win_symlink_other_drive", @"\win_symlink_missing", @"\wsl_abs_linux" })
        {
            Assert.Equal(NtStatus.Success, D.Info(leaving, out var info));
            Assert.Equal(0u, info.FileAttributes & DokanAttributes.Directory);
            Assert.Equal(0u, info.FileSizeLow);
            Assert.Empty(D.ReadAll(leaving));
        }
    }

    [Fact]
    public void Encrypted_file_data_is_access_denied()
    {
        Assert.Equal(NtStatus.Success, D.Create(@"\efs.txt", out var h));
        uint status = D.Read(h, 0, new byte[16], out _);
        D.Close(h);
        Assert.Equal(NtStatus.AccessDenied, status);
        Assert.Contains(_m.Logged, l => l.Contains("efs.txt", StringComparison.Ordinal));
    }

    [Fact]
    public void Volume_information_of_an_ntfs_volume()
    {
        Assert.Equal(NtStatus.Success, D.Volume(out string label, out _, out uint max, out uint flags, out string fs));
        Assert.Equal("BasicVol", label);
        Assert.Equal(255u, max);
        Assert.Equal("NTFS", fs);
        uint expected = DokanAdapter.CasePreservedNames | DokanAdapter.UnicodeOnDisk | DokanAdapter.ReadOnlyVolume | DokanAdapter.NamedStreams;
        Assert.Equal(expected, flags);
        Assert.Equal(NtStatus.Success, D.DiskFree(out ulong available, out ulong total, out ulong free));
        Assert.Equal((ulong)new FileInfo(DokanImages.Ntfs).Length, total);
        Assert.Equal(0ul, available);
        Assert.Equal(0ul, free);
    }

    [Fact]
    public void Every_handle_is_released_by_CloseFile()
    {
        D.ReadAll(@"\small.txt");
        D.Names(@"\dir1");
        D.Streams(@"\small.txt", out _);
        D.Info(@"\big.bin", out _);
        Assert.Equal(0, _m.Adapter.OpenHandles);
    }
}
