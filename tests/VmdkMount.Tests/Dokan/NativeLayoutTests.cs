using System.Runtime.InteropServices;
using VmdkMount.Dokan.Native;
using Xunit;

namespace VmdkMount.Tests.Dokan;

/// <summary>
/// The binding's structures against the x64 Windows (LLP64) layout of ../shared/docs/fuse-dokan.md section 4: sizes
/// by both sizeof and Marshal.SizeOf, every field's offset by Marshal.OffsetOf and by address difference.
/// </summary>
public unsafe class NativeLayoutTests
{
    private static void Offsets<T>(params (string Field, int Offset)[] expected) where T : struct
    {
        foreach (var (field, offset) in expected)
            Assert.True(offset == (int)Marshal.OffsetOf<T>(field), $"{typeof(T).Name}.{field}: {Marshal.OffsetOf<T>(field)}, expected {offset}");
    }

    [Fact]
    public void DokanOptions_is_16432_bytes_with_the_digest_offsets()
    {
        Assert.Equal(16432, sizeof(DokanOptions));
        Assert.Equal(16432, Marshal.SizeOf<DokanOptions>());
        Offsets<DokanOptions>(("Version", 0), ("SingleThread", 2), ("Options", 4), ("GlobalContext", 8), ("MountPoint", 16),
            ("UncName", 24), ("Timeout", 32), ("AllocationUnitSize", 36), ("SectorSize", 40), ("VolumeSecurityDescriptorLength", 44),
            ("VolumeSecurityDescriptor", 48));
        DokanOptions o = default;
        Assert.Equal(48, (int)((byte*)o.VolumeSecurityDescriptor - (byte*)&o));
        Assert.Equal(32, (int)((byte*)&o.Timeout - (byte*)&o));
    }

    [Fact]
    public void DokanFileInfo_is_48_bytes_with_the_digest_offsets()
    {
        Assert.Equal(48, sizeof(DokanFileInfo));
        Assert.Equal(48, Marshal.SizeOf<DokanFileInfo>());
        Offsets<DokanFileInfo>(("Context", 0), ("DokanContext", 8), ("DokanOptions", 16), ("ProcessingContext", 24), ("ProcessId", 32),
            ("IsDirectory", 36), ("DeletePending", 37), ("PagingIo", 38), ("SynchronousIo", 39), ("Nocache", 40), ("WriteToEndOfFile", 41));
        DokanFileInfo f = default;
        Assert.Equal(36, (int)((byte*)&f.IsDirectory - (byte*)&f));
    }

    [Fact]
    public void DokanOperations_holds_25_pointers_in_the_header_order()
    {
        Assert.Equal(200, sizeof(DokanOperations));
        Assert.Equal(200, Marshal.SizeOf<DokanOperations>());
        string[] order =
        [
            "ZwCreateFile", "Cleanup", "CloseFile", "ReadFile", "WriteFile", "FlushFileBuffers", "GetFileInformation", "FindFiles",
            "FindFilesWithPattern", "SetFileAttributes", "SetFileTime", "DeleteFile", "DeleteDirectory", "MoveFile", "SetEndOfFile",
            "SetAllocationSize", "LockFile", "UnlockFile", "GetDiskFreeSpace", "GetVolumeInformation", "Mounted", "Unmounted",
            "GetFileSecurity", "SetFileSecurity", "FindStreams",
        ];
        Offsets<DokanOperations>(order.Select((name, i) => (name, i * 8)).ToArray());
        Assert.Equal(order.Length, typeof(DokanOperations).GetFields().Length);
    }

    [Fact]
    public void Every_operation_slot_is_filled()
    {
        var table = DokanCallbacks.Table();
        var slots = new ReadOnlySpan<nint>(&table, sizeof(DokanOperations) / sizeof(nint));
        foreach (var slot in slots) Assert.NotEqual(0, slot);
        Assert.Equal(25, slots.ToArray().Distinct().Count());
    }

    [Fact]
    public void Win32_structures_have_their_windows_sizes()
    {
        Assert.Equal(8, sizeof(FileTime));
        Assert.Equal(52, sizeof(ByHandleFileInformation));
        Assert.Equal(52, Marshal.SizeOf<ByHandleFileInformation>());
        Offsets<ByHandleFileInformation>(("FileAttributes", 0), ("CreationTime", 4), ("LastAccessTime", 12), ("LastWriteTime", 20),
            ("VolumeSerialNumber", 28), ("FileSizeHigh", 32), ("FileSizeLow", 36), ("NumberOfLinks", 40), ("FileIndexHigh", 44), ("FileIndexLow", 48));
        Assert.Equal(592, sizeof(Win32FindData));
        Assert.Equal(592, Marshal.SizeOf<Win32FindData>());
        Offsets<Win32FindData>(("FileAttributes", 0), ("CreationTime", 4), ("LastAccessTime", 12), ("LastWriteTime", 20),
            ("FileSizeHigh", 28), ("FileSizeLow", 32), ("Reserved0", 36), ("Reserved1", 40), ("FileName", 44), ("AlternateFileName", 564));
        Assert.Equal(600, sizeof(Win32FindStreamData));
        Assert.Equal(600, Marshal.SizeOf<Win32FindStreamData>());
        Offsets<Win32FindStreamData>(("StreamSize", 0), ("StreamName", 8));
    }

    [Fact]
    public void FileTime_keeps_the_low_half_first()
    {
        var t = new FileTime(0x0123456789ABCDEF);
        Assert.Equal(0x89ABCDEFu, t.Low);
        Assert.Equal(0x01234567u, t.High);
        Assert.Equal(0x0123456789ABCDEF, t.Ticks);
        Assert.Equal(0, (int)Marshal.OffsetOf<FileTime>("Low"));
    }
}
