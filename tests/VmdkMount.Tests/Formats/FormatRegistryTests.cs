using System.Reflection;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Formats;

/// <summary>
/// The table of formats keeps its promises: a format's probe and its reader agree (kind and label) on every
/// filesystem image the suite builds, and every reader implements exactly the optional interfaces its row names,
/// so no reader carries a stub for a feature its format does not have.
/// </summary>
public class FormatRegistryTests
{
    public static TheoryData<string, string> FormatImages() => new()
    {
        { "ntfs-basic", "basic.img" }, { "ntfs-basic", "c512.img" }, { "ntfs-basic", "c2k.img" }, { "ntfs-basic", "c64k.img" },
        { "ntfs-basic", "c2m.img" }, { "ntfs-basic", "dirty.img" },
        { "ext-basic", "ext2_1k.img" }, { "ext-basic", "ext2_4k.img" }, { "ext-basic", "ext3_1k.img" }, { "ext-basic", "ext3_4k.img" },
        { "ext-basic", "ext4_1k.img" }, { "ext-basic", "ext4_4k.img" }, { "ext-basic", "ext4_32.img" }, { "ext-basic", "ext4_64k.img" },
        { "ext-basic", "ext4_bigalloc.img" }, { "ext-basic", "ext4_casefold.img" }, { "ext-basic", "ext4_gdtcsum.img" },
        { "ext-basic", "ext4_inline.img" }, { "ext-basic", "ext4_metabg.img" }, { "ext-basic", "ext4_noext.img" },
        { "ext-basic", "ext4_recover.img" },
        { "fat-basic", "fat12.img" }, { "fat-basic", "fat16.img" }, { "fat-basic", "fat16-4k.img" }, { "fat-basic", "fat32.img" },
        { "fat-exfat", "exfat.img" }, { "fat-exfat", "exfat-4k.img" },
        { "xfs-basic", "v5_4k.img" }, { "xfs-basic", "v5_1k.img" }, { "xfs-basic", "v4.img" }, { "xfs-basic", "v4_512.img" },
        { "xfs-basic", "v5_64k.img" },
    };

    [Theory]
    [MemberData(nameof(FormatImages))]
    public void Probe_and_reader_agree_on_kind_and_label(string set, string file)
    {
        using var disk = new RawDisk(Path.Combine(TestImages.Get(set), file));
        var registry = FormatRegistry.Default;
        var probe = registry.Probe(disk);
        var format = registry.Find(probe.FileSystem);
        Assert.True(format?.Open is not null, $"{file}: probed as {probe.FileSystem}, which has no reader");
        Assert.Null(registry.NotMountedReason(probe));
        using (var fs = registry.Open(probe.FileSystem, disk, file))
            Assert.Equal((probe.FileSystem, probe.Label), (fs.Kind, fs.Label));

        // The other way round: no other reader's probe claims the image, and no other reader opens it.
        var head = new byte[(int)Math.Min(FormatRegistry.HeadBytes, disk.Length)];
        disk.ReadExactly(0, head, file);
        foreach (var other in registry.Formats.Where(f => f.Open is not null && !ReferenceEquals(f, format)))
        {
            Assert.Null(other.Probe(disk, head));
            Assert.ThrowsAny<VmdkMountException>(() => other.Open!(disk, file, new FileSystemOptions()).Dispose());
        }
    }

    private static readonly (Type Interface, FileSystemCapabilities Flag)[] CapabilityInterfaces =
    [
        (typeof(ISymlinkReader), FileSystemCapabilities.Symlinks),
        (typeof(INamedStreams), FileSystemCapabilities.NamedStreams),
        (typeof(IFileAllocationMap), FileSystemCapabilities.AllocationMap),
        (typeof(IExtendedAttributes), FileSystemCapabilities.ExtendedAttributes),
    ];

    [Theory]
    [InlineData("ntfs-basic", "basic.img")]
    [InlineData("ext-basic", "ext4_4k.img")]
    [InlineData("fat-basic", "fat32.img")]
    [InlineData("fat-exfat", "exfat.img")]
    [InlineData("xfs-basic", "v5_4k.img")]
    public void A_reader_implements_exactly_the_capabilities_its_format_names(string set, string file)
    {
        using var disk = new RawDisk(Path.Combine(TestImages.Get(set), file));
        var probe = FormatRegistry.Default.Probe(disk);
        var format = FormatRegistry.Default.Find(probe.FileSystem)!;
        using var fs = FormatRegistry.Default.Open(probe.FileSystem, disk, file);
        foreach (var (iface, flag) in CapabilityInterfaces)
            Assert.True(iface.IsInstanceOfType(fs) == format.Capabilities.HasFlag(flag),
                $"{fs.GetType().Name}: implements {iface.Name} = {iface.IsInstanceOfType(fs)}, but the table says {format.Capabilities}");
    }

