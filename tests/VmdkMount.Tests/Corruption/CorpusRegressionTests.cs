using System.Buffers.Binary;
using System.Text;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Corruption;

/// <summary>What the corruption corpus found, each as the one case that showed it, fixed in the parser.</summary>
public sealed class CorpusRegressionTests
{
    /// <summary>
    /// Found by the corpus (monolithicSparse, grain directory, field := all ones): a grain-directory entry past the
    /// end of the file was reported by the walk of the primary tables and again by the comparison with the redundant
    /// directory, which read the same primary table.
    /// </summary>
    [Theory]
    [InlineData("ms.vmdk")]
    [InlineData("so.vmdk")]
    public void Check_reports_an_unreadable_grain_table_once(string name)
    {
        string path = Path.Combine(TestImages.Get("vmdk-qemu"), name);
        long gdOffset;
        using (var f = LocalSourceStore.OpenFile(path))
        {
            var header = Mutations.Read(f, 0, 512);
            ulong gd = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(56));
            if (gd == ulong.MaxValue) gd = BinaryPrimitives.ReadUInt64LittleEndian(Mutations.Read(f, f.Length - 1024 + 56, 8));
            gdOffset = (long)gd * 512;
        }
        var store = new PatchedSourceStore(path, [new Patch(gdOffset, Mutations.Le32(0xFFFFFFF0))], null);
        using var disk = VmdkDisk.OpenChain(path, new DiskOpenOptions(), store);
        var problems = disk.Links[0].Check();
        var pastEnd = problems.Where(p => p.Contains("grain directory entry 0", StringComparison.Ordinal)).ToList();
        Assert.Single(pastEnd);
        Assert.Contains(name, pastEnd[0]);
    }

    /// <summary>
    /// Found by the volume corpus (lvm-mbr.img, metadata text with an LV section written twice, CRCs made right): the
    /// two copies of one VG's LV were listed as lvm-vgvola-root and lvm-vgvola-root-2 with a warning about "two volume
    /// groups named 'vgvola'". A name twice in one VG's metadata is damage (LVM refuses such metadata), said as such.
    /// </summary>
    [Theory]
    [InlineData("logical_volumes {", "root")]
    [InlineData("physical_volumes {", "pv0")]
    public void A_name_twice_in_one_volume_groups_metadata_is_damage_not_a_second_volume_group(string section, string name)
    {
        var disk = File.ReadAllBytes(Path.Combine(TestImages.Get("volumes-lvm"), "lvm-mbr.img"));
        long mda = 43008L * 512 + 4096;
        var header = disk.AsSpan((int)mda, 512);
        int at = (int)BinaryPrimitives.ReadUInt64LittleEndian(header[40..]), size = (int)BinaryPrimitives.ReadUInt64LittleEndian(header[48..]);
        string text = Encoding.UTF8.GetString(disk, (int)mda + at, size).TrimEnd('\0');
        int body = text.IndexOf(section, StringComparison.Ordinal) + section.Length;
        int depth = 0, end = body;
        for (int i = body; i < text.Length; i++)
            if (text[i] == '{') depth++;
            else if (text[i] == '}' && --depth == 0) { end = i + 1; break; }
        var bytes = Encoding.UTF8.GetBytes(text[..body] + text[body..end] + "\n" + text[body..] + "\0");
        bytes.CopyTo(disk, mda + at);
        BinaryPrimitives.WriteUInt64LittleEndian(header[48..], (ulong)bytes.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[56..], Crc32.Lvm(bytes));
        BinaryPrimitives.WriteUInt32LittleEndian(header, Crc32.Lvm(header[4..]));

        var layout = VolumeScanner.Scan(new VmdkMount.Tests.Volumes.MemorySource(disk), "lvm-mbr.img", FormatRegistry.Default);
        Assert.DoesNotContain(layout.Volumes, v => v.Id.EndsWith("-2", StringComparison.Ordinal));
        Assert.DoesNotContain(layout.Warnings, w => w.Contains("two volume groups", StringComparison.Ordinal));
        var pv = layout.Volumes.Single(v => v.Id == "p2");
        Assert.Contains($"'{name}' is listed twice", pv.Reason);
        Assert.Contains("lvm-mbr.img:p2", pv.Reason);
    }
}
