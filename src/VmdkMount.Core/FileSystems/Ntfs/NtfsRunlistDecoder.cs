using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>A run of clusters: VCN range and the LCN where it lives, or <see cref="SparseLcn"/> for a hole.</summary>
internal readonly record struct NtfsRun(long Vcn, long Length, long Lcn)
{
    public const long SparseLcn = -1;
    public bool IsSparse => Lcn == SparseLcn;
    public long EndVcn => Vcn + Length;
}

/// <summary>
/// Decodes "mapping pairs": header byte (low nibble = length bytes, high nibble = LCN-delta bytes), unsigned
/// length, signed LCN delta. Each attribute record starts its delta chain at LCN 0 (ReactOS PR #1811).
/// </summary>
internal static class NtfsRunlistDecoder
{
    /// <summary>2^50 clusters: far beyond any volume, small enough that VCN arithmetic never overflows.</summary>
    private const long MaxRunClusters = 1L << 50;

    public static void Decode(ReadOnlySpan<byte> runlist, long firstVcn, long clusterCount, List<NtfsRun> runs, string where, long offset)
    {
        long vcn = firstVcn;
        long lcn = 0;
        int p = 0;
        // Every run needs at least two bytes, so the loop is bounded by the runlist length.
        while (p < runlist.Length)
        {
            byte header = runlist[p];
            if (header == 0) return;
            int lenSize = header & 0x0F;
            int offSize = header >> 4;
            if (lenSize == 0 || lenSize > 8 || offSize > 8)
                throw new CorruptDataException(where, offset + p, $"runlist header 0x{header:X2} is invalid");
            if (p + 1 + lenSize + offSize > runlist.Length)
                throw new CorruptDataException(where, offset + p, "runlist entry runs past the attribute");
            long length = (long)ReadUnsigned(runlist.Slice(p + 1, lenSize));
            // A hole may be larger than the volume (a 5 GiB sparse file on a 64 MiB volume); clusters may not.
            if (length <= 0 || length > MaxRunClusters || (offSize != 0 && length > clusterCount))
                throw new CorruptDataException(where, offset + p, $"run length {length} is out of range");
            long run;
            if (offSize == 0)
            {
                run = NtfsRun.SparseLcn;
            }
            else
            {
                long delta = ReadSigned(runlist.Slice(p + 1 + lenSize, offSize));
                lcn += delta;
                if (lcn < 0 || lcn > clusterCount - length)
                    throw new CorruptDataException(where, offset + p, $"run of {length} clusters at LCN {lcn} lies outside the volume ({clusterCount} clusters)");
                run = lcn;
            }
            if (vcn > long.MaxValue / 4 - length) throw new CorruptDataException(where, offset + p, "VCN overflow");
            runs.Add(new NtfsRun(vcn, length, run));
            vcn += length;
            p += 1 + lenSize + offSize;
        }
    }

    private static ulong ReadUnsigned(ReadOnlySpan<byte> b)
    {
        ulong v = 0;
        for (int i = b.Length - 1; i >= 0; i--) v = (v << 8) | b[i];
        return v > long.MaxValue ? long.MaxValue : v;
    }

    private static long ReadSigned(ReadOnlySpan<byte> b)
    {
        long v = (sbyte)b[^1];
        for (int i = b.Length - 2; i >= 0; i--) v = (v << 8) | b[i];
        return v;
    }
}
