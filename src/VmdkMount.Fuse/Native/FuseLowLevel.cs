using System.Runtime.InteropServices;

namespace VmdkMount.Fuse.Native;

/// <summary>
/// The libfuse3 low-level (inode-based) entry points, bound by name in `libfuse3.so.3` (the runtime package ships
/// no unversioned `libfuse3.so`). Every signature is blittable: pointers, integers and doubles only, so no
/// marshalling stub runs on the read path. `fuse_req_t` and `struct fuse_session*` are opaque <see cref="nint"/>s.
///
/// Symbol versions: the names bound here each have one default version from 3.0 through
/// 3.18 (`fuse_session_new` stays exported through lib/compat.c on 3.17+). The multi-threaded loop is not bound by
/// its plain name, whose meaning changed in 3.2 and 3.12; <see cref="FuseLoopBinding"/> resolves the explicit
/// `fuse_session_loop_mt_312` / `_32` variants at run time.
/// </summary>
internal static unsafe partial class FuseLowLevel
{
    public const string Library = "libfuse3.so.3";

    [LibraryImport(Library, EntryPoint = "fuse_version")]
    public static partial int Version();

    [LibraryImport(Library, EntryPoint = "fuse_session_new")]
    public static partial nint SessionNew(FuseArgs* args, nint* ops, nuint opSize, void* userdata);

    [LibraryImport(Library, EntryPoint = "fuse_session_mount")]
    public static partial int SessionMount(nint session, byte* mountpoint);

    [LibraryImport(Library, EntryPoint = "fuse_session_fd")]
    public static partial int SessionFd(nint session);

    [LibraryImport(Library, EntryPoint = "fuse_session_loop")]
    public static partial int SessionLoop(nint session);

    [LibraryImport(Library, EntryPoint = "fuse_session_exit")]
    public static partial void SessionExit(nint session);

    [LibraryImport(Library, EntryPoint = "fuse_session_unmount")]
    public static partial void SessionUnmount(nint session);

    [LibraryImport(Library, EntryPoint = "fuse_session_destroy")]
    public static partial void SessionDestroy(nint session);

    [LibraryImport(Library, EntryPoint = "fuse_opt_free_args")]
    public static partial void OptFreeArgs(FuseArgs* args);

    [LibraryImport(Library, EntryPoint = "fuse_req_userdata")]
    public static partial void* ReqUserdata(nint req);

    [LibraryImport(Library, EntryPoint = "fuse_reply_err")]
    public static partial int ReplyErr(nint req, int err);

    [LibraryImport(Library, EntryPoint = "fuse_reply_none")]
    public static partial void ReplyNone(nint req);

    [LibraryImport(Library, EntryPoint = "fuse_reply_entry")]
    public static partial int ReplyEntry(nint req, FuseEntryParam* entry);

    [LibraryImport(Library, EntryPoint = "fuse_reply_attr")]
    public static partial int ReplyAttr(nint req, byte* stat, double timeout);

    [LibraryImport(Library, EntryPoint = "fuse_reply_readlink")]
    public static partial int ReplyReadlink(nint req, byte* link);

    [LibraryImport(Library, EntryPoint = "fuse_reply_open")]
    public static partial int ReplyOpen(nint req, FuseFileInfo* fi);

    [LibraryImport(Library, EntryPoint = "fuse_reply_buf")]
    public static partial int ReplyBuf(nint req, byte* buf, nuint size);

    [LibraryImport(Library, EntryPoint = "fuse_reply_statfs")]
    public static partial int ReplyStatfs(nint req, StatVfs* stbuf);

    [LibraryImport(Library, EntryPoint = "fuse_reply_xattr")]
    public static partial int ReplyXattr(nint req, nuint count);

    [LibraryImport(Library, EntryPoint = "fuse_reply_lseek")]
    public static partial int ReplyLseek(nint req, long off);

    [LibraryImport(Library, EntryPoint = "fuse_lowlevel_notify_store")]
    public static partial int NotifyStore(nint session, ulong ino, long offset, FuseBufVec* bufv, int flags);

    [LibraryImport(Library, EntryPoint = "fuse_add_direntry_plus")]
    public static partial nuint AddDirentryPlus(nint req, byte* buf, nuint bufsize, byte* name, FuseEntryParam* entry, long nextOffset);

    [LibraryImport(Library, EntryPoint = "fuse_add_direntry")]
    public static partial nuint AddDirentry(nint req, byte* buf, nuint bufsize, byte* name, byte* stat, long nextOffset);
}

/// <summary>
/// Picks the multi-threaded session loop the installed libfuse understands:
/// 3.12+ `fuse_session_loop_mt_312` with a config from `fuse_loop_cfg_create`; 3.2-3.11 `fuse_session_loop_mt_32`
/// with the 8-byte v1 struct (NULL crashes there); otherwise the single-threaded loop.
/// </summary>
internal static unsafe class FuseLoopBinding
{
    public static int Run(nint session, uint maxThreads)
    {
        nint lib = NativeLibrary.Load(FuseLowLevel.Library);
        if (NativeLibrary.TryGetExport(lib, "fuse_session_loop_mt_312", out var loop312)
            && NativeLibrary.TryGetExport(lib, "fuse_loop_cfg_create", out var cfgCreate)
            && NativeLibrary.TryGetExport(lib, "fuse_loop_cfg_destroy", out var cfgDestroy)
            && NativeLibrary.TryGetExport(lib, "fuse_loop_cfg_set_max_threads", out var cfgMax)
            && NativeLibrary.TryGetExport(lib, "fuse_loop_cfg_set_clone_fd", out var cfgClone))
        {
            void* cfg = ((delegate* unmanaged[Cdecl]<void*>)cfgCreate)();
            if (cfg is null) return FuseLowLevel.SessionLoop(session);
            try
            {
                ((delegate* unmanaged[Cdecl]<void*, uint, void>)cfgClone)(cfg, 0);
                ((delegate* unmanaged[Cdecl]<void*, uint, void>)cfgMax)(cfg, maxThreads);
                return ((delegate* unmanaged[Cdecl]<nint, void*, int>)loop312)(session, cfg);
            }
            finally
            {
                ((delegate* unmanaged[Cdecl]<void*, void>)cfgDestroy)(cfg);
            }
        }
        if (NativeLibrary.TryGetExport(lib, "fuse_session_loop_mt_32", out var loop32))
        {
            var v1 = new FuseLoopConfigV1 { CloneFd = 0, MaxIdleThreads = maxThreads };
            return ((delegate* unmanaged[Cdecl]<nint, FuseLoopConfigV1*, int>)loop32)(session, &v1);
        }
        return FuseLowLevel.SessionLoop(session);
    }
}
