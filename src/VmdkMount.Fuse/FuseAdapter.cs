using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Mounting;
using VmdkMount.Fuse.Native;

namespace VmdkMount.Fuse;

/// <summary>
/// The thin translation from FUSE low-level requests to <see cref="MountTree"/> and <see cref="IFileSystem"/>.
/// Each method ends in exactly one reply; an exception that escapes one reaches <see cref="FuseCallbacks"/>,
/// which replies with the errno from <see cref="ErrnoMapping"/>. Read-path methods rent their buffer from the
/// shared pool and reply from it while it is pinned, so steady-state reads allocate nothing.
/// </summary>
public sealed unsafe class FuseAdapter
{
    /// <summary>Largest READ the kernel sends (256 pages of 4 KiB: the kernel's FUSE max_pages limit); larger requests are capped.</summary>
    public const int MaxRead = 1 << 20;

    /// <summary>Replies at least this large are read into a <see cref="ReadBuffers"/> buffer and read ahead.</summary>
    private const int LargeRead = 128 * 1024;

    /// <summary>Largest extended attribute value Linux passes (XATTR_SIZE_MAX).</summary>
    private const int MaxXattrSize = 64 * 1024;
    private const string XattrPrefix = "user.";
    private const int SeekData = 3;
    private const int SeekHole = 4;

    private readonly ConcurrentDictionary<ulong, IReadOnlyList<(string Name, MountInode Inode)>> _openDirs = new();
    private readonly ConcurrentDictionary<ulong, ReadAhead> _readAheads = new();
    private readonly FuseAttributes _attributes;
    private readonly string _mountRoot;
    private readonly double _timeout;
    private long _nextHandle;
    private int _readaheadRaised;

    /// <summary>
    /// Set at INIT when every file opens the same way (the page-cache mode) and the kernel can skip OPEN: the first
    /// OPEN is then answered ENOSYS and the kernel opens every later file itself, with keep_cache and no RELEASE.
    /// That takes two of the three round trips out of reading a small file.
    /// </summary>
    private bool _noOpen;
    private readonly bool _directIo;

    /// <summary>
    /// False when no volume of this mount can have named streams: extended-attribute requests then get ENOSYS,
    /// after which the kernel stops sending them for the whole mount (`ls -l` asked two per file, for
    /// security.selinux and system.posix_acl_access).
    /// </summary>
    private readonly bool _xattrs;

    public FuseAdapter(MountTree tree, FuseMountOptions options, Action<string>? log = null)
    {
        Tree = tree;
        Log = log ?? (line => Console.Error.WriteLine("vmdkmount: " + line));
        _mountRoot = Path.GetFullPath(options.MountPoint).TrimEnd('/');
        _timeout = options.CacheSeconds;
        _directIo = options.DirectIo;
        _xattrs = tree.Volumes.Any(v => v.Mountable
            && (FormatRegistry.Default.Has(v.FileSystem, FileSystemCapabilities.NamedStreams) || FormatRegistry.Default.Has(v.FileSystem, FileSystemCapabilities.ExtendedAttributes))
            && (tree.Options.SingleVolume is null || v.Id == tree.Options.SingleVolume));
        StoreAhead = new StoreAhead(tree);
        _attributes = new FuseAttributes(tree, options.Uid ?? LibC.GetUid(), options.Gid ?? LibC.GetGid(), SymlinkSize, options.DirectIo);
    }

    public MountTree Tree { get; }

    internal StoreAhead StoreAhead { get; }

    public Action<string> Log { get; }

    internal string DescribeIno(ulong ino) => Tree.TryGet(ino, out var inode) ? Tree.DisplayPath(inode) : $"inode {ino}";

    internal void Init(FuseConnInfo* conn)
    {
        uint want = conn->Want | FuseCapabilities.ReaddirPlus | FuseCapabilities.CacheSymlinks | FuseCapabilities.ParallelDirOps;
        // "auto" makes the kernel fall back to plain READDIR plus one LOOKUP per entry after the first batch.
        want &= ~FuseCapabilities.ReaddirPlusAuto;
        // Direct I/O is chosen per file at OPEN, so only the page-cache mode can let the kernel skip it.
        if (!_directIo && (conn->Capable & FuseCapabilities.NoOpenSupport) != 0)
        {
            want |= FuseCapabilities.NoOpenSupport;
            _noOpen = true;
        }
        conn->Want = want & conn->Capable;
    }

