using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using VmdkMount.Fuse.Native;

namespace VmdkMount.Fuse;

/// <summary>
/// The `struct fuse_lowlevel_ops` table: static <c>[UnmanagedCallersOnly]</c> trampolines that find the
/// <see cref="FuseAdapter"/> from the request's userdata (a GCHandle) and call it. Every trampoline catches
/// everything: an exception escaping into native code would abort the process and leave a dead mount.
/// Writes of any kind answer EROFS (the mount is `ro`, so the kernel normally stops them first).
/// </summary>
internal static unsafe class FuseCallbacks
{
    /// <summary>Slots in the 3.14 table; newer libraries zero-fill what a smaller op_size leaves out.</summary>
    public const int SlotCount = 44;

    private const int SlotInit = 0, SlotDestroy = 1, SlotLookup = 2, SlotForget = 3, SlotGetattr = 4, SlotSetattr = 5,
        SlotReadlink = 6, SlotMknod = 7, SlotMkdir = 8, SlotUnlink = 9, SlotRmdir = 10, SlotSymlink = 11, SlotRename = 12,
        SlotLink = 13, SlotOpen = 14, SlotRead = 15, SlotWrite = 16, SlotRelease = 18, SlotOpendir = 20, SlotReaddir = 21,
        SlotReleasedir = 22, SlotStatfs = 24, SlotSetxattr = 25, SlotGetxattr = 26, SlotListxattr = 27,
        SlotRemovexattr = 28, SlotCreate = 30, SlotForgetMulti = 38, SlotFallocate = 40, SlotReaddirplus = 41,
        SlotCopyFileRange = 42, SlotLseek = 43;

    private static readonly nint TableAddress = BuildTable();

    /// <summary>The ops table, built once and kept for the life of the process (libfuse copies it, but may not).</summary>
    public static nint* Table => (nint*)TableAddress;

