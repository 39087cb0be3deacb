using System.Collections.Concurrent;
using System.Diagnostics;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Mounting;
using VmdkMount.Core.Volumes;
using VmdkMount.Dokan.Native;

namespace VmdkMount.Dokan;

/// <summary>
/// The thin translation from Dokan operations to <see cref="MountTree"/>, the same model the FUSE frontend drives:
/// paths are walked with <see cref="DokanLookup"/>, each open handle is a number in <see cref="DokanFileInfo.Context"/>
/// naming an entry of the open table, and every failure is an exception that <see cref="DokanCallbacks"/> maps to an
/// NTSTATUS in one place. Nothing is ever written: any open that could write or create answers
/// STATUS_MEDIA_WRITE_PROTECTED, as the driver's WRITE_PROTECT does for the requests it stops itself.
/// </summary>
public sealed unsafe partial class DokanAdapter : IDokanFileSystem
{
    // ZwCreateFile's kernel dispositions and create options (wdm.h).
    public const uint FileSupersede = 0, FileOpen = 1, FileCreate = 2, FileOpenIf = 3, FileOverwrite = 4, FileOverwriteIf = 5;
    public const uint FileDirectoryFile = 0x1, FileNonDirectoryFile = 0x40, FileDeleteOnClose = 0x1000;

    /// <summary>
    /// Access rights that change something: write/append data (add file/subfolder on a folder), write EA, delete
    /// child, write attributes, DELETE, WRITE_DAC, WRITE_OWNER, GENERIC_WRITE, GENERIC_ALL.
    /// </summary>
    public const uint WriteAccess = 0x2 | 0x4 | 0x10 | 0x40 | 0x100 | 0x10000 | 0x40000 | 0x80000 | 0x40000000 | 0x10000000;

    private readonly ConcurrentDictionary<ulong, OpenHandle> _handles = new();
    private readonly INativeDokan _native;
    private readonly Action<string> _log;
    private readonly FsTime _mountTime = FsTime.FromDateTime(DateTime.UtcNow);
    private long _nextHandle;

    /// <summary>One open: the node (links followed), the named stream when `file:stream` was opened, the name it was opened by.</summary>
    private sealed record OpenHandle(MountInode Inode, FsStream? Stream, string Name, bool IsDirectory);

    public DokanAdapter(MountTree tree, INativeDokan native, DokanAdapterOptions? options = null, Action<string>? log = null)
    {
        // ReFS must never reach Windows (it upgrades the volume on attach); there is no ReFS reader, but should one be
        // added this frontend still refuses to show it.
        foreach (var v in tree.Volumes)
            if (v.Mountable && v.FileSystem == FileSystemKinds.Refs && (tree.Options.SingleVolume is null || tree.Options.SingleVolume == v.Id))
                throw new UnsupportedFeatureException(v.Id, WindowsRules.RefsSkipReason(WindowsRules.RefsUpgradeBuild)!);
        Tree = tree;
        _native = native;
        Options = options ?? new DokanAdapterOptions();
        _log = log ?? (line => Console.Error.WriteLine("vmdkmount: " + line));
        Lookup = new DokanLookup(tree, new NegativeCache(Options.NegativeCacheFolders, Options.NegativeCacheNamesPerFolder));
    }

    public MountTree Tree { get; }

    public DokanAdapterOptions Options { get; }

    public DokanLookup Lookup { get; }

    /// <summary>Where Windows mounted the volume (the Mounted callback), null before.</summary>
    public string? MountPoint { get; private set; }

    /// <summary>Handles open now (tests: every CloseFile releases one).</summary>
    public int OpenHandles => _handles.Count;

    public void Log(string line) => _log(line);

