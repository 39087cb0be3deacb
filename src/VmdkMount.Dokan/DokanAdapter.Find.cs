using VmdkMount.Core.Mounting;
using VmdkMount.Dokan.Native;

namespace VmdkMount.Dokan;

public sealed unsafe partial class DokanAdapter
{
    /// <summary>
    /// Characters no Windows name may hold (besides controls). An entry of a Unix volume named with one could be
    /// listed but never opened (the path would be split, or taken for a wildcard or a stream), so it is not listed;
    /// `extract` restores such files.
    /// </summary>
    private static readonly System.Buffers.SearchValues<char> NotInWindowsNames = System.Buffers.SearchValues.Create("\\/:*?\"<>|");

    public uint FindFiles(string path, string? pattern, FindSink sink, DokanFileInfo* info)
    {
        var dir = DirectoryOf(path, info, out uint status);
        if (dir is null) return status;
        bool all = pattern is null or "*" or "";
        Win32FindData data;
        // "." and ".." in every folder but the root, as NTFS lists them (mirror.c passes Windows' own through).
        if (dir != Tree.Root)
        {
            foreach (var dots in (ReadOnlySpan<string>)[".", ".."])
            {
                if (!all && !DosWildcard.IsMatch(pattern!, dots, ignoreCase: true)) continue;
                Fill(&data, dots, dir, dots);
                if (!sink.Add(&data)) return NtStatus.Success;
            }
        }
        var entries = Tree.List(dir);
        foreach (var (name, entry) in entries)
        {
            if (name.Length >= Win32FindData.MaxPath || !ShownOnWindows(name)) continue;
            if (!all && !DosWildcard.IsMatch(pattern!, name, ignoreCase: true)) continue;
            Fill(&data, name, Lookup.Follow(entry), name);
            if (!sink.Add(&data)) break;
        }
        // A listing the tree did not keep (over its budget) made nodes nobody holds: let the files go.
        if (!Tree.TryGetListing(dir, out _))
            foreach (var (_, entry) in entries) LetGo(entry);
        return NtStatus.Success;
    }

    /// <summary>
    /// The unnamed stream first (`::$DATA`, files only), then each named one as `:name:$DATA`. A node with none
    /// (a folder without streams) answers STATUS_END_OF_FILE, which FindFirstStreamW reports as ERROR_HANDLE_EOF.
    /// </summary>
    public uint FindStreams(string fileName, StreamSink sink, DokanFileInfo* info)
    {
        var handle = HandleOf(fileName, info, out uint status);
        if (handle is null) return status;
        Win32FindStreamData data;
        int count = 0;
        var inode = handle.Inode;
        if (!inode.IsDirectory)
        {
            FillStream(&data, "::$DATA", DataLength(handle with { Stream = null }));
            count++;
            if (!sink.Add(&data)) return NtStatus.Success;
        }
        foreach (var s in Tree.Streams(inode))
        {
            string name = ":" + s.Name + ":$DATA";
            if (name.Length >= Win32FindStreamData.NameLength) continue;
            FillStream(&data, name, s.Size);
            count++;
            if (!sink.Add(&data)) break;
        }
        return count == 0 ? NtStatus.EndOfFile : NtStatus.Success;
    }

    private MountInode? DirectoryOf(string path, DokanFileInfo* info, out uint status)
    {
        var handle = HandleOf(path, info, out status);
        if (handle is null) return null;
        if (handle.IsDirectory) return handle.Inode;
        status = NtStatus.NotADirectory;
        return null;
    }

    private void Fill(Win32FindData* data, string name, MountInode inode, string attributeName)
    {
        *data = default;
        data->FileAttributes = DokanAttributes.Of(inode, attributeName, Options.OfflineFiles);
        var (created, accessed, written) = DokanAttributes.Times(inode, _mountTime);
        data->CreationTime = created;
        data->LastAccessTime = accessed;
        data->LastWriteTime = written;
        ulong size = inode.IsDirectory ? 0 : (ulong)DataLength(new OpenHandle(inode, null, name, false));
        data->FileSizeHigh = (uint)(size >> 32);
        data->FileSizeLow = (uint)size;
        fixed (char* src = name) Buffer.MemoryCopy(src, data->FileName, Win32FindData.MaxPath * 2, name.Length * 2);
        // No 8.3 alternate name: none is invented (NTFS's own DOS names are not read for this).
    }

    private static void FillStream(Win32FindStreamData* data, string name, long size)
    {
        *data = default;
        data->StreamSize = size;
        fixed (char* src = name) Buffer.MemoryCopy(src, data->StreamName, Win32FindStreamData.NameLength * 2, name.Length * 2);
    }

    private static bool ShownOnWindows(string name)
    {
        if (name.Length == 0 || name is "." or ".." || name.AsSpan().IndexOfAny(NotInWindowsNames) >= 0) return false;
        foreach (char c in name)
            if (c < 0x20) return false;
        return true;
    }
}
