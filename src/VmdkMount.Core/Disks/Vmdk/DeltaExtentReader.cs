using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// The data path the two ESX delta extents (<see cref="CowdExtent"/>, <see cref="SeSparseExtent"/>) share: a read
/// of allocated grains walks them one by one and merges grains that lie back to back in the file into one read.
/// Where each grain lives is the extent's business (<see cref="IGrainLocator"/>).
/// </summary>
/// <param name="format">The format's name in error messages ("COWD", "SEsparse").</param>
internal sealed class DeltaExtentReader(IReadAt file, string fileName, string format, long length, long grainBytes, DeltaExtentReader.IGrainLocator locator)
{
    /// <summary>Finds an allocated grain in the extent's file.</summary>
    internal interface IGrainLocator
    {
        /// <summary>File offset of the start of an allocated grain; throws if the grain is not this link's data.</summary>
        long DataFileOffset(long grain, long virtualOffset);
    }

    public void ReadData(long offset, Span<byte> destination)
    {
        if (offset < 0 || destination.Length > length - offset)
            throw new ContractViolationException($"{fileName}: read of {destination.Length} bytes at {offset} is outside the extent");
        long pendingFileOffset = 0, pendingGrain = 0;
        int pendingStart = 0, pendingLength = 0;
        int done = 0;
        while (done < destination.Length)
        {
            long pos = offset + done;
            long grain = pos / grainBytes;
            long inGrain = pos % grainBytes;
            int n = (int)Math.Min(destination.Length - done, grainBytes - inGrain);
            long fileOffset = locator.DataFileOffset(grain, pos) + inGrain;
            if (pendingLength > 0 && pendingFileOffset + pendingLength == fileOffset)
            {
                pendingLength += n;
            }
            else
            {
                ReadFromFile(pendingFileOffset, destination.Slice(pendingStart, pendingLength), pendingGrain);
                pendingFileOffset = fileOffset;
                pendingGrain = grain;
                pendingStart = done;
                pendingLength = n;
            }
            done += n;
        }
        ReadFromFile(pendingFileOffset, destination.Slice(pendingStart, pendingLength), pendingGrain);
    }

    private void ReadFromFile(long fileOffset, Span<byte> destination, long grain)
    {
        if (destination.IsEmpty) return;
        int n = file.ReadAt(fileOffset, destination);
        if (n != destination.Length)
            throw new CorruptDataException($"{fileName}: {format} grain {grain}", fileOffset,
                $"grain data runs past the end of the file ({file.Length} bytes)");
    }
}