    public uint CreateFile(string fileName, uint desiredAccess, uint fileAttributes, uint shareAccess, uint createDisposition,
        uint createOptions, DokanFileInfo* info)
    {
        info->Context = 0;
        var path = DokanPath.Parse(fileName);
        if (path is null) return NtStatus.ObjectNameInvalid;
        bool creates = createDisposition is FileCreate or FileOpenIf or FileSupersede or FileOverwriteIf;
        var resolved = Lookup.Resolve(path.Components);
        if (resolved.Node is not { } inode)
            return creates && !resolved.ParentMissing ? NtStatus.MediaWriteProtected : NtStatus.From(MountErrorKind.NotFound, resolved.ParentMissing);
        if (createDisposition == FileCreate && path.Stream is null) return NtStatus.ObjectNameCollision;
        if (createDisposition is FileSupersede or FileOverwrite or FileOverwriteIf) return NtStatus.MediaWriteProtected;
        if ((desiredAccess & WriteAccess) != 0 || (createOptions & FileDeleteOnClose) != 0) return NtStatus.MediaWriteProtected;

        OpenHandle handle;
        if (path.Stream is { } streamName)
        {
            var stream = Tree.FindStream(inode, streamName);
            if (stream is null) return creates ? NtStatus.MediaWriteProtected : NtStatus.ObjectNameNotFound;
            if (createDisposition == FileCreate) return NtStatus.ObjectNameCollision;
            // A named stream is file data, also on a folder (NTFS folders can carry streams).
            if ((createOptions & FileDirectoryFile) != 0) return NtStatus.NotADirectory;
            handle = new OpenHandle(inode, stream, LastName(path), false);
        }
        else if (inode.IsDirectory)
        {
            if ((createOptions & FileNonDirectoryFile) != 0) return NtStatus.FileIsADirectory;
            handle = new OpenHandle(inode, null, LastName(path), true);
        }
        else
        {
            if ((createOptions & FileDirectoryFile) != 0) return NtStatus.NotADirectory;
            handle = new OpenHandle(inode, null, LastName(path), false);
        }
        ulong id = (ulong)Interlocked.Increment(ref _nextHandle);
        _handles[id] = handle;
        info->Context = id;
        info->IsDirectory = handle.IsDirectory ? (byte)1 : (byte)0;
        return NtStatus.Success;
    }

    public void Cleanup(string fileName, DokanFileInfo* info)
    {
        // Nothing to flush or delete on a read-only volume; the handle stays for paging reads until CloseFile.
    }

    public void CloseFile(string fileName, DokanFileInfo* info)
    {
        if (info->Context != 0 && _handles.TryRemove(info->Context, out var handle)) LetGo(handle.Inode);
        info->Context = 0;
    }

    /// <summary>
    /// Dokan names files by path and never says when Windows forgot one, so the tree would keep every node an
    /// antivirus scan ever opened. A file's node is let go when its handle closes (a later open makes it again; a
    /// handle still open keeps its own reference). Folders stay: their listings are what the tree caches.
    /// </summary>
    private void LetGo(MountInode inode)
    {
        if (inode.Kind == MountNodeKind.FsNode && !inode.IsDirectory) Tree.Forget(inode.Ino, 1);
    }

    public uint ReadFile(ReadOnlySpan<char> fileName, Span<byte> buffer, out int read, long offset, DokanFileInfo* info)
    {
        read = 0;
        if (!_handles.TryGetValue(info->Context, out var handle)) return NtStatus.InvalidHandle;
        if (handle.IsDirectory) return NtStatus.InvalidDeviceRequest;
        if (offset < 0) return NtStatus.InvalidParameter;
        long length = DataLength(handle);
        if (offset >= length) return NtStatus.Success; // 0 bytes: the library answers STATUS_END_OF_FILE
        int want = (int)Math.Min(buffer.Length, length - offset);
        long started = Stopwatch.GetTimestamp();
        long lastAlive = started;
        int done = 0;
        while (done < want)
        {
            int chunk = Math.Min(Options.ReadChunk, want - done);
            var part = buffer.Slice(done, chunk);
            int n = handle.Stream is { } s ? Tree.ReadStream(handle.Inode, s, offset + done, part) : Tree.Read(handle.Inode, offset + done, part);
            done += n;
            if (n < chunk) break;
            // A slow source (HTTP, NBD, a cold disk) must not make the driver time the request out and unmount.
            if (done < want && Stopwatch.GetElapsedTime(lastAlive) >= Options.KeepAliveAfter)
            {
                _native.ResetTimeout(Options.KeepAliveMilliseconds, info);
                lastAlive = Stopwatch.GetTimestamp();
            }
        }
        if (done < want)
            throw new CorruptDataException(Tree.DisplayPath(handle.Inode), offset + done, $"data ends before the file's size {length}");
        read = done;
        return NtStatus.Success;
    }

