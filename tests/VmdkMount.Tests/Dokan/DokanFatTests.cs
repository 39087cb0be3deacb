using VmdkMount.Dokan;
using VmdkMount.Tests.Infrastructure;
using Xunit;

namespace VmdkMount.Tests.Dokan;

/// <summary>
/// The Dokan adapter over images/fat-basic.sh's fat32.img (mkfs.fat + mcopy, attributes by mattrib); contents
/// checked against mtools' own reader (mtype), the time against the one the script set.
/// </summary>
public sealed class DokanFatTests : IDisposable
{
    private readonly DokanImages _m = new([("p1", DokanImages.Fat, "fat32")], "p1");
    private DokanHarness D => _m.Dokan;

    public void Dispose() => _m.Dispose();

    private static byte[] Mtype(string path) =>
        Tool.Run("env", ["MTOOLS_SKIP_CHECK=1", "mtype", "-i", DokanImages.Fat, "::" + path]).StdOutBytes;

    [Fact]
    public void Files_read_as_mtools_reads_them_and_names_compare_without_case()
    {
        Assert.Equal(Mtype("/Sub_Directory_Long/nested/deeper/random.bin"), D.ReadAll(@"\sub_directory_long\NESTED\deeper\RANDOM.BIN", 4096));
        Assert.Equal(Mtype("/UPPER.TXT"), D.ReadAll(@"\upper.txt"));
        Assert.Empty(D.ReadAll(@"\empty.txt"));
    }

    [Fact]
    public void Fat_attributes_and_times()
    {
        Assert.Equal(NtStatus.Success, D.List(@"\", null, out var entries));
        var a = entries.ToDictionary(e => e.Name);
        // files read-only on a non-NTFS volume, plus FAT's own hidden/system bits (mattrib +h, +s +h); folders not read-only
        Assert.Equal(DokanAttributes.ReadOnly, a["lower.txt"].Attributes & ~DokanAttributes.Archive);
        Assert.Equal(DokanAttributes.ReadOnly | DokanAttributes.Hidden, a["hidden.txt"].Attributes & ~DokanAttributes.Archive);
        Assert.Equal(DokanAttributes.ReadOnly | DokanAttributes.Hidden | DokanAttributes.System, a["SYSTEM.SYS"].Attributes & ~DokanAttributes.Archive);
        Assert.Equal(DokanAttributes.Directory, a["lower"].Attributes & ~DokanAttributes.Archive);
        Assert.Equal(new DateTime(1999, 12, 31, 23, 59, 58, DateTimeKind.Utc).ToFileTimeUtc(), a["UPPER.TXT"].Written);
    }

    [Fact]
    public void Volume_information_names_the_fat_flavour_and_has_no_streams()
    {
        Assert.Equal(NtStatus.Success, D.Volume(out _, out _, out uint max, out uint flags, out string fs));
        Assert.Equal("FAT32", fs);
        Assert.Equal(255u, max);
        Assert.Equal(0u, flags & DokanAdapter.NamedStreams);
        Assert.Equal(NtStatus.ObjectNameNotFound, D.Probe(@"\UPPER.TXT:stream"));
    }
}
