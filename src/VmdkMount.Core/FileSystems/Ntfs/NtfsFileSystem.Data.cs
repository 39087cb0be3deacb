using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>Reading the main $DATA stream: the read plan (resident, non-resident, sparse, LZNT1) and what is refused (EFS, data stored elsewhere).</summary>
public sealed partial class NtfsFileSystem
{
    /// <summary>The data path: a cache hit, then straight into the stream's run map (no allocation per call).</summary>
    public int Read(long id, long offset, Span<byte> destination)
    {
        var f = LoadOrThrow(id);
        var plan = f.ReadPlan ??= PlanRead(f);
        if (plan.Refusal is not null) throw new FileReadException($"{Name}: MFT record {id}", plan.Refusal);
        return plan.Stream is null ? 0 : plan.Stream.Read(offset, destination);
    }

    /// <summary>Decided once per file: why its data cannot be read, or the stream to read it from.</summary>
    private NtfsReadPlan PlanRead(NtfsFile f)
    {
        var node = NodeOf(f);
        if (node.Type == FsNodeType.Directory) return new NtfsReadPlan(null, "is a directory");
        if (node.Type != FsNodeType.File) return new NtfsReadPlan(null, $"is a {node.Type.ToString().ToLowerInvariant()}, it has no data to read");
        if (RefusalOf(f) is { } refusal) return new NtfsReadPlan(null, refusal);
        if (!f.HasAttribute(NtfsAttributeType.Data, "")) return new NtfsReadPlan(null, null);
        return new NtfsReadPlan(f.GetStream(this, NtfsAttributeType.Data, ""), null);
    }

    private const string EncryptedRefusal = "encrypted (EFS): the content cannot be read without the owner's key";

    private static string? RefusalOf(NtfsFile f)
    {
        if (f.IsEncrypted) return EncryptedRefusal;
        if (f.Reparse is { } rp)
        {
            uint fa = f.FileAttributes;
            bool recall = (fa & (NtfsStandardInformation.Offline | NtfsStandardInformation.RecallOnOpen | NtfsStandardInformation.RecallOnDataAccess)) != 0;
            if (NtfsReparsePoint.DataIsElsewhere(rp.Tag) || (recall && rp.Kind == NtfsReparseKind.Other))
                return $"{NtfsReparsePoint.Describe(rp.Tag)}: the data is not stored in this file";
        }
        return null;
    }

    internal byte[] ReadSmallData(NtfsFile f, int max)
    {
        var s = f.GetStream(this, NtfsAttributeType.Data, "");
        var b = new byte[(int)Math.Min(max, s.Length)];
        int n = s.Read(0, b);
        return n == b.Length ? b : b[..n];
    }
}