    /// <summary>
    /// Every reader in src/ (every <see cref="IFileSystem"/> there) implements only capabilities it has: FAT and exFAT
    /// have neither links nor streams, ext has no streams. A stub that throws "has no symbolic links" would have to
    /// sit on one of these interfaces, so the interface list is the proof.
    /// </summary>
    [Fact]
    public void No_reader_implements_a_capability_its_format_lacks()
    {
        var readers = typeof(IFileSystem).Assembly.GetTypes()
            .Where(t => typeof(IFileSystem).IsAssignableFrom(t) && t is { IsClass: true, IsAbstract: false })
            .ToDictionary(t => t.Name);
        var expected = new Dictionary<string, FileSystemCapabilities>
        {
            ["NtfsFileSystem"] = FileSystemCapabilities.Symlinks | FileSystemCapabilities.NamedStreams | FileSystemCapabilities.AllocationMap,
            ["ExtFileSystem"] = FileSystemCapabilities.Symlinks | FileSystemCapabilities.AllocationMap,
            ["FatFileSystem"] = FileSystemCapabilities.None,
            ["ExFatFileSystem"] = FileSystemCapabilities.None,
            ["XfsFileSystem"] = FileSystemCapabilities.Symlinks | FileSystemCapabilities.AllocationMap | FileSystemCapabilities.ExtendedAttributes,
        };
        Assert.Equal(expected.Keys.Order(), readers.Keys.Order());
        foreach (var (name, capabilities) in expected)
        {
            var type = readers[name];
            foreach (var (iface, flag) in CapabilityInterfaces)
                Assert.True(iface.IsAssignableFrom(type) == capabilities.HasFlag(flag), $"{name} and {iface.Name}");
            // No public member of a reader is named after a capability it does not implement (a stub left behind).
            var members = type.GetMethods(BindingFlags.Public | BindingFlags.Instance).Select(m => m.Name).ToHashSet();
            if (!capabilities.HasFlag(FileSystemCapabilities.Symlinks)) Assert.DoesNotContain("ReadLink", members);
            if (!capabilities.HasFlag(FileSystemCapabilities.NamedStreams))
            {
                Assert.DoesNotContain("ListStreams", members);
                Assert.DoesNotContain("ReadStream", members);
            }
            // And the table says the same for every kind the reader reports.
            var format = FormatRegistry.Default.Formats.Single(f => f.Open?.Method.DeclaringType == type);
            Assert.Equal(capabilities, format.Capabilities);
        }
    }

    [Fact]
    public void Every_kind_of_the_cli_contract_is_in_the_table_once_and_unknown_is_the_only_kind_without_a_row()
    {
        string[] contract = ["ntfs", "fat12", "fat16", "fat32", "exfat", "ext2", "ext3", "ext4", "xfs", "btrfs", "refs",
            "bitlocker", "luks", "swap", "lvm2-pv", "md-raid", "iso9660"];
        var kinds = FormatRegistry.Default.Formats.SelectMany(f => f.Kinds).ToList();
        Assert.Equal(contract.Order(), kinds.Order());
        Assert.Null(FormatRegistry.Default.Find("unknown"));
        Assert.Equal(["exfat", "ext2", "ext3", "ext4", "fat12", "fat16", "fat32", "ntfs", "xfs"],
            FormatRegistry.Default.Formats.Where(f => f.Open is not null).SelectMany(f => f.Kinds).Order());
    }

    [Fact]
    public void Missing_capabilities_are_refused_in_the_words_the_stubs_used()
    {
        var fs = new Fuse.MemoryFileSystem("ext4");
        Assert.Equal("ext4 node 7: no stream 'x': ext has no named data streams", MissingCapability.NoStreams(fs, 7, "x").Message);
        Assert.Equal("ext4 node 7: ext has no symbolic links", MissingCapability.NoSymlinks(fs, 7).Message);
    }
}
