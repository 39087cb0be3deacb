using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ntfs;

public sealed partial class NtfsFileSystem : IFileAllocationMap
{
    /// <summary>The main $DATA stream's non-sparse runs (see <see cref="NtfsDataStream.AllocatedRanges"/>).</summary>
    public IEnumerable<(long Offset, long Length)> AllocatedRanges(long id, long offset, long length)
    {
        var f = LoadOrThrow(id);
        var plan = f.ReadPlan ??= PlanRead(f);
        if (plan.Refusal is not null) throw new FileReadException($"{Name}: MFT record {id}", plan.Refusal);
        return plan.Stream is null ? [] : plan.Stream.AllocatedRanges(offset, length);
    }
}
