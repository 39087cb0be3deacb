using System.Buffers.Binary;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>What the first bytes of a VMDK file say it is. Never trust the name or createType.</summary>
public enum VmdkFileKind { Text, HostedSparse, Cowd, SeSparse }

public static class ExtentMagic
{
    private const uint CowdMagic = 0x44574F43; // "COWD"
    private const ulong SeSparseMagic = 0x00000000CAFEBABE;

    public static VmdkFileKind Sniff(ReadOnlySpan<byte> head)
    {
        if (SparseExtentHeader.HasMagic(head)) return VmdkFileKind.HostedSparse;
        if (head.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(head) == CowdMagic) return VmdkFileKind.Cowd;
        if (head.Length >= 8 && BinaryPrimitives.ReadUInt64LittleEndian(head) == SeSparseMagic) return VmdkFileKind.SeSparse;
        return VmdkFileKind.Text;
    }
}
