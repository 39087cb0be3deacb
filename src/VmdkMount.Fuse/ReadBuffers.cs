using System.Runtime.InteropServices;
using VmdkMount.Fuse.Native;

namespace VmdkMount.Fuse;

/// <summary>
/// The 1 MiB buffers READ replies are read into and sent from, in native memory carved from 2 MiB-aligned regions
/// that ask for transparent huge pages: the kernel pins the reply buffer's pages for every reply it copies (and the
/// read-ahead copies the image's bytes into one), and with huge pages that is one page-table entry per 2 MiB
/// instead of 512. Buffers are reused, never freed: their number is bounded by the requests and read-aheads in
/// flight at once (<see cref="MaxBuffers"/>); past that, a rent falls back to the managed array pool.
/// </summary>
internal static unsafe class ReadBuffers
{
    public const int Size = FuseAdapter.MaxRead;
    public const int MaxBuffers = 64;
    private const int RegionSize = 2 * Size;

    private static readonly Lock s_gate = new();
    private static readonly nint[] s_free = new nint[MaxBuffers];
    private static int s_freeCount;
    private static int s_allocated;

    /// <summary>A free buffer of <see cref="Size"/> bytes, or 0 when <see cref="MaxBuffers"/> are all in use.</summary>
    public static nint Rent()
    {
        lock (s_gate)
        {
            if (s_freeCount > 0) return s_free[--s_freeCount];
            if (s_allocated + 2 > MaxBuffers) return 0;
            s_allocated += 2;
        }
        void* region = NativeMemory.AlignedAlloc(RegionSize, RegionSize);
        LibC.Madvise(region, RegionSize, LibC.MadvHugePage); // advice only: without THP the buffers still work
        nint first = (nint)region;
        Return(first + Size);
        return first;
    }

    public static void Return(nint buffer)
    {
        lock (s_gate) s_free[s_freeCount++] = buffer;
    }

    public static Span<byte> Span(nint buffer, int length) => new((void*)buffer, length);
}
