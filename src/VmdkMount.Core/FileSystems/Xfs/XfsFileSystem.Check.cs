using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Xfs;

public sealed partial class XfsFileSystem : IFileSystemCheck
{
    private const uint AgfMagic = 0x58414746, AgiMagic = 0x58414749; // XAGF, XAGI
    private const int AgfCrcOffset = 216, AgiCrcOffset = 312, AgUuidOffsetAgf = 64, AgUuidOffsetAgi = 296;
    /// <summary>AGs checked at most: two sectors each, so a million AGs cost 4 GiB of reads at worst and far less in practice.</summary>
    private const uint MaxCheckedAgs = 1u << 16;

    /// <summary>
    /// The AG headers the kernel validates at mount (xfs.md §2, §10): each AG's AGF and AGI sector, magic, version 1,
    /// sequence number, length (the last AG shorter), and on v5 CRC and UUID. The tree itself is walked by
    /// <see cref="FileSystemTreeCheck"/>. Bounded by <see cref="MaxCheckedAgs"/>.
    /// </summary>
    public IEnumerable<FsProblem> Check(CancellationToken cancel)
    {
        var sb = _vol.Sb;
        uint ags = Math.Min(sb.AgCount, MaxCheckedAgs);
        var sector = new byte[sb.SectorSize];
        for (uint agno = 0; agno < ags; agno++)
        {
            cancel.ThrowIfCancellationRequested();
            long agStart = (long)agno * sb.AgBlocks * sb.BlockSize;
            foreach (var (name, index, magic, crcAt, uuidAt) in new[] { ("AGF", 1, AgfMagic, AgfCrcOffset, AgUuidOffsetAgf), ("AGI", 2, AgiMagic, AgiCrcOffset, AgUuidOffsetAgi) })
            {
                string? problem = null;
                long at = agStart + (long)index * sb.SectorSize;
                try
                {
                    _vol.ReadExactly(at, sector, $"AG {agno} {name}");
                    uint m = BinaryPrimitives.ReadUInt32BigEndian(sector);
                    uint version = BinaryPrimitives.ReadUInt32BigEndian(sector.AsSpan(4));
                    uint seq = BinaryPrimitives.ReadUInt32BigEndian(sector.AsSpan(8));
                    uint length = BinaryPrimitives.ReadUInt32BigEndian(sector.AsSpan(12));
                    if (m != magic) problem = $"bad magic 0x{m:X8} at offset {at}";
                    else if (version != 1 || seq != agno) problem = $"version {version}, sequence number {seq} (expected 1 and {agno}) at offset {at}";
                    else if (length != sb.AgLength(agno)) problem = $"length {length} blocks, the superblock implies {sb.AgLength(agno)}";
                    else if (sb.HasCrc && !XfsCrc.Matches(sector, crcAt)) problem = $"CRC mismatch at offset {at + crcAt}";
                    else if (sb.HasCrc && !sector.AsSpan(uuidAt, 16).SequenceEqual(sb.MetadataUuidBytes)) problem = $"UUID of another filesystem at offset {at + uuidAt}";
                }
                catch (CorruptDataException e)
                {
                    problem = e.Message;
                }
                if (problem is not null) yield return new FsProblem($"AG {agno} {name}", problem);
            }
        }
        if (ags < sb.AgCount) yield return new FsProblem("AG headers", $"only the first {ags} of {sb.AgCount} AGs were checked");
    }
}
