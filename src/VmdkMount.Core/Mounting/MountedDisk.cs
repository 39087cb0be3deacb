using System.Collections.Concurrent;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Core.Mounting;

/// <summary>
/// What every frontend (CLI, FUSE, Dokan) drives: a disk, its volumes, and a filesystem reader per mountable
/// volume, opened on first use and kept.
/// </summary>
public sealed class MountedDisk : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<IFileSystem>> _fileSystems = new(StringComparer.Ordinal);
    private readonly FileSystemOptions _fsOptions;

    private MountedDisk(IVirtualDisk disk, DiskLayout layout, FileSystemOptions fsOptions)
    {
        Disk = disk;
        Layout = layout;
        _fsOptions = fsOptions;
    }

    public IVirtualDisk Disk { get; }

    public DiskLayout Layout { get; }

    public static MountedDisk Open(string source, DiskOpenOptions? diskOptions = null, FileSystemOptions? fsOptions = null)
    {
        var disk = DiskOpener.Open(source, diskOptions);
        try
        {
            return new MountedDisk(disk, VolumeScanner.Scan(disk, FormatRegistry.Default), fsOptions ?? new FileSystemOptions());
        }
        catch
        {
            disk.Dispose();
            throw;
        }
    }

    public Volume GetVolume(string id)
    {
        foreach (var v in Layout.Volumes)
            if (v.Id == id) return v;
        var ids = string.Join(", ", Layout.Volumes.Select(v => v.Id));
        throw new SourceUnavailableException($"{Disk.Source}:{id}", $"no such volume (volumes: {ids})");
    }

    /// <summary>The reader of a mountable volume, opened once and shared.</summary>
    public IFileSystem OpenFileSystem(string volumeId)
    {
        var volume = GetVolume(volumeId);
        if (!volume.Mountable)
            throw new UnsupportedFeatureException($"{Disk.Source}:{volumeId}", volume.Reason ?? "volume is not mountable");
        var lazy = _fileSystems.GetOrAdd(volumeId, _ => new Lazy<IFileSystem>(
            () => FormatRegistry.Default.Open(volume.FileSystem, volume.Data, $"{Path.GetFileName(Disk.Source)}:{volumeId}", _fsOptions),
            LazyThreadSafetyMode.ExecutionAndPublication));
        return lazy.Value;
    }

    public void Dispose()
    {
        foreach (var lazy in _fileSystems.Values)
            if (lazy.IsValueCreated) lazy.Value.Dispose();
        Disk.Dispose();
    }
}
