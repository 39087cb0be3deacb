using System.Runtime.InteropServices;

namespace VmdkMount.Fuse.Native;

/// <summary>`struct fuse_args` (24 bytes): argc, argv, allocated.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct FuseArgs
{
    public int Argc;
    public byte** Argv;
    public int Allocated;
}

/// <summary>`struct fuse_loop_config_v1` (3.2-3.11 loop argument).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseLoopConfigV1
{
    public int CloneFd;
    public uint MaxIdleThreads;
}

/// <summary>
/// `struct fuse_file_info`: only the fields that never moved across libfuse 3.0-3.18 are named.
/// The bit word at offset 4 holds direct_io (bit 1) and keep_cache (bit 2) everywhere; cache_readdir moved
/// (bit 6 on 3.14 and 3.17+, bit 7 on 3.15-3.16), so <see cref="FuseCompat.CacheReaddirBit"/> picks it.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
internal struct FuseFileInfo
{
    public const uint DirectIoBit = 1u << 1;
    public const uint KeepCacheBit = 1u << 2;

    [FieldOffset(0)] public int Flags;
    [FieldOffset(4)] public uint Bits;
    [FieldOffset(16)] public ulong Fh;
}

/// <summary>`struct fuse_entry_param` (176 bytes): ino, generation, struct stat, attr_timeout, entry_timeout.</summary>
[StructLayout(LayoutKind.Explicit, Size = 176)]
internal unsafe struct FuseEntryParam
{
    public const int StatOffset = 16;

    [FieldOffset(0)] public ulong Ino;
    [FieldOffset(8)] public ulong Generation;
    [FieldOffset(StatOffset)] public fixed byte Attr[StatLayout.MaxSize];
    [FieldOffset(160)] public double AttrTimeout;
    [FieldOffset(168)] public double EntryTimeout;
}

/// <summary>`struct statvfs` (112 bytes on 64-bit Linux; 11 u64 then spare).</summary>
[StructLayout(LayoutKind.Explicit, Size = 112)]
internal struct StatVfs
{
    [FieldOffset(0)] public ulong BlockSize;
    [FieldOffset(8)] public ulong FragmentSize;
    [FieldOffset(16)] public ulong Blocks;
    [FieldOffset(24)] public ulong BlocksFree;
    [FieldOffset(32)] public ulong BlocksAvailable;
    [FieldOffset(40)] public ulong Files;
    [FieldOffset(48)] public ulong FilesFree;
    [FieldOffset(56)] public ulong FilesAvailable;
    [FieldOffset(64)] public ulong FsId;
    [FieldOffset(72)] public ulong Flag;
    [FieldOffset(80)] public ulong NameMax;
}

/// <summary>`struct fuse_conn_info` (128 bytes, all unsigned): only the fields init touches.</summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct FuseConnInfo
{
    [FieldOffset(0)] public uint ProtoMajor;
    [FieldOffset(4)] public uint ProtoMinor;
    [FieldOffset(8)] public uint MaxWrite;
    [FieldOffset(12)] public uint MaxRead;
    [FieldOffset(16)] public uint MaxReadahead;
    [FieldOffset(20)] public uint Capable;
    [FieldOffset(24)] public uint Want;
}

/// <summary>
/// `struct fuse_buf` of libfuse 3.0-3.16 (40 bytes); 3.17 appended `mem_size`, which the trailing field leaves zero
/// there. Only memory buffers are used (flags 0), so fd and pos are never read.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct FuseBuf
{
    public nuint Size;
    public int Flags;
    public void* Mem;
    public int Fd;
    public long Pos;
    public nuint MemSize;
}

/// <summary>`struct fuse_bufvec` holding one buffer.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseBufVec
{
    public nuint Count;
    public nuint Index;
    public nuint Offset;
    public FuseBuf Buf;
}

/// <summary>`FUSE_CAP_*` bits of fuse_conn_info.want/capable.</summary>
internal static class FuseCapabilities
{
    public const uint ReaddirPlus = 1u << 13;
    public const uint ReaddirPlusAuto = 1u << 14;
    public const uint NoOpenSupport = 1u << 17;
    public const uint ParallelDirOps = 1u << 18;
    public const uint CacheSymlinks = 1u << 23;
}

/// <summary>
/// `struct stat` as glibc lays it out. linux-x64 (144 bytes) was measured; linux-arm64 uses the generic layout
/// (128 bytes, mode/nlink swapped and narrowed) taken from the kernel's asm-generic/stat.h (unverified here).
/// </summary>
internal static unsafe class StatLayout
{
    public const int MaxSize = 144;

    public static readonly bool IsGeneric = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.LoongArch64 or Architecture.RiscV64;

    public static void Fill(byte* st, ulong ino, uint mode, ulong nlink, uint uid, uint gid, ulong rdev, long size,
        long blocks, int blockSize, long atimeSec, long atimeNsec, long mtimeSec, long mtimeNsec, long ctimeSec, long ctimeNsec)
    {
        new Span<byte>(st, MaxSize).Clear();
        *(ulong*)(st + 8) = ino;
        if (IsGeneric)
        {
            *(uint*)(st + 16) = mode;
            *(uint*)(st + 20) = (uint)Math.Min(nlink, uint.MaxValue);
            *(uint*)(st + 24) = uid;
            *(uint*)(st + 28) = gid;
            *(ulong*)(st + 32) = rdev;
            *(long*)(st + 48) = size;
            *(int*)(st + 56) = blockSize;
            *(long*)(st + 64) = blocks;
        }
        else
        {
            *(ulong*)(st + 16) = nlink;
            *(uint*)(st + 24) = mode;
            *(uint*)(st + 28) = uid;
            *(uint*)(st + 32) = gid;
            *(ulong*)(st + 40) = rdev;
            *(long*)(st + 48) = size;
            *(long*)(st + 56) = blockSize;
            *(long*)(st + 64) = blocks;
        }
        *(long*)(st + 72) = atimeSec;
        *(long*)(st + 80) = atimeNsec;
        *(long*)(st + 88) = mtimeSec;
        *(long*)(st + 96) = mtimeNsec;
        *(long*)(st + 104) = ctimeSec;
        *(long*)(st + 112) = ctimeNsec;
    }
}

/// <summary>Version-dependent details of the installed libfuse, read once.</summary>
internal static class FuseCompat
{
    public static readonly int Version = FuseLowLevel.Version();

    /// <summary>cache_readdir's bit in fuse_file_info: 3.15 and 3.16 inserted parallel_direct_writes before it.</summary>
    public static uint CacheReaddirBit => Version is 315 or 316 ? 1u << 7 : 1u << 6;
}
