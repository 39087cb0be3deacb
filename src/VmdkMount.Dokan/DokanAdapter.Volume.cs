using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Mounting;
using VmdkMount.Dokan.Native;

namespace VmdkMount.Dokan;

public sealed unsafe partial class DokanAdapter
{
    // GetVolumeInformation flags (winnt.h FILE_*).
    public const uint CasePreservedNames = 0x2, UnicodeOnDisk = 0x4, NamedStreams = 0x40000, ReadOnlyVolume = 0x80000;

    public const uint MaxComponentLength = 255;

    /// <summary>Longest volume label Windows shows.</summary>
    public const int MaxLabel = 32;

    public uint GetDiskFreeSpace(out ulong freeBytesAvailable, out ulong totalBytes, out ulong totalFreeBytes, DokanFileInfo* info)
    {
        totalBytes = (ulong)Math.Max(0, Tree.Options.SingleVolume is { } id ? Tree.Volumes.First(v => v.Id == id).Size : Tree.Disk.Length);
        freeBytesAvailable = 0;
        totalFreeBytes = 0;
        return NtStatus.Success;
    }

    /// <summary>
    /// The label (the volume's own with one volume, else the disk file's name), a serial number derived from the
    /// disk and volume, and the flags: case preserved, Unicode, read-only, named streams when an NTFS volume is shown.
    /// The filesystem name is that of the one FAT volume shown, else "NTFS" (programs test for it before using
    /// features every volume here has: long names, Unicode, streams where there are any).
    /// </summary>
    public uint GetVolumeInformation(Span<char> volumeName, out uint serialNumber, out uint maxComponentLength, out uint fileSystemFlags,
        Span<char> fileSystemName, DokanFileInfo* info)
    {
        var single = Tree.Options.SingleVolume is { } id ? Tree.Volumes.FirstOrDefault(v => v.Id == id) : null;
        string label = single is not null
            ? Tree.Root.FileSystem?.Label ?? single.Label ?? single.Id
            : Path.GetFileNameWithoutExtension(Tree.Disk.Source);
        Copy(label.Length > MaxLabel ? label[..MaxLabel] : label, volumeName);
        serialNumber = SerialOf(Tree.Root);
        maxComponentLength = MaxComponentLength;
        fileSystemFlags = CasePreservedNames | UnicodeOnDisk | ReadOnlyVolume | (ShowsNamedStreams() ? NamedStreams : 0);
        Copy(FileSystemName(single?.FileSystem), fileSystemName);
        return NtStatus.Success;
    }

    public uint GetFileSecurity(string fileName, uint securityInformation, Span<byte> descriptor, out uint lengthNeeded, DokanFileInfo* info)
    {
        lengthNeeded = 0;
        var handle = HandleOf(fileName, info, out uint status);
        if (handle is null) return status;
        var sd = SecurityDescriptor.Build(securityInformation, handle.IsDirectory);
        lengthNeeded = (uint)sd.Length;
        if (descriptor.Length < sd.Length) return NtStatus.BufferOverflow;
        sd.CopyTo(descriptor);
        return NtStatus.Success;
    }

    public static string FileSystemName(string? kind) => kind switch
    {
        "fat12" or "fat16" => "FAT",
        "fat32" => "FAT32",
        "exfat" => "exFAT",
        _ => "NTFS",
    };

    private bool ShowsNamedStreams() => Tree.Volumes.Any(v => v.Mountable
        && (Tree.Options.SingleVolume is null || v.Id == Tree.Options.SingleVolume)
        && FormatRegistry.Default.Has(v.FileSystem, FileSystemCapabilities.NamedStreams));

    /// <summary>FNV-1a of the disk and the node's volume: stable across mounts of the same backup.</summary>
    private uint SerialOf(MountInode inode)
    {
        uint h = 2166136261;
        foreach (char c in Tree.Disk.Source + "|" + (inode.VolumeId ?? Tree.Options.SingleVolume ?? ""))
        {
            h ^= c;
            h *= 16777619;
        }
        return h;
    }

    /// <summary>As much of <paramref name="text"/> as fits, NUL-terminated.</summary>
    private static void Copy(string text, Span<char> destination)
    {
        if (destination.IsEmpty) return;
        int n = Math.Min(text.Length, destination.Length - 1);
        text.AsSpan(0, n).CopyTo(destination);
        destination[n] = '\0';
    }
}
