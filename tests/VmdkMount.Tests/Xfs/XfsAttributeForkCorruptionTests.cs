using System.Buffers.Binary;
using System.Text;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.FileSystems.Xfs;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Corruption;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Xfs;

/// <summary>
/// Damage to every attribute-fork structure of the kernel-made images of images/xfs-xattr.sh (short form in the inode,
/// a leaf, a DA node over leaves, a remote value and its XARM header), each with its CRC made right again so the damage
/// reaches the attribute parser (XfsAttributeFork): a typed error naming the volume and the fork, or the values as they
/// now lie on disk; never another exception, and the other files' attributes as the kernel listed them.
/// The image is never written: the damage is an overlay in memory.
/// </summary>
public sealed class XfsAttributeForkCorruptionTests : IDisposable
{
    private const int InodeCrcOffset = 100, BlockCrcOffset = 12, V5CoreSize = 176;
    private const int LeafCountOffset = 56, LeafEntries = 80, NodeCountOffset = 56, NodeEntries = 64;

    private static string Dir => TestImages.Get("xfs-xattr");

    private readonly RawDisk _disk;
    private readonly IReadAt _image;
    private readonly XfsStructures _layout;
    private readonly IFileSystem _intact;
    private readonly string _name;

    /// <summary>The 4 KiB image: there leaf.txt is one leaf, node.txt a DA node over leaves, remote.txt a leaf with a remote value.</summary>
    public XfsAttributeForkCorruptionTests()
    {
        _name = "v5_4k.img";
        _disk = new RawDisk(Path.Combine(Dir, _name));
        _image = new SubRange(_disk, 0, _disk.Length);
        _intact = XfsFileSystem.Open(_image, _name, new FileSystemOptions());
        _layout = new XfsStructures(_image, IntactTree.Of(_intact));
    }

    public void Dispose()
    {
        _intact.Dispose();
        _disk.Dispose();
    }

    private long Ino(string path) => XfsImages.Ino(_intact, path);

    private long InodeAt(string path) => _layout.InodeOffset(Ino(path));

    private int AttrForkAt(string path) => V5CoreSize + Mutations.Read(_image, InodeAt(path), 256)[0x52] * 8;

    /// <summary>Volume byte offset of logical attribute block <paramref name="logical"/> (extent-format forks).</summary>
    private long AttrBlock(string path, long logical)
    {
        var inode = Mutations.Read(_image, InodeAt(path), 512);
        int fork = AttrForkAt(path);
        int records = BinaryPrimitives.ReadUInt16BigEndian(inode.AsSpan(0x50));
        for (int i = 0; i < records; i++)
        {
            ulong hi = BinaryPrimitives.ReadUInt64BigEndian(inode.AsSpan(fork + i * 16)), lo = BinaryPrimitives.ReadUInt64BigEndian(inode.AsSpan(fork + i * 16 + 8));
            long offset = (long)((hi >> 9) & ((1UL << 54) - 1)), start = (long)(((hi & 0x1FF) << 43) | (lo >> 21)), count = (long)(lo & 0x1FFFFF);
            if (logical >= offset && logical < offset + count) return _layout.BlockOffset(start + logical - offset);
        }
        throw new InvalidOperationException($"{path}: attribute block {logical} not in the fork");
    }

    private int BlockSize => (int)BinaryPrimitives.ReadUInt32BigEndian(Mutations.Read(_image, 4, 4));

