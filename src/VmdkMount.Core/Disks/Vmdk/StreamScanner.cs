using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// Walks a streamOptimized file with markers record by record from overHead (the sequential reading
/// VirtualBox does): grain records advance by their size, metadata markers by 1 + val sectors, a progress marker by
/// one sector; EOS or the end of the file stops. Used by `check` ("markers decode"); random access never needs it.
/// Every step advances at least one sector, so the walk ends.
/// </summary>
internal static class StreamScanner
{
    public static void Scan(IReadAt file, string fileName, SparseExtentHeader header, Action<string> report)
    {
        long length = file.Length;
        long grainBytes = header.GrainBytes;
        long pos = (long)header.OverHeadSectors * Sector.Size;
        Span<byte> head = stackalloc byte[16];
        long lastLba = -1;
        while (pos + Sector.Size <= length)
        {
            file.ReadExactly(pos, head, $"{fileName}: stream record");
            var m = StreamMarker.Read(head);
            if (!m.IsMarker)
            {
                ulong lba = m.Value;
                if (lba % header.GrainSectors != 0 || lba >= header.CapacitySectors)
                    report($"{fileName}: stream grain record at offset {pos} has LBA {lba}, not a grain start inside the capacity");
                else if ((long)lba <= lastLba)
                    report($"{fileName}: stream grain record at offset {pos} has LBA {lba}, not after the previous record's {lastLba}");
                else lastLba = (long)lba;
                if (m.Size > 2 * grainBytes)
                {
                    report($"{fileName}: stream grain record at offset {pos} claims {m.Size} compressed bytes (more than twice the grain size)");
                    return;
                }
                long next = pos + (StreamMarker.GrainRecordHeaderBytes + m.Size + Sector.Size - 1) / Sector.Size * Sector.Size;
                if (next > length)
                {
                    report($"{fileName}: stream grain record at offset {pos} runs past the end of the file ({length} bytes)");
                    return;
                }
                pos = next;
                continue;
            }
            switch (m.Type)
            {
                case StreamMarker.TypeEos:
                    return;
                case StreamMarker.TypeGrainTable or StreamMarker.TypeGrainDirectory or StreamMarker.TypeFooter:
                    if (m.Value > (ulong)((length - pos) / Sector.Size))
                    {
                        report($"{fileName}: stream marker (type {m.Type}) at offset {pos} says {m.Value} sectors follow, past the end of the file");
                        return;
                    }
                    pos += (1 + (long)m.Value) * Sector.Size;
                    break;
                case StreamMarker.TypeProgress:
                    pos += Sector.Size;
                    break;
                default:
                    report($"{fileName}: unknown stream marker type {m.Type} at offset {pos}");
                    return;
            }
        }
        report($"{fileName}: stream ends at offset {pos} without an end-of-stream marker");
    }
}