    public uint GetFileInformation(string fileName, ByHandleFileInformation* information, DokanFileInfo* info)
    {
        var handle = HandleOf(fileName, info, out uint status);
        if (handle is null) return status;
        *information = default;
        information->FileAttributes = AttributesOf(handle.Inode, handle.Name, handle.Stream is not null);
        var (created, accessed, written) = DokanAttributes.Times(handle.Inode, _mountTime);
        information->CreationTime = created;
        information->LastAccessTime = accessed;
        information->LastWriteTime = written;
        information->VolumeSerialNumber = SerialOf(handle.Inode);
        ulong size = (ulong)DataLength(handle);
        information->FileSizeHigh = (uint)(size >> 32);
        information->FileSizeLow = (uint)size;
        information->NumberOfLinks = (uint)Math.Max(1, handle.Inode.Node?.Links ?? 1);
        ulong index = FileIndex(handle.Inode);
        information->FileIndexHigh = (uint)(index >> 32);
        information->FileIndexLow = (uint)index;
        return NtStatus.Success;
    }

    public uint Mounted(string mountPoint, DokanFileInfo* info)
    {
        MountPoint = mountPoint;
        return NtStatus.Success;
    }

    public uint Unmounted(DokanFileInfo* info) => NtStatus.Success;

    /// <summary>The open handle's entry, or (without one: Dokan asks some things by name) the node the name resolves to.</summary>
    private OpenHandle? HandleOf(string fileName, DokanFileInfo* info, out uint status)
    {
        status = NtStatus.Success;
        if (info->Context != 0 && _handles.TryGetValue(info->Context, out var open)) return open;
        var path = DokanPath.Parse(fileName);
        if (path is null)
        {
            status = NtStatus.ObjectNameInvalid;
            return null;
        }
        var resolved = Lookup.Resolve(path.Components);
        if (resolved.Node is not { } inode)
        {
            status = NtStatus.From(MountErrorKind.NotFound, resolved.ParentMissing);
            return null;
        }
        FsStream? stream = null;
        if (path.Stream is { } name && (stream = Tree.FindStream(inode, name)) is null)
        {
            status = NtStatus.ObjectNameNotFound;
            return null;
        }
        return new OpenHandle(inode, stream, LastName(path), stream is null && inode.IsDirectory);
    }

    /// <summary>Bytes a handle reads: a stream's size, a file's, the disk's for disk.img; links that lead nowhere and special files are empty.</summary>
    private long DataLength(OpenHandle handle)
    {
        if (handle.Stream is { } s) return s.Size;
        var inode = handle.Inode;
        if (inode.Kind == MountNodeKind.DiskImage) return Tree.LengthOf(inode);
        return inode.Kind == MountNodeKind.FsNode && inode.Node!.Type == FsNodeType.File ? inode.Node.Size : 0;
    }

    private uint AttributesOf(MountInode inode, string name, bool stream)
    {
        uint a = DokanAttributes.Of(inode, name, Options.OfflineFiles);
        // A stream handle is file data even on a folder.
        if (stream && (a & DokanAttributes.Directory) != 0) a &= ~DokanAttributes.Directory;
        return a == 0 ? DokanAttributes.Normal : a;
    }

    /// <summary>
    /// The file index Windows uses to tell files apart (and hard links alike): the filesystem's own id (NTFS MFT
    /// record number) with one volume at the root, else the id with the volume's position in the top 16 bits, so it
    /// stays the same when the tree makes a node again. The mount's own folders and disk.img keep their inode numbers.
    /// </summary>
    private ulong FileIndex(MountInode inode) => inode.Kind != MountNodeKind.FsNode ? inode.Ino
        : Tree.Options.SingleVolume is not null ? (ulong)inode.Node!.Id
        : ((ulong)(inode.VolumeIndex + 1) << 48) | ((ulong)inode.Node!.Id & 0xFFFF_FFFF_FFFF);

    private static string LastName(DokanPath path) => path.Components.Count == 0 ? "" : path.Components[^1];
}
