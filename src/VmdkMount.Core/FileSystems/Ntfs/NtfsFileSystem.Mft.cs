using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>
/// The $MFT: bootstrapping its map from record 0 (and $MFTMirr, and the extension records an $ATTRIBUTE_LIST
/// names), reading and parsing records, and the bounded cache of parsed files.
/// </summary>
public sealed partial class NtfsFileSystem
{
    /// <summary>
    /// Record 0 is read where the boot sector says; its $DATA runlist maps the start of the $MFT. When the $MFT is
    /// fragmented, record 0 has an $ATTRIBUTE_LIST naming extension records that hold further runlist pieces; they
    /// are read (in lowest-VCN order) through the map known so far, which always covers them.
    /// </summary>
    private static NtfsDataStream BootstrapMft(IReadAt data, string name, NtfsBootSector boot, List<string> warnings)
    {
        int rs = boot.MftRecordSize;
        long at = checked(boot.MftLcn * boot.ClusterSize);
        var buffer = new byte[rs];
        NtfsMftRecord rec0;
        try
        {
            data.ReadExactly(at, buffer, $"{name}: MFT record 0");
            rec0 = NtfsMftRecord.Parse(buffer, MftRecord, at, name);
        }
        catch (CorruptDataException primary)
        {
            // $MFTMirr holds copies of the first records; its record 0 maps the $MFT just as well.
            long mirror = boot.MftMirrLcn * boot.ClusterSize;
            if (boot.MftMirrLcn <= 0 || boot.MftMirrLcn >= boot.ClusterCount) throw;
            buffer = new byte[rs];
            data.ReadExactly(mirror, buffer, $"{name}: $MFTMirr record 0");
            rec0 = NtfsMftRecord.Parse(buffer, MftRecord, mirror, name);
            warnings.Add($"MFT record 0 is damaged ({primary.Problem}); the $MFT was mapped from its copy in $MFTMirr");
        }
        string where = $"{name}: $MFT";
        var pieces = rec0.Attributes.Where(a => a.Type == NtfsAttributeType.Data && a.Name.Length == 0).ToList();
        if (pieces.Count == 0 || !pieces[0].NonResident) throw new CorruptDataException($"{name}: MFT record 0", at, "$MFT has no non-resident $DATA");
        var listAttr = rec0.Attributes.FirstOrDefault(a => a.Type == NtfsAttributeType.AttributeList);
        var stream = NtfsDataStream.Build(data, where, pieces, boot.ClusterSize, boot.ClusterCount, partial: listAttr is not null);
        if (listAttr is null) return stream;
        var listBytes = ReadAttributeValue(data, listAttr, boot, $"{name}: MFT record 0 $ATTRIBUTE_LIST");
        var entries = NtfsAttributeList.Parse(listBytes, $"{name}: MFT record 0 $ATTRIBUTE_LIST", listAttr.VolumeOffset);
        var seen = new HashSet<long>();
        foreach (var e in entries.Where(e => e.Type == NtfsAttributeType.Data && e.Name.Length == 0 && e.RecordNumber != MftRecord)
                     .OrderBy(e => e.LowestVcn))
        {
            if (!seen.Add(e.RecordNumber)) continue;
            var buf = new byte[rs];
            long off = checked(e.RecordNumber * rs);
            if (stream.Read(off, buf) != rs) throw new CorruptDataException(where, off, $"extension record {e.RecordNumber} lies past the $MFT's mapped part");
            var ext = NtfsMftRecord.Parse(buf, e.RecordNumber, stream.VolumeOffsetOf(off), name);
            if (ext.BaseRecordNumber != MftRecord)
                throw new CorruptDataException($"{name}: MFT record {e.RecordNumber}", Math.Max(0, stream.VolumeOffsetOf(off)), "extension record of $MFT does not point back to record 0");
            pieces.AddRange(ext.Attributes.Where(a => a.Type == NtfsAttributeType.Data && a.Name.Length == 0));
            stream = NtfsDataStream.Build(data, where, pieces, boot.ClusterSize, boot.ClusterCount, partial: true);
        }
        return NtfsDataStream.Build(data, where, pieces, boot.ClusterSize, boot.ClusterCount);
    }

    private static byte[] ReadAttributeValue(IReadAt data, NtfsAttribute a, NtfsBootSector boot, string where)
    {
        if (!a.NonResident) return a.Value.ToArray();
        if (a.DataSize > NtfsAttributeList.MaxSize) throw new CorruptDataException(where, a.VolumeOffset, $"value of {a.DataSize} bytes is absurdly large");
        var s = NtfsDataStream.Build(data, where, [a], boot.ClusterSize, boot.ClusterCount);
        var bytes = new byte[s.Length];
        if (s.Read(0, bytes) != bytes.Length) throw new CorruptDataException(where, a.VolumeOffset, "value cut short");
        return bytes;
    }

