using System.Buffers.Binary;
using System.Runtime.InteropServices;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Mounting;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;
using VmdkMount.Dokan;
using VmdkMount.Dokan.Native;
using VmdkMount.Tests.Fuse;
using VmdkMount.Tests.Infrastructure;
using Xunit;

namespace VmdkMount.Tests.Dokan;

/// <summary>
/// The binding's guards and lifecycle, the security descriptor, the ReFS rule and the cleanup of stale mounts, through
/// the same entry points dokan2.dll calls.
/// </summary>
public sealed unsafe class DokanBindingTests
{
    /// <summary>An IDokanFileSystem whose every call throws what it is given.</summary>
    private sealed class Throwing(Exception e) : IDokanFileSystem
    {
        public readonly List<string> Logged = [];
        public void Log(string line) => Logged.Add(line);
        public uint CreateFile(string f, uint a, uint at, uint s, uint d, uint o, DokanFileInfo* i) => throw e;
        public void Cleanup(string f, DokanFileInfo* i) => throw e;
        public void CloseFile(string f, DokanFileInfo* i) => throw e;
        public uint ReadFile(ReadOnlySpan<char> f, Span<byte> b, out int r, long o, DokanFileInfo* i) => throw e;
        public uint GetFileInformation(string f, ByHandleFileInformation* x, DokanFileInfo* i) => throw e;
        public uint FindFiles(string p, string? pat, FindSink s, DokanFileInfo* i) => throw e;
        public uint FindStreams(string f, StreamSink s, DokanFileInfo* i) => throw e;
        public uint GetDiskFreeSpace(out ulong a, out ulong t, out ulong f, DokanFileInfo* i) => throw e;
        public uint GetVolumeInformation(Span<char> v, out uint s, out uint m, out uint f, Span<char> n, DokanFileInfo* i) => throw e;
        public uint GetFileSecurity(string f, uint si, Span<byte> d, out uint n, DokanFileInfo* i) => throw e;
        public uint Mounted(string m, DokanFileInfo* i) => throw e;
        public uint Unmounted(DokanFileInfo* i) => throw e;
    }