    internal void Lookup(nint req, ulong parentIno, byte* namePtr)
    {
        var parent = Get(parentIno);
        if (!parent.IsDirectory) { FuseLowLevel.ReplyErr(req, Errno.ENOTDIR); return; }
        // Every shown name is valid UTF-8, so bytes that are not name nothing; decoding them with U+FFFD would let
        // "\xFF" open a file really called "\uFFFD".
        var raw = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(namePtr);
        var child = System.Text.Unicode.Utf8.IsValid(raw) ? Tree.Lookup(parent, Encoding.UTF8.GetString(raw)) : null;
        FuseEntryParam entry = default;
        entry.EntryTimeout = _timeout;
        entry.AttrTimeout = _timeout;
        if (child is not null)
        {
            entry.Ino = child.Ino;
            _attributes.Fill(entry.Attr, child);
            Tree.Referenced(child);
        }
        // ino 0 with a timeout is a negative entry: the kernel remembers the name is absent.
        FuseLowLevel.ReplyEntry(req, &entry);
    }

    internal void GetAttr(nint req, ulong ino)
    {
        var inode = Get(ino);
        byte* st = stackalloc byte[StatLayout.MaxSize];
        _attributes.Fill(st, inode);
        FuseLowLevel.ReplyAttr(req, st, _timeout);
    }

    internal void ReadLink(nint req, ulong ino)
    {
        var inode = Get(ino);
        if (inode.Kind != MountNodeKind.FsNode || inode.Node!.Type != FsNodeType.Symlink) { FuseLowLevel.ReplyErr(req, Errno.EINVAL); return; }
        string target = Tree.LinkTarget(inode, _mountRoot);
        byte[] bytes = new byte[Encoding.UTF8.GetByteCount(target) + 1];
        Encoding.UTF8.GetBytes(target, bytes);
        fixed (byte* p = bytes) FuseLowLevel.ReplyReadlink(req, p);
    }

    internal void Open(nint req, ulong ino, FuseFileInfo* fi)
    {
        var inode = Get(ino);
        if ((fi->Flags & 3) != 0) { FuseLowLevel.ReplyErr(req, Errno.EROFS); return; }
        if (inode.IsDirectory) { FuseLowLevel.ReplyErr(req, Errno.EISDIR); return; }
        if (_readaheadRaised == 0 && Interlocked.Exchange(ref _readaheadRaised, 1) == 0) FuseSession.RaiseReadahead(_mountRoot);
        // The mount is read-only, so the kernel refuses opens for writing before they would reach us.
        if (_noOpen) { FuseLowLevel.ReplyErr(req, Errno.ENOSYS); return; }
        fi->Fh = 0;
        if (_attributes.IsDirect(Tree.LengthOf(inode)))
        {
            ulong handle = (ulong)Interlocked.Increment(ref _nextHandle);
            _readAheads[handle] = new ReadAhead((at, destination) => Tree.Read(inode, at, destination));
            fi->Fh = handle;
            fi->Bits |= FuseFileInfo.DirectIoBit;
        }
        else
        {
            fi->Bits |= FuseFileInfo.KeepCacheBit;
        }
        FuseLowLevel.ReplyOpen(req, fi);
    }

    internal void Release(nint req, FuseFileInfo* fi)
    {
        if (fi->Fh != 0 && _readAheads.TryRemove(fi->Fh, out var readAhead)) readAhead.Close();
        FuseLowLevel.ReplyErr(req, 0);
    }

    internal void Read(nint req, ulong ino, nuint size, long offset, ulong fh)
    {
        var inode = Get(ino);
        if (offset < 0) { FuseLowLevel.ReplyErr(req, Errno.EINVAL); return; }
        int want = (int)Math.Min(size, (nuint)MaxRead);
        long length = Tree.LengthOf(inode);
        if (offset >= length) want = 0;
        else if (length - offset < want) want = (int)(length - offset);
        // Small requests are answered directly: for them the round trip is the cost, and a hand-off would add to it.
        ReadAhead? readAhead = fh != 0 && want >= LargeRead && _readAheads.TryGetValue(fh, out var r) ? r : null;
        nint prefetched = readAhead?.Take(offset, want) ?? 0;
        // Large replies come from the huge-page buffers (see ReadBuffers); small ones, or when those run out, from the pool.
        nint native = prefetched != 0 ? prefetched : want >= LargeRead ? ReadBuffers.Rent() : 0;
        byte[]? managed = native == 0 ? ArrayPool<byte>.Shared.Rent(Math.Max(want, 1)) : null;
        try
        {
            var destination = native != 0 ? ReadBuffers.Span(native, want) : managed.AsSpan(0, want);
            int total = prefetched != 0 ? want : Tree.Read(inode, offset, destination);
            if (total == want) readAhead?.Advance(offset, want, length);
            if (total < want)
            {
                // A short reply would make the kernel shrink its cached file size (fuse_short_read).
                Log($"{Tree.DisplayPath(inode)}: read failed: data ends at {offset + total}, before the file's size {length}");
                FuseLowLevel.ReplyErr(req, Errno.EIO);
                return;
            }
            fixed (byte* p = destination) FuseLowLevel.ReplyBuf(req, p, (nuint)total);
            if (offset == 0 && fh == 0) StoreAhead.ReadFromStart(inode);
        }
        finally
        {
            if (prefetched != 0) ReadAhead.Return(prefetched);
            else if (native != 0) ReadBuffers.Return(native);
            else ArrayPool<byte>.Shared.Return(managed!);
        }
    }