    private static nint BuildTable()
    {
        {
            var t = (nint*)NativeMemory.AllocZeroed(SlotCount, (nuint)sizeof(nint));
            t[SlotInit] = (nint)(delegate* unmanaged[Cdecl]<void*, FuseConnInfo*, void>)&Init;
            t[SlotDestroy] = (nint)(delegate* unmanaged[Cdecl]<void*, void>)&Destroy;
            t[SlotLookup] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, byte*, void>)&Lookup;
            t[SlotForget] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, ulong, void>)&Forget;
            t[SlotGetattr] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, FuseFileInfo*, void>)&GetAttr;
            t[SlotSetattr] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, byte*, int, FuseFileInfo*, void>)&SetAttr;
            t[SlotReadlink] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, void>)&ReadLink;
            t[SlotMknod] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, byte*, uint, ulong, void>)&Mknod;
            t[SlotMkdir] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, byte*, uint, void>)&Mkdir;
            t[SlotUnlink] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, byte*, void>)&Unlink;
            t[SlotRmdir] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, byte*, void>)&Unlink;
            t[SlotSymlink] = (nint)(delegate* unmanaged[Cdecl]<nint, byte*, ulong, byte*, void>)&Symlink;
            t[SlotRename] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, byte*, ulong, byte*, uint, void>)&Rename;
            t[SlotLink] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, ulong, byte*, void>)&Link;
            t[SlotOpen] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, FuseFileInfo*, void>)&Open;
            t[SlotRead] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, nuint, long, FuseFileInfo*, void>)&Read;
            t[SlotWrite] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, byte*, nuint, long, FuseFileInfo*, void>)&Write;
            t[SlotRelease] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, FuseFileInfo*, void>)&Release;
            t[SlotOpendir] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, FuseFileInfo*, void>)&OpenDir;
            t[SlotReaddir] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, nuint, long, FuseFileInfo*, void>)&ReadDir;
            t[SlotReleasedir] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, FuseFileInfo*, void>)&ReleaseDir;
            t[SlotStatfs] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, void>)&StatFs;
            t[SlotSetxattr] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, byte*, byte*, nuint, int, void>)&SetXattr;
            t[SlotGetxattr] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, byte*, nuint, void>)&GetXattr;
            t[SlotListxattr] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, nuint, void>)&ListXattr;
            t[SlotRemovexattr] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, byte*, void>)&Unlink;
            t[SlotCreate] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, byte*, uint, FuseFileInfo*, void>)&Create;
            t[SlotForgetMulti] = (nint)(delegate* unmanaged[Cdecl]<nint, nuint, void*, void>)&ForgetMulti;
            t[SlotFallocate] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, int, long, long, FuseFileInfo*, void>)&Fallocate;
            t[SlotReaddirplus] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, nuint, long, FuseFileInfo*, void>)&ReadDirPlus;
            t[SlotCopyFileRange] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, long, FuseFileInfo*, ulong, long, FuseFileInfo*, nuint, int, void>)&CopyFileRange;
            t[SlotLseek] = (nint)(delegate* unmanaged[Cdecl]<nint, ulong, long, int, FuseFileInfo*, void>)&Lseek;
            return (nint)t;
        }
    }

    public static nuint TableSize => (nuint)(SlotCount * sizeof(nint));

    private static FuseAdapter Adapter(nint req) => Adapter(FuseLowLevel.ReqUserdata(req));

    private static FuseAdapter Adapter(void* userdata) =>
        (FuseAdapter)GCHandle.FromIntPtr((nint)userdata).Target!;

    /// <summary>Answers a failed request; never throws (it is the last line of defence).</summary>
    private static void Fail(nint req, Exception e, string operation, ulong ino)
    {
        int errno = Errno.EIO;
        try
        {
            var adapter = Adapter(req);
            errno = ErrnoMapping.ToErrno(e, operation, adapter.DescribeIno(ino), adapter.Log);
        }
        catch
        {
            // The adapter itself is unreachable: EIO is all that can be said.
        }
        FuseLowLevel.ReplyErr(req, errno);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Init(void* userdata, FuseConnInfo* conn)
    {
        try { Adapter(userdata).Init(conn); }
        catch { conn->Want &= conn->Capable; }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Destroy(void* userdata) { }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Lookup(nint req, ulong parent, byte* name)
    {
        try { Adapter(req).Lookup(req, parent, name); }
        catch (Exception e) { Fail(req, e, "lookup", parent); }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Forget(nint req, ulong ino, ulong nlookup)
    {
        try { Adapter(req).Tree.Forget(ino, nlookup); }
        catch
        {
            // forget has no reply to carry an error; a node kept too long only costs memory
        }
        FuseLowLevel.ReplyNone(req);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void ForgetMulti(nint req, nuint count, void* forgets)
    {
        try
        {
            // struct fuse_forget_data { uint64_t ino; uint64_t nlookup; }
            var tree = Adapter(req).Tree;
            var items = (ulong*)forgets;
            for (nuint i = 0; i < count; i++) tree.Forget(items[2 * i], items[2 * i + 1]);
        }
        catch
        {
            // as in Forget
        }
        FuseLowLevel.ReplyNone(req);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void GetAttr(nint req, ulong ino, FuseFileInfo* fi)
    {
        try { Adapter(req).GetAttr(req, ino); }
        catch (Exception e) { Fail(req, e, "stat", ino); }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void ReadLink(nint req, ulong ino)
    {
        try { Adapter(req).ReadLink(req, ino); }
        catch (Exception e) { Fail(req, e, "readlink", ino); }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Open(nint req, ulong ino, FuseFileInfo* fi)
    {
        try { Adapter(req).Open(req, ino, fi); }
        catch (Exception e) { Fail(req, e, "open", ino); }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Read(nint req, ulong ino, nuint size, long offset, FuseFileInfo* fi)
    {
        try { Adapter(req).Read(req, ino, size, offset, fi->Fh); }
        catch (Exception e) { Fail(req, e, "read", ino); }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Release(nint req, ulong ino, FuseFileInfo* fi)
    {
        try { Adapter(req).Release(req, fi); }
        catch (Exception e) { Fail(req, e, "release", ino); }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OpenDir(nint req, ulong ino, FuseFileInfo* fi)
    {
        try { Adapter(req).OpenDir(req, ino, fi); }
        catch (Exception e) { Fail(req, e, "opendir", ino); }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void ReadDir(nint req, ulong ino, nuint size, long offset, FuseFileInfo* fi)
    {
        try { Adapter(req).ReadDir(req, ino, size, offset, fi, plus: false); }
        catch (Exception e) { Fail(req, e, "readdir", ino); }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void ReadDirPlus(nint req, ulong ino, nuint size, long offset, FuseFileInfo* fi)
    {
        try { Adapter(req).ReadDir(req, ino, size, offset, fi, plus: true); }
        catch (Exception e) { Fail(req, e, "readdir", ino); }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void ReleaseDir(nint req, ulong ino, FuseFileInfo* fi)
    {
        try { Adapter(req).ReleaseDir(req, fi); }
        catch (Exception e) { Fail(req, e, "releasedir", ino); }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void StatFs(nint req, ulong ino)
    {
        try { Adapter(req).StatFs(req, ino); }
        catch (Exception e) { Fail(req, e, "statfs", ino); }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void GetXattr(nint req, ulong ino, byte* name, nuint size)
    {
        try { Adapter(req).GetXattr(req, ino, name, size); }
        catch (Exception e) { Fail(req, e, "getxattr", ino); }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void ListXattr(nint req, ulong ino, nuint size)
    {
        try { Adapter(req).ListXattr(req, ino, size); }
        catch (Exception e) { Fail(req, e, "listxattr", ino); }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Lseek(nint req, ulong ino, long offset, int whence, FuseFileInfo* fi)
    {
        try { Adapter(req).Lseek(req, ino, offset, whence); }
        catch (Exception e) { Fail(req, e, "lseek", ino); }
    }

    // Everything below would change the backup: refused. P/Invoke replies cannot throw, so nothing to catch.

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void SetAttr(nint req, ulong ino, byte* attr, int toSet, FuseFileInfo* fi) => FuseLowLevel.ReplyErr(req, Errno.EROFS);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Mknod(nint req, ulong parent, byte* name, uint mode, ulong rdev) => FuseLowLevel.ReplyErr(req, Errno.EROFS);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Mkdir(nint req, ulong parent, byte* name, uint mode) => FuseLowLevel.ReplyErr(req, Errno.EROFS);

    /// <summary>unlink, rmdir and removexattr share this shape.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Unlink(nint req, ulong parent, byte* name) => FuseLowLevel.ReplyErr(req, Errno.EROFS);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Symlink(nint req, byte* link, ulong parent, byte* name) => FuseLowLevel.ReplyErr(req, Errno.EROFS);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Rename(nint req, ulong parent, byte* name, ulong newParent, byte* newName, uint flags) => FuseLowLevel.ReplyErr(req, Errno.EROFS);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Link(nint req, ulong ino, ulong newParent, byte* newName) => FuseLowLevel.ReplyErr(req, Errno.EROFS);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Write(nint req, ulong ino, byte* buf, nuint size, long offset, FuseFileInfo* fi) => FuseLowLevel.ReplyErr(req, Errno.EROFS);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void SetXattr(nint req, ulong ino, byte* name, byte* value, nuint size, int flags) => FuseLowLevel.ReplyErr(req, Errno.EROFS);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Create(nint req, ulong parent, byte* name, uint mode, FuseFileInfo* fi) => FuseLowLevel.ReplyErr(req, Errno.EROFS);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Fallocate(nint req, ulong ino, int mode, long offset, long length, FuseFileInfo* fi) => FuseLowLevel.ReplyErr(req, Errno.EROFS);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void CopyFileRange(nint req, ulong inoIn, long offIn, FuseFileInfo* fiIn, ulong inoOut, long offOut,
        FuseFileInfo* fiOut, nuint length, int flags) => FuseLowLevel.ReplyErr(req, Errno.EROFS);
}