    public static TheoryData<Exception, uint> Failures() => new()
    {
        { new InvalidOperationException("a bug"), NtStatus.InternalError },
        { new NullReferenceException(), NtStatus.InternalError },
        { new CorruptDataException("p1:/x", 4096, "bad run list"), NtStatus.FileCorruptError },
        { new FileReadException("p1:/efs.txt", "EFS-encrypted"), NtStatus.AccessDenied },
        { new IOException("read failed"), NtStatus.IoDeviceError },
        { new FileNotFoundException("gone"), NtStatus.ObjectNameNotFound },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void An_exception_in_a_callback_becomes_its_ntstatus_and_never_crosses_into_native_code(Exception e, uint expected)
    {
        var fs = new Throwing(e);
        using var d = new DokanHarness(fs);
        Assert.Equal(expected, d.Probe(@"\x"));
        Assert.Equal(expected, d.Volume(out _, out _, out _, out _, out _));
        Assert.Equal(expected, d.DiskFree(out _, out _, out _));
        // Cleanup and CloseFile return nothing: the exception is logged and swallowed (the harness's Probe called them)
        if (expected != NtStatus.ObjectNameNotFound) Assert.NotEmpty(fs.Logged);
        else Assert.Empty(fs.Logged); // a missing name is normal, not logged
    }

    [Fact]
    public void A_request_for_an_instance_that_is_gone_is_an_internal_error()
    {
        var fs = new Throwing(new InvalidOperationException());
        var d = new DokanHarness(fs);
        var info = d.NewInfo();
        d.Dispose(); // unregisters the instance; the options memory is freed, so point at a zeroed one
        var options = (DokanOptions*)NativeMemory.AllocZeroed((nuint)sizeof(DokanOptions));
        options->GlobalContext = ulong.MaxValue;
        info->DokanOptions = options;
        var ops = DokanCallbacks.Table();
        fixed (char* p = @"\x")
            Assert.Equal(NtStatus.InternalError, (uint)((delegate* unmanaged[Stdcall]<char*, void*, uint, uint, uint, uint, uint, DokanFileInfo*, int>)ops.ZwCreateFile)(p, null, 0, 0, 0, 1, 0, info));
        NativeMemory.Free(options);
        NativeMemory.Free(info);
    }

    /// <summary>An independent reading of a self-relative descriptor (MS-DTYP 2.4.6): SIDs as S-R-I-S..., the DACL's ACEs.</summary>
    private static (ushort Control, string? Owner, string? Group, List<(byte Type, byte Flags, uint Mask, string Sid)>? Dacl) Parse(ReadOnlySpan<byte> sd)
    {
        Assert.Equal(1, sd[0]);
        ushort control = BinaryPrimitives.ReadUInt16LittleEndian(sd[2..]);
        uint owner = BinaryPrimitives.ReadUInt32LittleEndian(sd[4..]), group = BinaryPrimitives.ReadUInt32LittleEndian(sd[8..]);
        uint sacl = BinaryPrimitives.ReadUInt32LittleEndian(sd[12..]), dacl = BinaryPrimitives.ReadUInt32LittleEndian(sd[16..]);
        Assert.Equal(0u, sacl);
        string Sid(ReadOnlySpan<byte> s)
        {
            ulong authority = 0;
            for (int i = 2; i < 8; i++) authority = (authority << 8) | s[i];
            var parts = new List<string> { "S", s[0].ToString(), authority.ToString() };
            for (int i = 0; i < s[1]; i++) parts.Add(BinaryPrimitives.ReadUInt32LittleEndian(s[(8 + 4 * i)..]).ToString());
            return string.Join('-', parts);
        }
        List<(byte, byte, uint, string)>? aces = null;
        if (dacl != 0)
        {
            var acl = sd[(int)dacl..];
            Assert.Equal(2, acl[0]);
            int count = BinaryPrimitives.ReadUInt16LittleEndian(acl[4..]);
            Assert.True(dacl + BinaryPrimitives.ReadUInt16LittleEndian(acl[2..]) <= sd.Length);
            aces = [];
            int at = 8;
            for (int i = 0; i < count; i++)
            {
                var ace = acl[at..];
                aces.Add((ace[0], ace[1], BinaryPrimitives.ReadUInt32LittleEndian(ace[4..]), Sid(ace[8..])));
                at += BinaryPrimitives.ReadUInt16LittleEndian(ace[2..]);
            }
        }
        return (control, owner == 0 ? null : Sid(sd[(int)owner..]), group == 0 ? null : Sid(sd[(int)group..]), aces);
    }

    [Fact]
    public void GetFileSecurity_gives_a_read_only_descriptor_sized_to_the_request()
    {
        using var m = DokanImages.ExtOnly();
        const uint all = SecurityDescriptor.OwnerSecurityInformation | SecurityDescriptor.GroupSecurityInformation | SecurityDescriptor.DaclSecurityInformation;
        Assert.Equal(NtStatus.BufferOverflow, m.Dokan.Security(@"\docs", all, 0, out _, out uint needed));
        Assert.Equal(NtStatus.BufferOverflow, m.Dokan.Security(@"\docs", all, (int)needed - 1, out _, out uint again));
        Assert.Equal(needed, again);
        Assert.Equal(NtStatus.Success, m.Dokan.Security(@"\docs", all, (int)needed, out var sd, out _));
        var (control, owner, group, dacl) = Parse(sd);
        Assert.Equal(0x8000, control & 0x8000); // self-relative
        Assert.Equal(0x0004, control & 0x0004); // DACL present
        Assert.Equal("S-1-5-32-544", owner);
        Assert.Equal("S-1-5-32-544", group);
        var ace = Assert.Single(dacl!);
        Assert.Equal((byte)0, ace.Type); // ACCESS_ALLOWED
        Assert.Equal((byte)3, ace.Flags); // inherited by files and folders below
        Assert.Equal(0x001200A9u, ace.Mask); // read and execute, nothing that writes
        Assert.Equal("S-1-1-0", ace.Sid);
        // a file's ACE is not inheritable; only what was asked is there
        Assert.Equal(NtStatus.Success, m.Dokan.Security(@"\big.bin", SecurityDescriptor.DaclSecurityInformation, 4096, out sd, out needed));
        var dOnly = Parse(sd.AsSpan(0, (int)needed));
        Assert.Null(dOnly.Owner);
        Assert.Null(dOnly.Group);
        Assert.Equal((byte)0, Assert.Single(dOnly.Dacl!).Flags);
        Assert.Equal(NtStatus.Success, m.Dokan.Security(@"\big.bin", SecurityDescriptor.OwnerSecurityInformation, 4096, out sd, out needed));
        var oOnly = Parse(sd.AsSpan(0, (int)needed));
        Assert.Equal("S-1-5-32-544", oOnly.Owner);
        Assert.Null(oOnly.Dacl);
        Assert.Equal(NtStatus.ObjectNameNotFound, m.Dokan.Security(@"\nosuch", all, 4096, out _, out _));
    }

    [Fact]
    public void A_session_keeps_its_native_blocks_for_the_driver_and_runs_the_lifecycle_in_order()
    {
        using var m = DokanImages.ExtOnly();
        var native = new FakeDokan();
        uint seenFlags = 0, status = 0;
        ushort version = 0;
        native.WhileMounted = (optionsPtr, opsPtr) =>
        {
            // the "driver" opens a file with the options and operations it was handed
            var options = (DokanOptions*)optionsPtr;
            var ops = (DokanOperations*)opsPtr;
            seenFlags = options->Options;
            version = options->Version;
            var info = (DokanFileInfo*)NativeMemory.AllocZeroed((nuint)sizeof(DokanFileInfo));
            info->DokanOptions = options;
            fixed (char* p = @"\docs\Only.TXT")
            {
                status = (uint)((delegate* unmanaged[Stdcall]<char*, void*, uint, uint, uint, uint, uint, DokanFileInfo*, int>)ops->ZwCreateFile)(p, null, DokanHarness.ReadAccess, 0, 7, 1, 0, info);
                ((delegate* unmanaged[Stdcall]<char*, DokanFileInfo*, void>)ops->CloseFile)(p, info);
            }
            NativeMemory.Free(info);
        };
        var session = new DokanSession(native, m.Adapter, new DokanSessionOptions { MountPoint = @"M:\" });
        bool mounted = false;
        Assert.Equal(DokanResult.Success, session.Run(() => mounted = true));
        Assert.True(mounted);
        Assert.Equal(NtStatus.Success, status);
        Assert.Equal(DokanSessionOptions.ApiVersion, version);
        Assert.Equal(DokanOptionFlags.WriteProtect | DokanOptionFlags.AltStream | DokanOptionFlags.Removable | DokanOptionFlags.MountManager, seenFlags);
        Assert.Equal(["init", @"create M:\", "wait", "close", "shutdown"], native.Calls);
        Assert.Equal(0, m.Adapter.OpenHandles);
    }

    [Fact]
    public void A_mount_that_fails_shuts_down_without_closing_a_handle_it_never_got()
    {
        using var m = DokanImages.ExtOnly();
        var native = new FakeDokan { CreateResult = DokanResult.DriverInstallError };
        var session = new DokanSession(native, m.Adapter, new DokanSessionOptions { MountPoint = @"C:\mnt\vmdk" });
        Assert.Equal(DokanResult.DriverInstallError, session.Run(() => throw new InvalidOperationException("not mounted")));
        Assert.Equal(["init", @"create C:\mnt\vmdk", "shutdown"], native.Calls);
        Assert.Contains("driver", DokanResult.Describe(DokanResult.DriverInstallError), StringComparison.Ordinal);
        // a folder mount point is not given to Mount Manager
        Assert.Equal(0u, new DokanSessionOptions { MountPoint = @"C:\mnt\vmdk" }.Flags & DokanOptionFlags.MountManager);
    }

    [Fact]
    public void Stale_mounts_are_removed_and_live_ones_kept()
    {
        string dir = RepoPaths.NewScratch("dokan-state");
        try
        {
            var state = new DokanMountState(dir);
            var live = new DokanMountRecord { Pid = 100, ProcessStartTicks = 1, MountPoint = @"M:\", Disk = "a.vmdk", Started = DateTime.UtcNow };
            var crashed = live with { Pid = 200, MountPoint = @"N:\" };
            var folder = live with { Pid = 300, MountPoint = @"C:\restore\vm1" };
            state.Write(live);
            state.Write(crashed);
            state.Write(folder);
            File.WriteAllText(Path.Combine(dir, "junk.json"), "{ not json");
            var native = new FakeDokan();
            native.Mounted.Add(@"N:\");
            var log = new List<string>();
            var cleaned = state.CleanStale(native, log.Add, r => r.Pid == 100);
            Assert.Equal([@"C:\restore\vm1", @"N:\"], cleaned.Order(StringComparer.Ordinal));
            Assert.Equal([@"C:\restore\vm1", @"N:\"], native.Removed.Order(StringComparer.Ordinal));
            Assert.Contains(log, l => l.StartsWith(@"N:\: unmounted", StringComparison.Ordinal));
            Assert.Contains(log, l => l.StartsWith(@"C:\restore\vm1: no longer mounted", StringComparison.Ordinal));
            Assert.Equal([@"M:\"], state.List().Select(r => r.MountPoint));
            Assert.Equal(state.RecordPath(@"m:\"), state.RecordPath(@"M:\"));
            // this process is alive by the default check; a record of a process id that is not running is not
            Assert.True(DokanMountState.IsAlive(DokanMountState.ForThisProcess(@"M:\", "a.vmdk")));
            Assert.False(DokanMountState.IsAlive(DokanMountState.ForThisProcess(@"M:\", "a.vmdk") with { ProcessStartTicks = 5 }));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(17134, false)]
    [InlineData(17763, true)]
    [InlineData(26100, true)]
    public void Refs_skip_reason_depends_on_the_build(int build, bool upgrades)
    {
        var disk = new MemoryDisk(new byte[4096], []);
        var refs = new Volume { Id = "p2", Offset = 0, Size = 4096, Scheme = "gpt", FileSystem = FileSystemKinds.Refs, Mountable = false, Reason = "ReFS is not read", Data = new SubRange(disk, 0, 1) };
        string reason = WindowsRules.SkipReason(refs, build)!;
        Assert.Equal(upgrades, reason.Contains("17763", StringComparison.Ordinal));
        Assert.Equal(upgrades ? WindowsRules.RefsSkipReason(build) : "ReFS is not read", reason);
        var ntfs = refs with { FileSystem = FileSystemKinds.Ntfs, Mountable = true, Reason = null };
        Assert.Null(WindowsRules.SkipReason(ntfs, build));
    }

    [Fact]
    public void A_refs_volume_is_never_handed_to_windows_even_if_it_were_readable()
    {
        var disk = new MemoryDisk(new byte[4096], []);
        var fs = new MemoryFileSystem("refs");
        var refs = new Volume { Id = "p1", Offset = 0, Size = 4096, Scheme = "gpt", FileSystem = FileSystemKinds.Refs, Mountable = true, Data = new SubRange(disk, 0, 1) };
        var tree = new MountTree(disk, [refs], _ => fs, new MountTreeOptions());
        var e = Assert.Throws<UnsupportedFeatureException>(() => new DokanAdapter(tree, new FakeDokan()));
        Assert.Contains("upgrade", e.Message, StringComparison.Ordinal);
    }
}
