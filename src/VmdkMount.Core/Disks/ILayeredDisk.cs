namespace VmdkMount.Core.Disks;

/// <summary>A disk that only changes how another is read (a cache, read-ahead): commands that describe the source look through it.</summary>
public interface ILayeredDisk
{
    IVirtualDisk Inner { get; }

    /// <summary>The disk under every layer (bounded: layers are stacked by <see cref="DiskOpener"/>, a few at most).</summary>
    static IVirtualDisk Innermost(IVirtualDisk disk)
    {
        for (int i = 0; i < 16 && disk is ILayeredDisk layered; i++) disk = layered.Inner;
        return disk;
    }
}
