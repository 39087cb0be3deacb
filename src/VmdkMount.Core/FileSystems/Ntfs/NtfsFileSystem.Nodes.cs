using System.Text;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>Building the frontend's node from an MFT record: type (file, directory, link, Interix device/fifo/socket), times, sizes, attributes.</summary>
public sealed partial class NtfsFileSystem
{
    public FsNode Stat(long id) => NodeOf(LoadOrThrow(id));

    private FsNode NodeOf(NtfsFile f)
    {
        var cached = f.CachedNode;
        if (cached is not null) return cached;
        var node = BuildNode(f);
        f.CachedNode = node;
        return node;
    }

    private FsNode BuildNode(NtfsFile f)
    {
        uint fa = f.FileAttributes;
        var (type, device) = TypeOf(f);
        var si = f.StandardInformation;
        var fn = f.PrimaryName;
        long size = 0;
        long? allocated = null;
        if (type == FsNodeType.File)
        {
            var data = f.Pieces(NtfsAttributeType.Data, "").OrderBy(a => a.LowestVcn).FirstOrDefault();
            if (data is not null)
            {
                size = data.DataSize;
                allocated = data.NonResident ? (data.CompressedSize ?? data.AllocatedSize) : 0;
            }
        }
        else if (type == FsNodeType.Symlink)
        {
            size = Encoding.UTF8.GetByteCount(ReadLinkCore(f));
        }
        var attrs = FsAttributes.None;
        if ((fa & NtfsStandardInformation.ReadOnly) != 0) attrs |= FsAttributes.ReadOnly;
        if ((fa & NtfsStandardInformation.Hidden) != 0) attrs |= FsAttributes.Hidden;
        if ((fa & NtfsStandardInformation.System) != 0) attrs |= FsAttributes.System;
        if ((fa & NtfsStandardInformation.Archive) != 0) attrs |= FsAttributes.Archive;
        if ((fa & NtfsStandardInformation.Compressed) != 0) attrs |= FsAttributes.Compressed;
        if ((fa & NtfsStandardInformation.Sparse) != 0) attrs |= FsAttributes.Sparse;
        if ((fa & NtfsStandardInformation.Offline) != 0) attrs |= FsAttributes.Offline;
        if (f.IsEncrypted) attrs |= FsAttributes.Encrypted;
        if (f.Reparse is not null || (fa & NtfsStandardInformation.ReparsePoint) != 0) attrs |= FsAttributes.ReparsePoint;
        if (IsMetafile(f)) attrs |= FsAttributes.Metafile;
        return new FsNode
        {
            Id = f.Number,
            Type = type,
            Size = size,
            Links = f.LinkCount,
            Created = NtfsStandardInformation.ToFsTime(si?.Created ?? fn?.Created ?? 0),
            Modified = NtfsStandardInformation.ToFsTime(si?.Modified ?? fn?.Modified ?? 0),
            Changed = NtfsStandardInformation.ToFsTime(si?.Changed ?? fn?.Changed ?? 0),
            Accessed = NtfsStandardInformation.ToFsTime(si?.Accessed ?? fn?.Accessed ?? 0),
            Attributes = attrs,
            DeviceNumber = device,
            AllocatedSize = allocated,
        };
    }

    private static bool IsMetafile(NtfsFile f) =>
        (f.Number < FirstUserRecord && f.Number != RootRecord)
        || (f.RecordFlags & (NtfsMftRecord.FlagExtend | NtfsMftRecord.FlagViewIndex)) != 0
        || (f.PrimaryName is { } n && n.ParentRecord == 11 && f.Number != 11);

    private (FsNodeType Type, ulong Device) TypeOf(NtfsFile f)
    {
        if (f.Reparse is { } rp)
        {
            switch (rp.Kind)
            {
                case NtfsReparseKind.Symlink or NtfsReparseKind.Junction or NtfsReparseKind.LxSymlink: return (FsNodeType.Symlink, 0);
                case NtfsReparseKind.LxSocket: return (FsNodeType.Socket, 0);
                case NtfsReparseKind.LxFifo: return (FsNodeType.Fifo, 0);
                case NtfsReparseKind.LxCharDevice or NtfsReparseKind.LxBlockDevice: return (FsNodeType.Device, LinuxDevice(f));
            }
        }
        if (f.HasIndex) return (FsNodeType.Directory, 0);
        var interix = NtfsInterix.Detect(this, f);
        return interix switch
        {
            { Kind: NtfsInterix.Kind.Symlink } => (FsNodeType.Symlink, 0),
            { Kind: NtfsInterix.Kind.CharDevice or NtfsInterix.Kind.BlockDevice } i => (FsNodeType.Device, i.Device),
            _ => (FsNodeType.File, 0),
        };
    }

    private ulong LinuxDevice(NtfsFile f)
    {
        var ea = f.Pieces(NtfsAttributeType.Ea, "").FirstOrDefault();
        if (ea is null) return 0;
        string where = $"{f.Where} $EA";
        if (ea.DataSize > NtfsExtendedAttributes.MaxSize) throw new CorruptDataException(where, ea.VolumeOffset, "$EA larger than 64 KiB");
        return NtfsExtendedAttributes.LinuxDevice(NtfsExtendedAttributes.Parse(ReadAttributeValue(Volume, ea, Boot, where), where, ea.VolumeOffset));
    }
}
