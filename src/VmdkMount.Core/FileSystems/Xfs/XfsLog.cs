using System.Buffers;
using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Xfs;

/// <summary>
/// Whether the internal log ends in an unmount record (xfs.md §9.2, a simplified xlog_find_head/xlog_find_tail):
/// XFS has no clean flag, so this is the only way to know the home locations are current. Reads O(log n) 512-byte
/// basic blocks plus bounded back-scans, never the whole log. Anything inconsistent answers <see cref="State.Unknown"/>,
/// which callers report like dirty. The log is never replayed.
/// </summary>
internal static class XfsLog
{
    public enum State { Clean, Dirty, Unknown }

    private const uint RecordMagic = 0xFEEDBABE;
    private const int BB = 512;
    private const int CycleInHeaderOffset = 4, VersionOffset = 8, LenOffset = 12, NumLogOpsOffset = 40, HSizeOffset = 320;
    private const int OpFlagsOffset = 9;
    private const byte OpUnmount = 0x20;
    /// <summary>In-core log buffers that may be written out of order: 8 x 256 KiB (xlog_find_head's look-back).</summary>
    private const int OutOfOrderBBs = 4096;
    private const int MaxRecordBytes = 256 * 1024;
    private const int MaxHeaderBBs = 8;

    public static State Check(XfsVolume vol)
    {
        if (vol.Sb.LogStart == 0) return State.Unknown; // external log device: not on this disk
        try
        {
            long start = vol.FsbToByte(vol.Sb.LogStart, vol.Sb.LogBlocks, "log", 0);
            long n = (long)vol.Sb.LogBlocks * vol.BlockSize / BB;
            return Find(vol, start, n);
        }
        catch (CorruptDataException)
        {
            return State.Unknown;
        }
    }

    private static State Find(XfsVolume vol, long start, long n)
    {
        Span<byte> bb = stackalloc byte[BB];
        uint Cycle(long b, Span<byte> buf)
        {
            vol.ReadExactly(start + b * BB, buf, "log");
            uint first = BinaryPrimitives.ReadUInt32BigEndian(buf);
            return first == RecordMagic ? BinaryPrimitives.ReadUInt32BigEndian(buf[CycleInHeaderOffset..]) : first;
        }
        uint first = Cycle(0, bb);
        if (first == 0) return State.Unknown; // a zeroed log
        uint last = Cycle(n - 1, bb);
        long head;
        uint stop;
        if (last == 0) { head = FirstWith(0, n - 1, c => c == 0, bb, Cycle); stop = 0; }
        else if (first == last) { head = n; stop = last - 1; }
        else { head = FirstWith(0, n - 1, c => c == last, bb, Cycle); stop = last; }
        // out-of-order writes: the true head is the first block of the pass being written that is still stale
        head = FirstStale(vol, start, Math.Max(0, head - OutOfOrderBBs), head, stop);
        head %= n;
        long r = HeaderBefore(head, n, bb, vol, start);
        if (r < 0) return State.Unknown;
        var (hdrBBs, len, ops) = Header(r, bb, vol, start);
        if (hdrBBs < 0) return State.Unknown;
        if ((r + hdrBBs + (len + BB - 1) / BB) % n != head)
        {
            // a torn last record: the head is where it begins
            head = r;
            r = HeaderBefore(head, n, bb, vol, start);
            if (r < 0) return State.Unknown;
            (hdrBBs, len, ops) = Header(r, bb, vol, start);
            if (hdrBBs < 0 || (r + hdrBBs + (len + BB - 1) / BB) % n != head) return State.Unknown;
        }
        if (ops != 1) return State.Dirty;
        vol.ReadExactly(start + (r + hdrBBs) % n * BB, bb, "log");
        return (bb[OpFlagsOffset] & OpUnmount) != 0 ? State.Clean : State.Dirty;
    }

    /// <summary>The first block in [from, to) stamped with cycle <paramref name="stop"/>, else <paramref name="to"/>; read 64 KiB at a time.</summary>
    private static long FirstStale(XfsVolume vol, long start, long from, long to, uint stop)
    {
        const int ChunkBBs = 128;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ChunkBBs * BB);
        try
        {
            for (long b = from; b < to; b += ChunkBBs)
            {
                int n = (int)Math.Min(ChunkBBs, to - b);
                var chunk = buffer.AsSpan(0, n * BB);
                vol.ReadExactly(start + b * BB, chunk, "log");
                for (int i = 0; i < n; i++)
                {
                    var one = chunk.Slice(i * BB, BB);
                    uint first = BinaryPrimitives.ReadUInt32BigEndian(one);
                    uint cycle = first == RecordMagic ? BinaryPrimitives.ReadUInt32BigEndian(one[CycleInHeaderOffset..]) : first;
                    if (cycle == stop) return b + i;
                }
            }
            return to;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>First block in [lo, hi] whose cycle satisfies <paramref name="isNew"/>, given that every block from it on does.</summary>
    private static long FirstWith(long lo, long hi, Func<uint, bool> isNew, Span<byte> bb, CycleReader cycle)
    {
        // invariant: lo is old, hi is new
        if (isNew(cycle(lo, bb))) return lo;
        for (int guard = 0; hi - lo > 1 && guard < 64; guard++)
        {
            long mid = lo + (hi - lo) / 2;
            if (isNew(cycle(mid, bb))) hi = mid;
            else lo = mid;
        }
        return hi;
    }

    private delegate uint CycleReader(long b, Span<byte> buf);

    private static long HeaderBefore(long head, long n, Span<byte> bb, XfsVolume vol, long start)
    {
        long limit = Math.Min(n, MaxRecordBytes / BB + MaxHeaderBBs + 1);
        for (long i = 1; i <= limit; i++)
        {
            long b = ((head - i) % n + n) % n;
            vol.ReadExactly(start + b * BB, bb, "log");
            if (BinaryPrimitives.ReadUInt32BigEndian(bb) == RecordMagic) return b;
        }
        return -1;
    }

    private static (long HeaderBBs, long Len, uint Ops) Header(long r, Span<byte> bb, XfsVolume vol, long start)
    {
        vol.ReadExactly(start + r * BB, bb, "log");
        uint version = BinaryPrimitives.ReadUInt32BigEndian(bb[VersionOffset..]);
        long len = BinaryPrimitives.ReadUInt32BigEndian(bb[LenOffset..]);
        uint hSize = BinaryPrimitives.ReadUInt32BigEndian(bb[HSizeOffset..]);
        uint ops = BinaryPrimitives.ReadUInt32BigEndian(bb[NumLogOpsOffset..]);
        if (len > MaxRecordBytes || hSize > MaxRecordBytes) return (-1, 0, 0);
        long hdrBBs = (version & 2) != 0 && hSize > 32768 ? (hSize + 32767) / 32768 : 1;
        return hdrBBs > MaxHeaderBBs ? (-1, 0, 0) : (hdrBBs, len, ops);
    }
}