    /// <summary>An object (an inode, a block) changed by <paramref name="change"/>, its CRC recomputed as XFS would.</summary>
    private Patch Rewritten(long at, int length, int crcOffset, Action<byte[]> change, bool fixCrc = true)
    {
        var bytes = Mutations.Read(_image, at, length);
        change(bytes);
        if (fixCrc) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(crcOffset), XfsCrc.Compute(bytes, crcOffset));
        return new Patch(at, bytes);
    }

    private Patch InodeChange(string path, Action<byte[], int> change) =>
        Rewritten(InodeAt(path), 512, InodeCrcOffset, b => change(b, AttrForkAt(path)));

    private Patch BlockChange(string path, long logical, Action<byte[]> change, bool fixCrc = true) =>
        Rewritten(AttrBlock(path, logical), BlockSize, BlockCrcOffset, change, fixCrc);

    private (IReadOnlyList<FsExtendedAttribute>? Attributes, CorruptDataException? Error) Attributes(string path, params Patch[] patches)
    {
        using var fs = XfsFileSystem.Open(new CorruptedView(_image, patches, null), _name, new FileSystemOptions());
        var attributes = (IExtendedAttributes)fs;
        try
        {
            var result = attributes.ExtendedAttributes(fs.Lookup(fs.RootId, path.TrimStart('/'))!.Id);
            // the damage is to one file's fork: the others read as the kernel listed them
            Assert.Equal(Oracle("/dir"), UserValues(attributes.ExtendedAttributes(fs.Lookup(fs.RootId, "dir")!.Id), "/dir"));
            return (result, null);
        }
        catch (CorruptDataException e)
        {
            Assert.Contains(_name, e.Message);
            Assert.Contains("attribute", e.Message);
            return (null, e);
        }
    }

    private static IEnumerable<string> UserValues(IEnumerable<FsExtendedAttribute> all, string path) =>
        all.Where(a => a.Name.StartsWith("user.", StringComparison.Ordinal)).Select(a => $"{path}\t{a.Name}\t{Convert.ToHexStringLower(a.Value)}").Order(StringComparer.Ordinal);

    private static List<string> Oracle(string path) =>
        File.ReadAllLines(Path.Combine(Dir, "v5_4k.xattrs")).Where(l => l.StartsWith(path + "\t", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();

    private static string Error(string path, (IReadOnlyList<FsExtendedAttribute>? Attributes, CorruptDataException? Error) r)
    {
        Assert.True(r.Error is not null, $"{path}: no error; read {r.Attributes?.Count} attributes");
        return r.Error.Message;
    }

    [Fact]
    public void Short_form_damage_is_a_clear_error_or_the_bytes_on_disk()
    {
        Assert.Contains("short-form size", Error("/sf.txt", Attributes("/sf.txt", InodeChange("/sf.txt", (b, f) => BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(f), 0xFFFF)))));
        Assert.Contains("short-form size", Error("/sf.txt", Attributes("/sf.txt", InodeChange("/sf.txt", (b, f) => BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(f), 2)))));
        Assert.Contains("runs past", Error("/sf.txt", Attributes("/sf.txt", InodeChange("/sf.txt", (b, f) => b[f + 2] = 200))));
        Assert.Contains("runs past", Error("/sf.txt", Attributes("/sf.txt", InodeChange("/sf.txt", (b, f) => b[f + 4] = 0))));
        Assert.Contains("runs past", Error("/sf.txt", Attributes("/sf.txt", InodeChange("/sf.txt", (b, f) => b[f + 5] = 255))));
        // a value byte changed (CRC right): the reader shows what is on disk, and the other attribute as it was
        var (changed, error) = Attributes("/sf.txt", InodeChange("/sf.txt", (b, f) =>
        {
            int value = f + 4 + 3 + b[f + 4];
            b[value] = (byte)'X';
        }));
        Assert.Null(error);
        Assert.Equal(2, changed!.Count);
        Assert.Contains(changed, a => a.Name == "user.a" && Encoding.ASCII.GetString(a.Value) == "Xne");
        Assert.Contains(changed, a => a.Name == "user.b" && Encoding.ASCII.GetString(a.Value) == "two");
        // without the CRC made right, the inode itself is refused
        var raw = Rewritten(InodeAt("/sf.txt"), 512, InodeCrcOffset, b => b[AttrForkAt("/sf.txt") + 2] ^= 1, fixCrc: false);
        using var fs = XfsFileSystem.Open(new CorruptedView(_image, [raw], null), _name, new FileSystemOptions());
        Assert.Contains("CRC", Assert.Throws<CorruptDataException>(() => ((IExtendedAttributes)fs).ExtendedAttributes(Ino("/sf.txt"))).Message);
    }

    /// <summary>Leaf entry <paramref name="i"/>: its name offset, flags, and (local) value length offset within the block.</summary>
    private static (int NameIdx, byte Flags) Entry(byte[] block, int i) =>
        (BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(LeafEntries + i * 8 + 4)), block[LeafEntries + i * 8 + 6]);

    [Fact]
    public void Leaf_damage_is_a_clear_error()
    {
        Assert.Contains("neither a leaf nor a node", Error("/leaf.txt", Attributes("/leaf.txt", BlockChange("/leaf.txt", 0, b => BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(8), 0x1234)))));
        Assert.Contains("do not fit", Error("/leaf.txt", Attributes("/leaf.txt", BlockChange("/leaf.txt", 0, b => BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(LeafCountOffset), 0xFFFF)))));
        Assert.Contains("past the block", Error("/leaf.txt", Attributes("/leaf.txt", BlockChange("/leaf.txt", 0, b => BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(LeafEntries + 4), 0xFFFF)))));
        Assert.Contains("runs past the block", Error("/leaf.txt", Attributes("/leaf.txt", BlockChange("/leaf.txt", 0, b =>
            BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(Entry(b, 0).NameIdx), 0xFFFF)))));
        Assert.Contains("past the fork", Error("/leaf.txt", Attributes("/leaf.txt", BlockChange("/leaf.txt", 0, b => BinaryPrimitives.WriteUInt32BigEndian(b, 0x00FFFFFF)))));
        Assert.Contains("CRC", Error("/leaf.txt", Attributes("/leaf.txt", BlockChange("/leaf.txt", 0, b => b[LeafEntries + 7] ^= 0x10, fixCrc: false))));
        // a local value byte changed (CRC right): that value as on disk, the other nineteen as the kernel wrote them
        var (changed, error) = Attributes("/leaf.txt", BlockChange("/leaf.txt", 0, b =>
        {
            var (nameIdx, _) = Entry(b, 0);
            b[nameIdx + 3 + b[nameIdx + 2]] = (byte)'Q';
        }));
        Assert.Null(error);
        var expected = Oracle("/leaf.txt");
        var shown = UserValues(changed!, "/leaf.txt").ToList();
        Assert.Equal(expected.Count, shown.Count);
        Assert.Equal(expected.Count - 1, shown.Intersect(expected).Count());
        var now = shown.Except(expected).Single().Split('\t');
        var before = expected.Single(l => l.Split('\t')[1] == now[1]).Split('\t');
        Assert.Equal("51" + before[2][2..], now[2]);
    }

    [Fact]
    public void Node_damage_is_a_clear_error_and_a_node_pointing_to_itself_ends()
    {
        Assert.Contains("without entries", Error("/node.txt", Attributes("/node.txt", BlockChange("/node.txt", 0, b => BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(NodeCountOffset), 0)))));
        Assert.Contains("past the fork", Error("/node.txt", Attributes("/node.txt", BlockChange("/node.txt", 0, b => BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(NodeEntries + 4), 0x00FFFFFF)))));
        Assert.Contains("deeper than", Error("/node.txt", Attributes("/node.txt", BlockChange("/node.txt", 0, b => BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(NodeEntries + 4), 0)))));
        // the first leaf's forward link made itself: a loop in the leaf chain, reported, not walked forever
        var node = Mutations.Read(_image, AttrBlock("/node.txt", 0), BlockSize);
        long firstLeaf = BinaryPrimitives.ReadUInt32BigEndian(node.AsSpan(NodeEntries + 4));
        Assert.Contains("returns to block", Error("/node.txt", Attributes("/node.txt", BlockChange("/node.txt", firstLeaf, b => BinaryPrimitives.WriteUInt32BigEndian(b, (uint)firstLeaf)))));
        var (all, error) = Attributes("/node.txt");
        Assert.Null(error);
        Assert.Equal(Oracle("/node.txt"), UserValues(all!, "/node.txt"));
    }

    [Fact]
    public void Remote_value_damage_is_a_clear_error()
    {
        var leaf = Mutations.Read(_image, AttrBlock("/remote.txt", 0), BlockSize);
        int count = BinaryPrimitives.ReadUInt16BigEndian(leaf.AsSpan(LeafCountOffset));
        int remote = Enumerable.Range(0, count).First(i => (Entry(leaf, i).Flags & 0x01) == 0);
        int nameIdx = Entry(leaf, remote).NameIdx;
        long valueBlock = BinaryPrimitives.ReadUInt32BigEndian(leaf.AsSpan(nameIdx));
        Assert.Contains("past the fork", Error("/remote.txt", Attributes("/remote.txt", BlockChange("/remote.txt", 0, b => BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(nameIdx), 0x00FFFFFF)))));
        Assert.Contains("at most", Error("/remote.txt", Attributes("/remote.txt", BlockChange("/remote.txt", 0, b => BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(nameIdx + 4), 70_000)))));
        Assert.Contains("XARM", Error("/remote.txt", Attributes("/remote.txt", BlockChange("/remote.txt", valueBlock, b => b[0] ^= 0xFF))));
        Assert.Contains("holds 1 bytes", Error("/remote.txt", Attributes("/remote.txt", BlockChange("/remote.txt", valueBlock, b => BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(8), 1)))));
        Assert.Contains("CRC", Error("/remote.txt", Attributes("/remote.txt", BlockChange("/remote.txt", valueBlock, b => b[100] ^= 1, fixCrc: false))));
        // a value byte changed, CRC right: the value as on disk, one byte different
        var (changed, error) = Attributes("/remote.txt", BlockChange("/remote.txt", valueBlock, b => b[56] ^= 0x20));
        Assert.Null(error);
        var big = changed!.Single(a => a.Name == "user.big").Value;
        var was = Convert.FromHexString(Oracle("/remote.txt").Single(l => l.Contains("\tuser.big\t", StringComparison.Ordinal)).Split('\t')[2]);
        Assert.Equal(was.Length, big.Length);
        Assert.Equal(1, big.Zip(was).Count(p => p.First != p.Second));
    }

    [Theory]
    [InlineData("/leaf.txt")]
    [InlineData("/node.txt")]
    [InlineData("/remote.txt")]
    public void Seeded_flips_in_every_attribute_block_give_a_clear_error_or_values(string path)
    {
        var rnd = new Random(Mutations.Seed(path));
        var inode = Mutations.Read(_image, InodeAt(path), 512);
        int fork = AttrForkAt(path), records = BinaryPrimitives.ReadUInt16BigEndian(inode.AsSpan(0x50));
        long blocks = 0;
        for (int i = 0; i < records; i++) blocks += (long)(BinaryPrimitives.ReadUInt64BigEndian(inode.AsSpan(fork + i * 16 + 8)) & 0x1FFFFF);
        int errors = 0, read = 0;
        for (int round = 0; round < 120; round++)
        {
            long logical = rnd.NextInt64(Math.Min(blocks, 8));
            int flips = 1 + rnd.Next(3);
            var patch = BlockChange(path, logical, b =>
            {
                for (int k = 0; k < flips; k++) b[rnd.Next(b.Length)] ^= (byte)(1 << rnd.Next(8));
            });
            var (attributes, error) = Attributes(path, patch);
            if (error is null)
            {
                read++;
                Assert.Equal(attributes!.Count, attributes.Select(a => a.Name).Distinct().Count());
            }
            else errors++;
        }
        Assert.True(errors > 0, "no flip was refused: the damage does not reach the parser");
    }
}
