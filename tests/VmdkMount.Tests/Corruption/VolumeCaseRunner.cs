using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Tests.Corruption;

/// <summary>
/// Runs a damaged disk as `volumes`, `ls` and `cat` do: the scanner finds its volumes, each volume's first and last
/// sectors are read, each mountable one is opened and walked (files read, links, attributes; the reader's check on
/// the volumes the damage may have changed). Every volume the damage does not touch must be listed as before (same
/// offset, size, filesystem, mountability) and its files must hash as in the intact disk; the table problems must
/// each be listed once.
/// </summary>
public static class VolumeCaseRunner
{
    private const int MaxVolumesWalked = 64;

    public sealed record Intact(DiskLayout Layout, IReadOnlyDictionary<string, IntactTree> Trees);

    public static Intact Of(IReadAt disk, string diskName)
    {
        var layout = VolumeScanner.Scan(disk, diskName, FormatRegistry.Default);
        var trees = new Dictionary<string, IntactTree>();
        foreach (var v in layout.Volumes.Where(v => v.Mountable))
        {
            using var fs = FormatRegistry.Default.Open(v.FileSystem, v.Data, VolumeName(diskName, v.Id), new FileSystemOptions());
            trees[v.Id] = IntactTree.Of(fs);
        }
        return new Intact(layout, trees);
    }

    private static string VolumeName(string disk, string id) => $"{disk}:{id}";

    public static CaseResult Run(CorruptionCase c, IReadAt intactDisk, Intact intact, string diskName) =>
        BoundedRun.Run(c, () =>
        {
            var view = new CorruptedView(intactDisk, c.Patches, c.TruncateTo);
            DiskLayout layout;
            try
            {
                layout = VolumeScanner.Scan(view, diskName, FormatRegistry.Default);
            }
            catch (VmdkMountException e)
            {
                return (CaseOutcome.CleanError, FileSystemCaseRunner.Named(e, diskName), e.Message);
            }
            // a table read as another kind (an MBR entry made 0xEE, a boot sector's signature) may change every volume
            var touch = layout.Scheme != intact.Layout.Scheme || layout.SectorSize != intact.Layout.SectorSize ? Touch.All : c.Touch;
            // a PV's partition entry moved or gone takes its volume group's LVs with it
            if (intact.Layout.Volumes.Any(v => v.FileSystem == FileSystemKinds.LvmPv && touch.Covers(v.Id)))
                touch = touch with { Paths = [.. touch.Paths, .. intact.Layout.Volumes.Where(v => v.Scheme == "lvm").Select(v => v.Id)] };
            string? finding = null, first = null;
            int errors = 0;
            void Error(VmdkMountException e, string volume)
            {
                errors++;
                first ??= e.Message;
                finding ??= FileSystemCaseRunner.Named(e, volume);
            }

            var twice = layout.Problems.GroupBy(p => p).FirstOrDefault(g => g.Count() > 1);
            if (twice is not null) finding = $"table problem listed {twice.Count()} times: {twice.Key}";
            var ids = layout.Volumes.GroupBy(v => v.Id).FirstOrDefault(g => g.Count() > 1);
            if (ids is not null) finding ??= $"volume id {ids.Key} listed {ids.Count()} times";
            bool same = layout.Volumes.Count == intact.Layout.Volumes.Count && layout.Warnings.Count == intact.Layout.Warnings.Count;
            foreach (var was in intact.Layout.Volumes)
            {
                var now = layout.Volumes.FirstOrDefault(v => v.Id == was.Id);
                bool unchanged = now is not null && now.Offset == was.Offset && now.Size == was.Size && now.FileSystem == was.FileSystem && now.Mountable == was.Mountable;
                same &= unchanged;
                if (!unchanged && !touch.Covers(was.Id))
                    finding ??= now is null
                        ? $"volume {was.Id} is gone though the damage does not touch it"
                        : $"volume {was.Id} changed though the damage does not touch it: offset {now.Offset} size {now.Size} {now.FileSystem} mountable {now.Mountable} (was {was.Offset} {was.Size} {was.FileSystem} {was.Mountable}; {now.Reason})";
            }

            var sector = new byte[4096];
            foreach (var v in layout.Volumes.Take(MaxVolumesWalked))
            {
                string name = VolumeName(diskName, v.Id);
                try
                {
                    v.Data.ReadAt(0, sector);
                    v.Data.ReadAt(Math.Max(0, v.Data.Length - sector.Length), sector);
                }
                catch (VmdkMountException e)
                {
                    Error(e, diskName);
                }
                if (!v.Mountable) continue;
                var was = intact.Layout.Volumes.FirstOrDefault(w => w.Id == v.Id);
                bool untouched = !touch.Covers(v.Id) && was is not null && was.Offset == v.Offset && was.Size == v.Size && intact.Trees.ContainsKey(v.Id);
                IFileSystem fs;
                try
                {
                    fs = FormatRegistry.Default.Open(v.FileSystem, v.Data, name, new FileSystemOptions());
                }
                catch (VmdkMountException e)
                {
                    if (untouched) finding ??= $"volume {v.Id}, untouched, no longer opens: {e.Message}";
                    Error(e, name);
                    continue;
                }
                using (fs)
                {
                    var walkCase = c with { Touch = untouched ? Touch.Nothing : Touch.All };
                    var (walkErrors, walkFinding, walkFirst) = FileSystemCaseRunner.Walk(fs, walkCase, untouched ? intact.Trees[v.Id] : IntactTree.Empty, name, check: !untouched);
                    errors += walkErrors;
                    first ??= walkFirst;
                    if (walkFinding is not null) finding ??= $"{v.Id}: {walkFinding}";
                }
            }
            bool anyShown = intact.Layout.Volumes.Any(w => w.Mountable && layout.Volumes.Any(v => v.Id == w.Id && v.Mountable));
            var outcome = same && errors == 0 ? CaseOutcome.OpenedFine
                : !anyShown && intact.Trees.Count > 0 ? CaseOutcome.CleanError
                : CaseOutcome.PartiallyReadable;
            first ??= layout.Warnings.Concat(layout.Volumes.Where(v => v.Damaged).Select(v => v.Reason!)).FirstOrDefault();
            return (outcome, finding, first);
        });
}