    internal void OpenDir(nint req, ulong ino, FuseFileInfo* fi)
    {
        var inode = Get(ino);
        if (!inode.IsDirectory) { FuseLowLevel.ReplyErr(req, Errno.ENOTDIR); return; }
        var entries = Tree.List(inode);
        Tree.PrefetchChildListings(inode);
        ulong handle = (ulong)Interlocked.Increment(ref _nextHandle);
        _openDirs[handle] = entries;
        fi->Fh = handle;
        // cache_readdir lasts across opens only together with keep_cache: the kernel drops a directory's cached entries on open otherwise.
        fi->Bits |= FuseFileInfo.KeepCacheBit | FuseCompat.CacheReaddirBit;
        FuseLowLevel.ReplyOpen(req, fi);
    }

    internal void ReleaseDir(nint req, FuseFileInfo* fi)
    {
        _openDirs.TryRemove(fi->Fh, out _);
        FuseLowLevel.ReplyErr(req, 0);
    }

    /// <summary>READDIR and READDIRPLUS: entry i carries cookie i+1; "." and ".." are entries 0 and 1.</summary>
    internal void ReadDir(nint req, ulong ino, nuint size, long offset, FuseFileInfo* fi, bool plus)
    {
        var dir = Get(ino);
        if (!_openDirs.TryGetValue(fi->Fh, out var entries)) { FuseLowLevel.ReplyErr(req, Errno.EBADF); return; }
        int capacity = (int)Math.Min(size, (nuint)MaxRead);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, 1));
        try
        {
            fixed (byte* buf = buffer)
            {
                int used = 0;
                byte* name = stackalloc byte[1024];
                FuseEntryParam entry = default;
                long count = entries.Count + 2L;
                for (long i = Math.Max(0, offset); i < count; i++)
                {
                    MountInode? child = i >= 2 ? entries[(int)(i - 2)].Inode : null;
                    string childName = i switch { 0 => ".", 1 => "..", _ => entries[(int)(i - 2)].Name };
                    byte* namePtr = EncodeName(childName, name, 1024, out byte[]? spill);
                    fixed (byte* spilled = spill)
                    {
                        if (spill is not null) namePtr = spilled;
                        nuint needed;
                        entry = default;
                        if (child is null)
                        {
                            // "." and "..": node id 0 so the kernel does not count a lookup; only type and number matter.
                            StatLayout.Fill(entry.Attr, _attributes.InodeNumber(dir), 0x4000, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
                        }
                        else
                        {
                            entry.Ino = child.Ino;
                            entry.AttrTimeout = _timeout;
                            entry.EntryTimeout = _timeout;
                            if (plus) _attributes.Fill(entry.Attr, child);
                            else StatLayout.Fill(entry.Attr, _attributes.InodeNumber(child), FuseAttributes.TypeBits(child), 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
                        }
                        needed = plus
                            ? FuseLowLevel.AddDirentryPlus(req, buf + used, (nuint)(capacity - used), namePtr, &entry, i + 1)
                            : FuseLowLevel.AddDirentry(req, buf + used, (nuint)(capacity - used), namePtr, entry.Attr, i + 1);
                        if (needed > (nuint)(capacity - used)) break;
                        // every readdirplus entry with a node id counts as a lookup for the kernel
                        if (plus && child is not null) Tree.Referenced(child);
                        used += (int)needed;
                    }
                }
                FuseLowLevel.ReplyBuf(req, buf, (nuint)used);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    internal void StatFs(nint req, ulong ino)
    {
        StatVfs st = default;
        long bytes = Tree.TryGet(ino, out var inode) && Tree.VolumeAt(inode.VolumeIndex) is { } volume
            ? volume.Size
            : Tree.Disk.Length;
        st.BlockSize = 4096;
        st.FragmentSize = 4096;
        st.Blocks = (ulong)(bytes / 4096);
        st.Files = (ulong)Tree.Count;
        st.Flag = 1; // ST_RDONLY
        st.NameMax = 255;
        FuseLowLevel.ReplyStatfs(req, &st);
    }

    /// <summary>
    /// NTFS alternate data streams appear as `user.&lt;stream&gt;` attributes, and a reader's own `user.*` attributes
    /// (XFS) as they are; other namespaces (trusted, security: ACLs, SELinux labels of the backed-up machine) are not
    /// shown, as they would be taken for this machine's own.
    /// </summary>
    internal void ListXattr(nint req, ulong ino, nuint size)
    {
        if (!_xattrs) { FuseLowLevel.ReplyErr(req, Errno.ENOSYS); return; }
        var inode = Get(ino);
        var streams = Tree.Streams(inode);
        var names = new StringBuilder();
        foreach (var s in streams) names.Append(XattrPrefix).Append(s.Name).Append('\0');
        foreach (var a in UserAttributes(inode)) names.Append(a.Name).Append('\0');
        byte[] bytes = Encoding.UTF8.GetBytes(names.ToString());
        if (size == 0) FuseLowLevel.ReplyXattr(req, (nuint)bytes.Length);
        else if ((nuint)bytes.Length > size) FuseLowLevel.ReplyErr(req, Errno.ERANGE);
        else fixed (byte* p = bytes) FuseLowLevel.ReplyBuf(req, p, (nuint)bytes.Length);
    }

    internal void GetXattr(nint req, ulong ino, byte* namePtr, nuint size)
    {
        if (!_xattrs) { FuseLowLevel.ReplyErr(req, Errno.ENOSYS); return; }
        var inode = Get(ino);
        var rawName = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(namePtr);
        string name = System.Text.Unicode.Utf8.IsValid(rawName) ? Encoding.UTF8.GetString(rawName) : "";
        if (UserAttributes(inode).FirstOrDefault(a => a.Name == name) is { } attribute)
        {
            if (size == 0) FuseLowLevel.ReplyXattr(req, (nuint)attribute.Value.Length);
            else if ((nuint)attribute.Value.Length > size) FuseLowLevel.ReplyErr(req, Errno.ERANGE);
            else fixed (byte* p = attribute.Value) FuseLowLevel.ReplyBuf(req, p, (nuint)attribute.Value.Length);
            return;
        }
        FsStream? stream = name.StartsWith(XattrPrefix, StringComparison.Ordinal) ? Tree.FindStream(inode, name[XattrPrefix.Length..]) : null;
        if (stream is not { } found) { FuseLowLevel.ReplyErr(req, Errno.ENODATA); return; }
        if (found.Size > MaxXattrSize) { FuseLowLevel.ReplyErr(req, Errno.E2BIG); return; }
        if (size == 0) { FuseLowLevel.ReplyXattr(req, (nuint)found.Size); return; }
        if ((nuint)found.Size > size) { FuseLowLevel.ReplyErr(req, Errno.ERANGE); return; }
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, (int)found.Size));
        try
        {
            int total = Tree.ReadStream(inode, found, 0, buffer.AsSpan(0, (int)found.Size));
            fixed (byte* p = buffer) FuseLowLevel.ReplyBuf(req, p, (nuint)total);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private IEnumerable<FsExtendedAttribute> UserAttributes(MountInode inode) =>
        Tree.ExtendedAttributes(inode).Where(a => a.Name.StartsWith(XattrPrefix, StringComparison.Ordinal));

    /// <summary>SEEK_DATA / SEEK_HOLE, as <see cref="MountTree.NextData"/> and <see cref="MountTree.NextHole"/> answer them.</summary>
    internal void Lseek(nint req, ulong ino, long offset, int whence)
    {
        var inode = Get(ino);
        if (whence is not (SeekData or SeekHole)) { FuseLowLevel.ReplyErr(req, Errno.EINVAL); return; }
        long result = whence == SeekData ? Tree.NextData(inode, offset) : Tree.NextHole(inode, offset);
        if (result < 0) FuseLowLevel.ReplyErr(req, Errno.ENXIO);
        else FuseLowLevel.ReplyLseek(req, result);
    }

    private long SymlinkSize(MountInode inode)
    {
        try
        {
            return Encoding.UTF8.GetByteCount(Tree.LinkTarget(inode, _mountRoot));
        }
        catch (Core.Errors.VmdkMountException)
        {
            return inode.Node!.Size;
        }
    }

    private MountInode Get(ulong ino) =>
        Tree.TryGet(ino, out var inode) ? inode : throw new KeyNotFoundException($"inode {ino} was never handed out");

    /// <summary>UTF-8 + NUL into <paramref name="scratch"/>, or into a spill array for names longer than it.</summary>
    private static byte* EncodeName(string name, byte* scratch, int scratchSize, out byte[]? spill)
    {
        int count = Encoding.UTF8.GetByteCount(name);
        if (count < scratchSize)
        {
            Encoding.UTF8.GetBytes(name, new Span<byte>(scratch, scratchSize));
            scratch[count] = 0;
            spill = null;
            return scratch;
        }
        spill = new byte[count + 1];
        Encoding.UTF8.GetBytes(name, spill);
        return null;
    }
}
