using System.Collections.Concurrent;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Core.Mounting;

/// <summary>
/// What every frontend (CLI, FUSE, Dokan) drives: the disks of one VM (usually one), their volumes, and a filesystem
/// reader per mountable volume, opened on first use and kept.
/// </summary>
public sealed class MountedDisk : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<IFileSystem>> _fileSystems = new(StringComparer.Ordinal);
    private readonly FileSystemOptions _fsOptions;

    private MountedDisk(IReadOnlyList<IVirtualDisk> disks, VmLayout layout, FileSystemOptions fsOptions)
    {
        Disks = disks;
        DiskLayouts = layout.Disks;
        Layout = layout.Merge();
        _fsOptions = fsOptions;
    }

    /// <summary>The first disk given (the only one, usually): what `disk.img` shows and messages name.</summary>
    public IVirtualDisk Disk => Disks[0];

    /// <summary>Every disk given, in order; a volume's <see cref="Volume.Disks"/> are 1-based positions in this list.</summary>
    public IReadOnlyList<IVirtualDisk> Disks { get; }

    /// <summary>The volumes of all disks (each disk's, then the LVs assembled across them) and every warning.</summary>
    public DiskLayout Layout { get; }

    /// <summary>Per disk: its own partition scheme, sector size, volumes and warnings.</summary>
    public IReadOnlyList<DiskLayout> DiskLayouts { get; }

    public static MountedDisk Open(string source, DiskOpenOptions? diskOptions = null, FileSystemOptions? fsOptions = null) =>
        Open([source], diskOptions, fsOptions);

    /// <summary>
    /// Opens all disks of one VM together (each the newest link of its own chain), so LVM volume groups are assembled
    /// across them; with more than one, a disk's volume ids carry its position (`d1p2`, `d2p1`).
    /// </summary>
    public static MountedDisk Open(IReadOnlyList<string> sources, DiskOpenOptions? diskOptions = null, FileSystemOptions? fsOptions = null)
    {
        if (sources.Count == 0) throw new ArgumentException("no disk given");
        var disks = new List<IVirtualDisk>();
        try
        {
            foreach (var source in sources) disks.Add(DiskOpener.Open(source, diskOptions));
            var layout = VolumeScanner.ScanAll(disks, FormatRegistry.Default);
            return new MountedDisk(disks, layout, fsOptions ?? new FileSystemOptions());
        }
        catch
        {
            foreach (var d in disks) d.Dispose();
            throw;
        }
    }

    /// <summary>One disk already open (a restore point's view of a chain): its volumes are scanned, the disk is kept and closed with this.</summary>
    public static MountedDisk Over(IVirtualDisk disk, FileSystemOptions? fsOptions = null) =>
        new([disk], VolumeScanner.ScanAll(new IVirtualDisk[] { disk }, FormatRegistry.Default), fsOptions ?? new FileSystemOptions());

    public Volume GetVolume(string id)
    {
        foreach (var v in Layout.Volumes)
            if (v.Id == id) return v;
        var ids = string.Join(", ", Layout.Volumes.Select(v => v.Id));
        throw new SourceUnavailableException($"{Disk.Source}:{id}", $"no such volume (volumes: {ids})");
    }

    /// <summary>
    /// The reader of a mountable volume, opened once and shared. An open that failed because a chain file could not
    /// be read (a link deleted, replaced or unreachable for a moment) is not remembered: the next call tries again, so
    /// a mount recovers when the file is back. A volume found corrupt stays failed (its bytes cannot change).
    /// </summary>
    public IFileSystem OpenFileSystem(string volumeId)
    {
        var volume = GetVolume(volumeId);
        if (!volume.Mountable)
            throw new UnsupportedFeatureException($"{Disk.Source}:{volumeId}", volume.Reason ?? "volume is not mountable");
        string disk = Disks[Math.Clamp(volume.Disks.FirstOrDefault(1), 1, Disks.Count) - 1].Source;
        var lazy = _fileSystems.GetOrAdd(volumeId, _ => new Lazy<IFileSystem>(
            () => FormatRegistry.Default.Open(volume.FileSystem, volume.Data, $"{Path.GetFileName(disk)}:{volumeId}", _fsOptions),
            LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return lazy.Value;
        }
        catch
        {
            // Not kept: a parent that was missing, cut short or unreadable may be back by the next try (the mount
            // retries an unreadable volume, at most every MountTreeOptions.UnreadableRetryInterval).
            _fileSystems.TryRemove(new KeyValuePair<string, Lazy<IFileSystem>>(volumeId, lazy));
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var lazy in _fileSystems.Values)
            if (lazy.IsValueCreated) lazy.Value.Dispose();
        foreach (var d in Disks) d.Dispose();
    }
}
