using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Volumes;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Volumes;

/// <summary>
/// Damaged tables and metadata: tables made by sfdisk/sgdisk/LVM, then broken on purpose in memory. Discovery must
/// answer quickly with warnings and reasons, never throw, never hang.
/// </summary>
public class DamagedInputTests
{
    private static byte[] Make(string script, string file = "d.img")
    {
        string dir = RepoPaths.NewScratch("vol-damaged");
        try
        {
            Tool.Bash(script, workDir: dir);
            return File.ReadAllBytes(Path.Combine(dir, file));
        }
        finally { Directory.Delete(dir, true); }
    }

    private static DiskLayout Scan(byte[] disk)
    {
        var sw = Stopwatch.StartNew();
        var layout = VolumeScanner.Scan(new MemorySource(disk), "damaged.img", FormatRegistry.Default);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"scan took {sw.Elapsed}");
        return layout;
    }

    /// <summary>p1 primary, extended container p2 from LBA 8192, logicals at 10240, 14336, 18432 (EBRs 2048 before each).</summary>
    private static byte[] MbrWithLogicals() => (byte[])MbrWithLogicalsImage.Value.Clone();

    private static readonly Lazy<byte[]> MbrWithLogicalsImage = new(() => Make("""
        truncate -s 16M d.img
        sfdisk -q d.img <<'EOF'
        label: dos
        start=2048, size=4096, type=83
        start=8192, size=20480, type=f
        EOF
        sfdisk -q -a d.img <<'EOF'
        start=10240, size=2048, type=83
        start=14336, size=2048, type=83
        start=18432, size=2048, type=83
        EOF
        """));

    private static long EbrLba(byte[] disk, int index)
    {
        long ext = 8192, ebr = ext;
        for (int i = 0; i < index; i++) ebr = ext + BinaryPrimitives.ReadUInt32LittleEndian(disk.AsSpan((int)(ebr * 512) + 462 + 8));
        return ebr;
    }

    private static void SetLink(byte[] disk, long ebrLba, uint relativeStart) =>
        BinaryPrimitives.WriteUInt32LittleEndian(disk.AsSpan((int)(ebrLba * 512) + 462 + 8), relativeStart);

    [Fact]
    public void Undamaged_chain_is_the_baseline()
    {
        var layout = Scan(MbrWithLogicals());
        Assert.Equal(["p1", "p5", "p6", "p7"], layout.Volumes.Select(v => v.Id));
        Assert.Equal([10240L * 512, 14336L * 512, 18432L * 512], layout.Volumes.Skip(1).Select(v => v.Offset));
        Assert.Empty(layout.Warnings);
    }

    [Fact]
    public void Ebr_loop_stops_with_a_warning_and_lists_each_logical_once()
    {
        var disk = MbrWithLogicals();
        long third = EbrLba(disk, 2), second = EbrLba(disk, 1);
        Assert.Equal(18432 - 2048, third);
        WriteEntry(disk, (int)(third * 512) + 462, 0x05, (uint)(second - 8192), 4096);
        var layout = Scan(disk);
        Assert.Equal(["p1", "p5", "p6", "p7"], layout.Volumes.Select(v => v.Id));
        Assert.Contains(layout.Warnings, w => w.Contains("loops back to LBA " + second));
    }

    [Fact]
    public void Ebr_link_outside_the_container_stops_the_chain()
    {
        var disk = MbrWithLogicals();
        SetLink(disk, EbrLba(disk, 0), 0x7FFFFFF0);
        var layout = Scan(disk);
        Assert.Equal(["p1", "p5"], layout.Volumes.Select(v => v.Id));
        Assert.Contains(layout.Warnings, w => w.Contains("outside the extended partition"));
    }

    [Fact]
    public void Ebr_without_55AA_stops_the_chain()
    {
        var disk = MbrWithLogicals();
        disk[EbrLba(disk, 1) * 512 + 510] = 0;
        var layout = Scan(disk);
        Assert.Equal(["p1", "p5"], layout.Volumes.Select(v => v.Id));
        Assert.Contains(layout.Warnings, w => w.Contains("no 55 AA"));
    }

    [Fact]
    public void Endless_ebr_chain_is_cut_at_the_link_limit()
    {
        // 400 EBRs in consecutive sectors, each with a 1-sector logical partition and a link to the next one
        var disk = new byte[2 * 1024 * 1024];
        disk[510] = 0x55; disk[511] = 0xAA;
        WriteEntry(disk, 446, 0x0F, 100, 3000);
        for (int i = 0; i < 400; i++)
        {
            int at = (100 + i * 2) * 512;
            disk[at + 510] = 0x55; disk[at + 511] = 0xAA;
            WriteEntry(disk, at + 446, 0x83, 1, 1);
            WriteEntry(disk, at + 462, 0x05, (uint)(i * 2 + 2), 2);
        }
        var layout = Scan(disk);
        Assert.Equal(ExtendedPartitionChain.MaxLinks, layout.Volumes.Count);
        Assert.Contains(layout.Warnings, w => w.Contains($"more than {ExtendedPartitionChain.MaxLinks} EBR links"));
    }

    private static void WriteEntry(byte[] disk, int at, byte type, uint start, uint count)
    {
        disk[at + 4] = type;
        BinaryPrimitives.WriteUInt32LittleEndian(disk.AsSpan(at + 8), start);
        BinaryPrimitives.WriteUInt32LittleEndian(disk.AsSpan(at + 12), count);
    }

    [Fact]
    public void Partitions_past_the_end_of_the_disk_get_reasons()
    {
        var disk = Make("""
            truncate -s 64M d.img
            sfdisk -q d.img <<'EOF'
            label: dos
            start=2048, size=16384, type=83
            start=20480, size=40960, type=83
            start=81920, size=20480, type=83
            EOF
            truncate -s 8M e.img && mke2fs -q -F -t ext2 e.img && dd if=e.img of=d.img bs=512 seek=2048 conv=notrunc status=none
            dd if=e.img of=d.img bs=512 seek=20480 conv=notrunc status=none
            truncate -s 20M d.img
            """);
        var layout = Scan(disk);
        var v = layout.Volumes.ToDictionary(x => x.Id);
        Assert.True(v["p1"].Mountable);
        Assert.False(v["p2"].Mountable);
        Assert.Equal("ext2", v["p2"].FileSystem);
        Assert.StartsWith("partition extends 10485760 bytes past the end of the disk", v["p2"].Reason);
        Assert.Equal(20L << 20, v["p2"].Size);
        Assert.Equal((20L << 20) - 20480 * 512, v["p2"].Data.Length);
        Assert.False(v["p3"].Mountable);
        Assert.StartsWith("partition starts past the end of the disk", v["p3"].Reason);
        Assert.Contains(layout.Warnings, w => w.StartsWith("p2 extends"));
    }

    [Fact]
    public void Mbr_with_an_invalid_status_byte_is_not_trusted_and_said_so()
    {
        var disk = MbrWithLogicals();
        disk[446] = 0x12;
        var layout = Scan(disk);
        Assert.Equal(("none", "disk", "unknown"), (layout.Scheme, layout.Volumes.Single().Id, layout.Volumes.Single().FileSystem));
        Assert.Contains(layout.Warnings, w => w.Contains("not a valid partition table"));
    }

    [Fact]
    public void Overlapping_partitions_are_warned_about()
    {
        var disk = Make("""
            truncate -s 16M d.img
            sfdisk -q d.img <<'EOF'
            label: dos
            start=2048, size=8192, type=83
            start=10240, size=8192, type=83
            EOF
            """);
        BinaryPrimitives.WriteUInt32LittleEndian(disk.AsSpan(446 + 16 + 8), 6144); // p2 now starts inside p1
        var layout = Scan(disk);
        Assert.Equal(["p1", "p2"], layout.Volumes.Select(v => v.Id));
        Assert.Contains(layout.Warnings, w => w.StartsWith("p1 ") && w.Contains("and p2") && w.EndsWith("overlap"));
    }

    private static byte[] SmallGpt() => (byte[])SmallGptImage.Value.Clone();

    private static readonly Lazy<byte[]> SmallGptImage = new(() => Make("""
        truncate -s 20M d.img
        sgdisk -o d.img >/dev/null
        sgdisk -n 1:2048:+4M -t 1:0700 -c 1:first -n 2:0:+4M -t 2:8300 -c 2:second d.img >/dev/null
        """));

    [Fact]
    public void Gpt_with_bad_primary_header_crc_falls_back_to_the_backup_and_says_so()
    {
        var good = Scan(SmallGpt());
        var disk = SmallGpt();
        disk[512 + 40] ^= 0xFF; // FirstUsableLBA, CRC not updated
        var layout = Scan(disk);
        Assert.Equal(good.Volumes.Select(v => (v.Id, v.Offset, v.Size, v.PartitionName)), layout.Volumes.Select(v => (v.Id, v.Offset, v.Size, v.PartitionName)));
        long last = disk.Length / 512 - 1;
        var w = Assert.Single(layout.Warnings);
        Assert.Contains("primary GPT header at LBA 1 is damaged (header CRC32 mismatch", w);
        Assert.Contains($"using the backup GPT header at LBA {last}", w);
    }

    [Fact]
    public void Gpt_with_bad_primary_entry_array_crc_falls_back_to_the_backup()
    {
        var disk = SmallGpt();
        disk[1024 + 56] ^= 0x20; // a name character of entry 1
        var layout = Scan(disk);
        Assert.Equal(["first", "second"], layout.Volumes.Select(v => v.PartitionName));
        Assert.Contains(layout.Warnings, w => w.Contains("entry array at LBA 2 is damaged (entry array CRC32 mismatch") && w.Contains("backup"));
    }

    [Fact]
    public void Gpt_with_zeroed_primary_header_uses_the_backup()
    {
        var disk = SmallGpt();
        Array.Clear(disk, 512, 512);
        var layout = Scan(disk);
        Assert.Equal("gpt", layout.Scheme);
        Assert.Equal(["p1", "p2"], layout.Volumes.Select(v => v.Id));
        Assert.Contains(layout.Warnings, w => w.Contains("no \"EFI PART\" signature") && w.Contains("backup"));
    }

    [Fact]
    public void Gpt_with_both_headers_damaged_reports_damage_and_guesses_nothing()
    {
        var disk = SmallGpt();
        disk[512 + 40] ^= 0xFF;
        disk[disk.Length - 512 + 40] ^= 0xFF;
        var layout = Scan(disk);
        Assert.Equal("gpt", layout.Scheme);
        Assert.Empty(layout.Volumes);
        Assert.Contains(layout.Warnings, w => w.StartsWith("GPT damaged"));
    }

    [Fact]
    public void Gpt_header_claiming_an_absurd_entry_array_is_rejected_and_the_backup_used()
    {
        var disk = SmallGpt();
        var header = disk.AsSpan(512, 92);
        BinaryPrimitives.WriteUInt32LittleEndian(header[80..], 50_000_000);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], Crc32.Ieee(header)); // a valid CRC over a damaged header
        var layout = Scan(disk);
        Assert.Equal(["p1", "p2"], layout.Volumes.Select(v => v.Id));
        Assert.Contains(layout.Warnings, w => w.Contains("not a plausible entry array") && w.Contains("backup"));
    }

    [Fact]
    public void Gpt_entries_with_reversed_or_out_of_range_lbas_get_reasons_even_with_valid_crcs()
    {
        var disk = SmallGpt();
        var array = disk.AsSpan(1024, 128 * 128);
        long lastLba = disk.Length / 512 - 1;
        BinaryPrimitives.WriteUInt64LittleEndian(array[(128 + 40)..], 100);         // entry 2: last LBA before its first
        BinaryPrimitives.WriteUInt64LittleEndian(array[40..], (ulong)lastLba + 20480); // entry 1: runs 10 MiB past the disk
        var header = disk.AsSpan(512, 92);
        BinaryPrimitives.WriteUInt32LittleEndian(header[88..], Crc32.Ieee(array));
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], Crc32.Ieee(header));
        var layout = Scan(disk);
        var v = layout.Volumes.ToDictionary(x => x.Id);
        Assert.StartsWith("invalid GPT entry: last LBA 100 is before first LBA", v["p2"].Reason);
        Assert.StartsWith("partition extends", v["p1"].Reason);
        Assert.Contains(layout.Warnings, w => w.StartsWith("p1: LBAs") && w.Contains("outside the GPT's usable range"));
    }

    [Fact]
    public void Gpt_with_256_entry_slots_reads_slot_200_like_sfdisk()
    {
        string dir = RepoPaths.NewScratch("vol-gpt256");
        try
        {
            string img = Path.Combine(dir, "d.img");
            Tool.Bash($"""
                truncate -s 20M {img}
                sgdisk -o {img} >/dev/null
                sgdisk --resize-table=256 -n 200:4096:+2M -t 200:8300 -c 200:slot200 -n 3:8192:+2M -t 3:0700 {img} >/dev/null
                """);
            var (_, parts) = VolumeOracles.Sfdisk(img);
            var layout = Scan(File.ReadAllBytes(img));
            Assert.Equal(parts.Select(p => ($"p{p.Number}", p.Start * 512, p.Size * 512)), layout.Volumes.Select(v => (v.Id, v.Offset, v.Size)));
            Assert.Contains(layout.Volumes, v => v.Id == "p200" && v.PartitionName == "slot200");
            Assert.Empty(layout.Warnings);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Tiny_and_empty_disks_do_not_throw()
    {
        foreach (int size in new[] { 0, 1, 100, 511, 512, 513, 1024, 4095, 4097, 8191 })
        {
            var bytes = new byte[size];
            if (size >= 512) { bytes[510] = 0x55; bytes[511] = 0xAA; WriteEntry(bytes, 446, 0x83, 1, 100); }
            var layout = Scan(bytes);
            Assert.NotNull(layout);
        }
    }

    /// <summary>Random damage to real tables: whatever the bytes say, the scan returns (no exception, no hang).</summary>
    [Fact]
    public void Random_damage_to_real_mbr_and_gpt_never_escapes()
    {
        var rng = new Random(1234);
        foreach (var disk in new[] { MbrWithLogicals(), SmallGpt() })
        {
            // aim at the structures: sector 0, GPT header/array, EBRs, and the end of the disk
            Fuzz(disk, rng, 300, 40, () => rng.Next(4) switch
            {
                0 => rng.Next(0, 34 * 512),
                1 => rng.Next(8192 * 512, 20480 * 512),
                2 => disk.Length - rng.Next(1, 33 * 512),
                _ => rng.Next(disk.Length),
            });
        }
    }

    /// <summary>Random damage to an LVM2 label/metadata area, and to an NTFS and an exFAT boot sector and their label records.</summary>
    [Fact]
    public void Random_damage_to_lvm_metadata_and_boot_sectors_never_escapes()
    {
        var rng = new Random(99);
        Fuzz(LvmDisk(), rng, 300, 20, () => rng.Next(0, 16384));
        foreach (var file in new[] { "disk-ntfs.img", "disk-fat.img", "disk-ext4.img" })
            Fuzz(File.ReadAllBytes(Path.Combine(VolumeOracles.Tables, file)), rng, 200, 12, () => rng.Next(0, 2048));
    }

    /// <summary>Flips random bytes at positions from <paramref name="position"/>, scans, and puts the bytes back (no copy of the whole disk per round).</summary>
    private static void Fuzz(byte[] disk, Random rng, int rounds, int maxFlips, Func<int> position)
    {
        var saved = new List<(int At, byte Value)>();
        for (int round = 0; round < rounds; round++)
        {
            for (int i = rng.Next(1, maxFlips); i > 0; i--)
            {
                int at = position();
                saved.Add((at, disk[at]));
                disk[at] = (byte)rng.Next(256);
            }
            Scan(disk);
            for (int i = saved.Count - 1; i >= 0; i--) disk[saved[i].At] = saved[i].Value;
            saved.Clear();
        }
    }

    // ---- LVM2 metadata damage, on the whole-disk PV image of volumes-lvm.sh ----

    private static byte[] LvmDisk() => File.ReadAllBytes(Path.Combine(VolumeOracles.Lvm, "lvm-disk.img"));

    private const int MdaStart = 4096;

    /// <summary>Replaces the current metadata text and fixes every CRC, as a buggy writer with valid checksums would.</summary>
    private static void RewriteMetadata(byte[] disk, Func<string, string> edit)
    {
        var mda = disk.AsSpan(MdaStart, 512);
        long offset = (long)BinaryPrimitives.ReadUInt64LittleEndian(mda[40..]);
        int size = (int)BinaryPrimitives.ReadUInt64LittleEndian(mda[48..]);
        string text = Encoding.UTF8.GetString(disk, MdaStart + (int)offset, size).TrimEnd('\0');
        var bytes = Encoding.UTF8.GetBytes(edit(text) + "\0");
        Array.Clear(disk, MdaStart + (int)offset, size);
        bytes.CopyTo(disk, MdaStart + (int)offset);
        BinaryPrimitives.WriteUInt64LittleEndian(mda[48..], (ulong)bytes.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(mda[56..], Crc32.Lvm(bytes));
        BinaryPrimitives.WriteUInt32LittleEndian(mda, Crc32.Lvm(mda[4..]));
    }

    [Fact]
    public void Lvm_metadata_with_a_bad_crc_is_a_reason_on_the_pv()
    {
        var disk = LvmDisk();
        var mda = disk.AsSpan(MdaStart, 512);
        long offset = (long)BinaryPrimitives.ReadUInt64LittleEndian(mda[40..]);
        disk[MdaStart + offset + 10] ^= 1;
        var layout = Scan(disk);
        var pv = Assert.Single(layout.Volumes);
        Assert.Equal("lvm2-pv", pv.FileSystem);
        Assert.Contains("metadata cannot be read", pv.Reason);
        Assert.Contains("metadata text CRC mismatch", pv.Reason);
    }

    [Fact]
    public void Lvm_garbage_metadata_text_is_a_reason_naming_the_line()
    {
        var disk = LvmDisk();
        RewriteMetadata(disk, t => t.Replace("logical_volumes {", "logical_volumes { ] = = {{"));
        var pv = Assert.Single(Scan(disk).Volumes);
        Assert.Contains("metadata cannot be read", pv.Reason);
        Assert.Contains("(line ", pv.Reason);
    }

    [Fact]
    public void Lvm_unclosed_sections_and_deep_nesting_are_reasons()
    {
        var disk = LvmDisk();
        RewriteMetadata(disk, t => t + string.Concat(Enumerable.Repeat("x {", 10_000)));
        Assert.Contains("nested too deeply", Assert.Single(Scan(disk).Volumes).Reason);
        disk = LvmDisk();
        RewriteMetadata(disk, t => t + "tail {");
        Assert.Contains("is not closed", Assert.Single(Scan(disk).Volumes).Reason);
    }

    [Fact]
    public void Lvm_absurd_extent_counts_and_missing_pvs_are_reasons_on_the_lv()
    {
        var disk = LvmDisk();
        RewriteMetadata(disk, t => t.Replace("extent_count = 2", "extent_count = 99999999999"));
        Assert.Contains("out of range", Assert.Single(Scan(disk).Volumes).Reason);

        disk = LvmDisk();
        RewriteMetadata(disk, t => t.Replace("\"pv0\", 1", "\"pv7\", 1"));
        var lv = Scan(disk).Volumes.Single(v => v.Id == "lvm-vgvolc-whole");
        Assert.False(lv.Mountable);
        Assert.Contains("PV 'pv7', which the VG does not list", lv.Reason);

        disk = LvmDisk();
        RewriteMetadata(disk, t => t.Replace("\"pv0\", 1", "\"pv0\", 100000"));
        lv = Scan(disk).Volumes.Single(v => v.Id == "lvm-vgvolc-whole");
        Assert.Contains("which has", lv.Reason);

        disk = LvmDisk();
        RewriteMetadata(disk, t => t.Replace("type = \"striped\"", "type = \"thin\""));
        lv = Scan(disk).Volumes.Single(v => v.Id == "lvm-vgvolc-whole");
        Assert.Equal("not supported: LV segment type 'thin' (only linear and striped LVs are read)", lv.Reason);
    }

    [Fact]
    public void Lvm_lv_on_a_pv_of_another_disk_is_listed_with_the_missing_pv_reason_and_hidden_lvs_are_not_listed()
    {
        var disk = LvmDisk();
        RewriteMetadata(disk, t => t
            .Replace("physical_volumes {", "physical_volumes {\npv1 {\nid = \"AAAAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAAAA\"\npe_start = 2048\npe_count = 9\n}\n")
            .Replace("\"pv0\", 1", "\"pv1\", 1"));
        var layout = Scan(disk);
        var lv = layout.Volumes.Single(v => v.Id == "lvm-vgvolc-whole");
        Assert.False(lv.Mountable);
        Assert.Equal("volume group 'vgvolc' is incomplete: the LV lies partly on PV pv1 (AAAAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAAAA), which is on none of the disks given", lv.Reason);
        Assert.Contains(layout.Warnings, w => w.Contains("volume group 'vgvolc' is incomplete: PV pv1 (AAAAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAAAA) is on none of the disks given"));

        disk = LvmDisk();
        RewriteMetadata(disk, t => t.Replace("\"VISIBLE\"", "\"NOTSHOWN\""));
        Assert.Equal(["disk"], Scan(disk).Volumes.Select(v => v.Id));
    }

    [Fact]
    public void Lvm_second_metadata_copy_is_used_when_the_first_is_damaged()
    {
        string image = Path.Combine(VolumeOracles.Lvm, "lvm-2mda.img");
        Assert.Equal("2", File.ReadAllText(Path.Combine(VolumeOracles.Lvm, "pvs-2mda.txt")).Trim()); // pvs: pv_mda_count
        var disk = File.ReadAllBytes(image);
        Assert.Equal(["disk", "lvm-vgvold-two"], Scan(disk).Volumes.Select(v => v.Id));
        var mda = disk.AsSpan(MdaStart, 512);
        long offset = (long)BinaryPrimitives.ReadUInt64LittleEndian(mda[40..]);
        disk[MdaStart + offset + 10] ^= 1;
        var layout = Scan(disk);
        Assert.Equal(["disk", "lvm-vgvold-two"], layout.Volumes.Select(v => v.Id));
        Assert.Contains(layout.Warnings, w => w.Contains("one LVM2 metadata copy is damaged") && w.Contains("CRC mismatch"));
    }

    [Fact]
    public void Lvm_label_with_a_bad_crc_is_a_reason()
    {
        var disk = LvmDisk();
        disk[512 + 40] ^= 0xFF; // inside the PV UUID
        var pv = Assert.Single(Scan(disk).Volumes);
        Assert.Contains("label cannot be read", pv.Reason);
        Assert.Contains("LVM2 label CRC mismatch", pv.Reason);
    }

    [Fact]
    public void Crc32_check_value()
    {
        Assert.Equal(0xCBF43926u, Crc32.Ieee("123456789"u8));
    }

    [Fact]
    public void Scanning_leaves_the_image_file_unchanged()
    {
        string image = Path.Combine(VolumeOracles.Tables, "parted.img");
        string before = Hashing.Sha256File(image);
        using (var disk = new VmdkMount.Core.Disks.RawDisk(image))
        {
            var layout = VolumeScanner.Scan(disk, FormatRegistry.Default);
            var buf = new byte[65536];
            foreach (var v in layout.Volumes) v.Data.ReadAt(0, buf);
        }
        Assert.Equal(before, Hashing.Sha256File(image));
    }
}
