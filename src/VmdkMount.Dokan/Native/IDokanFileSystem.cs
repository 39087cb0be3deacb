namespace VmdkMount.Dokan.Native;

/// <summary>
/// What <see cref="DokanCallbacks"/> dispatch to, one method per read-only Dokan operation, with the native arguments
/// already turned into C# ones (strings, spans, sinks). Every method returns an NTSTATUS; an exception it throws is
/// mapped to one by <see cref="DokanCallbacks"/> and never reaches native code. Write operations are refused by the
/// callbacks themselves (the volume is write-protected) and have no method here.
/// </summary>
public unsafe interface IDokanFileSystem
{
    /// <summary>Where a failed request is written (once per failure; none for a name that is not there).</summary>
    void Log(string line);

    uint CreateFile(string fileName, uint desiredAccess, uint fileAttributes, uint shareAccess, uint createDisposition,
        uint createOptions, DokanFileInfo* info);

    void Cleanup(string fileName, DokanFileInfo* info);

    /// <summary>The handle's last call: reads can still come after Cleanup (paging I/O), never after this.</summary>
    void CloseFile(string fileName, DokanFileInfo* info);

    /// <summary>The hot path: the name is not turned into a string (the handle in <see cref="DokanFileInfo.Context"/> says what is read).</summary>
    uint ReadFile(ReadOnlySpan<char> fileName, Span<byte> buffer, out int read, long offset, DokanFileInfo* info);

    uint GetFileInformation(string fileName, ByHandleFileInformation* information, DokanFileInfo* info);

    /// <summary>FindFiles (<paramref name="pattern"/> null) and FindFilesWithPattern.</summary>
    uint FindFiles(string path, string? pattern, FindSink sink, DokanFileInfo* info);

    uint FindStreams(string fileName, StreamSink sink, DokanFileInfo* info);

    uint GetDiskFreeSpace(out ulong freeBytesAvailable, out ulong totalBytes, out ulong totalFreeBytes, DokanFileInfo* info);

    /// <summary>Sizes of the name buffers are in UTF-16 units, the NUL included.</summary>
    uint GetVolumeInformation(Span<char> volumeName, out uint serialNumber, out uint maxComponentLength, out uint fileSystemFlags,
        Span<char> fileSystemName, DokanFileInfo* info);

    uint GetFileSecurity(string fileName, uint securityInformation, Span<byte> descriptor, out uint lengthNeeded, DokanFileInfo* info);

    uint Mounted(string mountPoint, DokanFileInfo* info);

    uint Unmounted(DokanFileInfo* info);
}

/// <summary>Dokan's FillFindData for one FindFiles call: hands it one entry at a time.</summary>
public readonly unsafe struct FindSink(delegate* unmanaged[Stdcall]<Win32FindData*, DokanFileInfo*, int> fill, DokanFileInfo* info)
{
    /// <summary>False when Dokan says its buffer is full (the header says it currently never does).</summary>
    public bool Add(Win32FindData* entry) => fill(entry, info) != 1;
}

/// <summary>Dokan's FillFindStreamData for one FindStreams call.</summary>
public readonly unsafe struct StreamSink(delegate* unmanaged[Stdcall]<Win32FindStreamData*, void*, int> fill, void* context)
{
    /// <summary>False when Dokan's buffer is full (FillFindStreamData returns FALSE): stop and return success.</summary>
    public bool Add(Win32FindStreamData* entry) => fill(entry, context) != 0;
}
