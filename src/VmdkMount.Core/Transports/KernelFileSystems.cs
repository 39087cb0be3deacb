namespace VmdkMount.Core.Transports;

/// <summary>
/// The kernel's own filesystems (/proc, /sys, /dev and their relatives): their "files" are live kernel state, device
/// nodes or memory, never part of a backup. <see cref="RegularFileOpener"/> refuses a file on any of them by three
/// independent tests, so that no spelling of a path (`//dev/x`, `/./dev`, `/proc/self/root/...`, a symbolic link, a
/// bind mount elsewhere) gets one through:
/// 1. the filesystem magic of the open descriptor (fstatfs f_type) is a kernel filesystem's;
/// 2. the descriptor's device (statx st_dev) is that of a kernel mount root such as /dev (devtmpfs reports the
///    tmpfs magic, so test 1 cannot tell it from /tmp; its device number can);
/// 3. the descriptor's real path (readlink /proc/self/fd/N) is under /proc, /sys or /dev.
/// </summary>
internal static class KernelFileSystems
{
    /// <summary>Kernel-state filesystems by f_type (linux/magic.h).</summary>
    private static readonly Dictionary<uint, string> Magics = new()
    {
        [0x9fa0] = "procfs",
        [0x62656572] = "sysfs",
        [0x1cd1] = "devpts",
        [0x64626720] = "debugfs",
        [0x74726163] = "tracefs",
        [0x73636673] = "securityfs",
        [0x0027e0eb] = "cgroup",
        [0x63677270] = "cgroup2",
        [0xcafe4a11] = "bpf",
        [0x62656570] = "configfs",
        [0x6165676c] = "pstore",
        [0xde5e81e4] = "efivarfs",
        [0x65735543] = "fusectl",
        [0x42494e4d] = "binfmt_misc",
        [0xf97cff8c] = "selinuxfs",
        [0x43415d53] = "smackfs",
        [0x19800202] = "mqueue",
        [0x6e736673] = "nsfs",
    };

    /// <summary>Folders whose whole tree is kernel state; a real path equal to one or below it is refused.</summary>
    public static readonly string[] Roots = ["/proc", "/sys", "/dev"];

    /// <summary>Mount points of kernel filesystems whose device numbers identify them (test 2).</summary>
    private static readonly string[] MountRoots = ["/dev", "/dev/shm", "/dev/pts", "/dev/mqueue", "/dev/hugepages", "/proc", "/sys", "/sys/fs/cgroup"];

    private static readonly Lazy<HashSet<ulong>> Devices = new(FindDevices);

    public static string? NameOfMagic(long fType) => Magics.GetValueOrDefault((uint)fType);

    /// <summary>The kernel root holding <paramref name="realPath"/>, or null.</summary>
    public static string? RootHolding(string realPath)
    {
        foreach (var root in Roots)
            if (realPath == root || realPath.StartsWith(root + "/", StringComparison.Ordinal)) return root;
        return null;
    }

    public static bool IsKernelDevice(ulong device) => Devices.Value.Contains(device);

    /// <summary>
    /// Device numbers of the kernel mount roots. A root that is a plain folder of the root filesystem (no separate
    /// mount, as in some containers) shares "/"'s device and is left out: matching it would refuse every file.
    /// </summary>
    private static HashSet<ulong> FindDevices()
    {
        var set = new HashSet<ulong>();
        if (!OperatingSystem.IsLinux()) return set;
        ulong? rootDevice = LinuxFileCalls.StatPath("/")?.Device;
        foreach (var p in MountRoots)
            if (LinuxFileCalls.StatPath(p) is { } s && s.Device != rootDevice) set.Add(s.Device);
        return set;
    }
}
