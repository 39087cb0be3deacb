using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>The descriptor text a hosted sparse file carries inside itself (monolithicSparse, streamOptimized).</summary>
public static class EmbeddedDescriptor
{
    /// <summary>The embedded descriptor bytes up to the first NUL, or null when the header has none.</summary>
    public static byte[]? Read(IReadAt file, SparseExtentHeader header, string fileName)
    {
        if (header.DescriptorOffsetSectors == 0 || header.DescriptorSizeSectors == 0) return null;
        long off = (long)header.DescriptorOffsetSectors * Sector.Size;
        long len = (long)header.DescriptorSizeSectors * Sector.Size;
        if (off > file.Length || len > file.Length - off)
            throw new CorruptDataException($"{fileName}: embedded descriptor", off, $"embedded descriptor ({len} bytes) runs past the end of the file ({file.Length} bytes)");
        var bytes = new byte[len];
        file.ReadExactly(off, bytes, $"{fileName}: embedded descriptor");
        int nul = Array.IndexOf(bytes, (byte)0);
        return nul >= 0 ? bytes[..nul] : bytes;
    }
}