    private NtfsMftRecord ReadRecord(long number)
    {
        string where = $"{Name}: MFT record {number}";
        if (number < 0 || number >= _recordCount) throw new CorruptDataException(where, 0, $"record number out of range (the $MFT holds {_recordCount})");
        var buf = new byte[Boot.MftRecordSize];
        long off = number * Boot.MftRecordSize;
        if (_mft.Read(off, buf) != buf.Length) throw new CorruptDataException(where, off, "record cut short");
        return NtfsMftRecord.Parse(buf, number, _mft.VolumeOffsetOf(off), Name);
    }

    /// <summary>
    /// A parsed file is charged what it holds (<see cref="NtfsFile.EstimatedBytes"/>), not its records: it keeps only
    /// the parsed names and the attributes' values and runlists.
    /// </summary>
    internal NtfsFile LoadFile(long number)
    {
        if (_files.TryGet(number, out var file)) return file;
        var parsed = _parseFile(number);
        return _files.Add(number, parsed, parsed.EstimatedBytes);
    }

    private NtfsFile ParseFile(long number)
    {
        var rec = ReadRecord(number);
        string where = $"{Name}: MFT record {number}";
        if (!rec.InUse) throw new NotInUseException(where);
        if (rec.BaseReference != 0) throw new NotInUseException(where + " (an extension record, not a file)");
        var attrs = new List<NtfsAttribute>(rec.Attributes);
        var listAttr = rec.Attributes.FirstOrDefault(a => a.Type == NtfsAttributeType.AttributeList);
        if (listAttr is not null)
        {
            string lw = $"{where} $ATTRIBUTE_LIST";
            var entries = NtfsAttributeList.Parse(ReadAttributeValue(Volume, listAttr, Boot, lw), lw, listAttr.VolumeOffset);
            var wanted = entries.Where(e => e.RecordNumber != number).ToLookup(e => e.RecordNumber);
            foreach (var group in wanted)
            {
                var ext = ReadRecord(group.Key);
                if (!ext.InUse || ext.BaseRecordNumber != number)
                    throw new CorruptDataException($"{Name}: MFT record {group.Key}", 0, $"extension record listed by record {number} does not belong to it");
                var keys = group.Select(e => (e.Type, e.Instance)).ToHashSet();
                attrs.AddRange(ext.Attributes.Where(a => keys.Contains((a.Type, a.Instance))));
            }
        }
        NtfsStandardInformation? si = null;
        var names = new List<NtfsFileName>();
        NtfsReparsePoint? reparse = null;
        foreach (var a in attrs)
        {
            if (a.NonResident) continue;
            switch (a.Type)
            {
                case NtfsAttributeType.StandardInformation:
                    si ??= NtfsStandardInformation.TryParse(a.Value.Span);
                    break;
                case NtfsAttributeType.FileName:
                    names.Add(NtfsFileName.Parse(a.Value.Span, where, a.VolumeOffset));
                    break;
                case NtfsAttributeType.ReparsePoint:
                    reparse = NtfsReparsePoint.Parse(a.Value.Span, $"{where} $REPARSE_POINT", a.VolumeOffset);
                    break;
            }
        }
        if (reparse is null && attrs.FirstOrDefault(a => a.Type == NtfsAttributeType.ReparsePoint && a.NonResident) is { } nr)
        {
            string rw = $"{where} $REPARSE_POINT";
            if (nr.DataSize > 65536) throw new CorruptDataException(rw, nr.VolumeOffset, "reparse data larger than 64 KiB");
            reparse = NtfsReparsePoint.Parse(ReadAttributeValue(Volume, nr, Boot, rw), rw, nr.VolumeOffset);
        }
        return new NtfsFile
        {
            Number = number, Sequence = rec.Sequence, RecordFlags = rec.Flags, Attributes = Detach(attrs),
            StandardInformation = si, Names = names.ToArray(), Reparse = reparse, VolumeName = Name,
        };
    }

    /// <summary>
    /// The attributes a cached file keeps, copied out of the record buffers into one small array: the resident
    /// $STANDARD_INFORMATION and $FILE_NAME values are parsed above and dropped, so a file of a large tree costs a
    /// few hundred bytes in the cache instead of its records (a mount keeps every file the kernel has looked up).
    /// </summary>
    private static NtfsAttribute[] Detach(List<NtfsAttribute> attrs)
    {
        static bool Parsed(NtfsAttribute a) =>
            !a.NonResident && a.Type is NtfsAttributeType.StandardInformation or NtfsAttributeType.FileName;
        int count = 0, bytes = 0;
        foreach (var a in attrs)
        {
            if (Parsed(a)) continue;
            count++;
            bytes += a.StoredBytes;
        }
        var kept = new NtfsAttribute[count];
        var store = bytes == 0 ? [] : new byte[bytes];
        int at = 0, i = 0;
        foreach (var a in attrs)
            if (!Parsed(a)) kept[i++] = a.CopiedInto(store, ref at);
        return kept;
    }

    private NtfsFile LoadOrThrow(long id)
    {
        try
        {
            return LoadFile(id);
        }
        catch (NotInUseException e)
        {
            throw new FileReadException(e.Message, "no such file (MFT record not in use)");
        }
    }

    /// <summary>A record that is free or is not a base record: not a file (an internal signal, never escapes).</summary>
    internal sealed class NotInUseException(string where) : VmdkMountException(where);
}
