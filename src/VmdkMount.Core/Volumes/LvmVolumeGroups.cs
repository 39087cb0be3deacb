using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Volumes;

/// <summary>A volume a disk's partition scan found to hold an LVM2 PV label, with the bytes and the disk it is on.</summary>
internal sealed record PvCandidate(Volume Volume, IReadAt Data, int DiskNumber, string Source);

/// <summary>
/// LVM2 volume groups assembled from the PVs of all disks of a VM: each PV's label and newest metadata copy are read,
/// the PVs a VG lists are found by UUID (never by disk order or device hint), and every visible LV becomes a volume.
/// An LV that lies partly on a PV none of the disks holds is listed, not mountable, naming that PV's UUID.
/// </summary>
internal static class LvmVolumeGroups
{
    /// <summary>Metadata copies read per PV; LVM writes at most two.</summary>
    private const int MaxMetadataAreas = 4;

    /// <param name="PvVolumes">Replacements for the PV volumes of the disks' layouts (their reasons now name the VG).</param>
    public sealed record Result(IReadOnlyDictionary<Volume, Volume> PvVolumes, IReadOnlyList<Volume> LogicalVolumes, IReadOnlyList<string> Warnings);

    /// <param name="Vg">The newest VG text on the PV itself; null when it holds none (or none readable: <paramref name="MetadataProblem"/>).</param>
    private sealed record LabelledPv(PvCandidate Candidate, Lvm2Label Label, Lvm2VolumeGroup? Vg, string? MetadataProblem = null);

    public static Result Assemble(IReadOnlyList<PvCandidate> candidates, IVolumeFormats formats, IEnumerable<string> takenIds)
    {
        var replaced = new Dictionary<Volume, Volume>(ReferenceEqualityComparer.Instance);
        var lvs = new List<Volume>();
        var warnings = new List<string>();
        if (candidates.Count == 0) return new Result(replaced, lvs, warnings);
        var ids = new HashSet<string>(takenIds, StringComparer.Ordinal);
        var labelled = ReadLabels(candidates, replaced, warnings);

        foreach (var group in labelled.Where(l => l.Vg is not null).GroupBy(l => l.Vg!.Id.Length > 0 ? l.Vg.Id : l.Vg.Name))
        {
            var vg = group.MaxBy(l => l.Vg!.Seqno)!.Vg!;
            string pvReason = $"LVM2 physical volume of volume group '{vg.Name}' (its logical volumes are listed as lvm-{vg.Name}-*)";
            foreach (var member in group) replaced[member.Candidate.Volume] = member.Candidate.Volume with { Reason = pvReason };
            var present = new Dictionary<string, PvCandidate>(StringComparer.Ordinal);
            var missing = new List<Lvm2PhysicalVolume>();
            foreach (var pv in vg.PhysicalVolumes)
            {
                // A PV made with --metadatacopies 0 carries no VG text of its own: it is found by its label alone.
                var match = labelled.FirstOrDefault(l => l.Label.PvUuid == pv.Uuid && (l.Vg is null || SameVg(l.Vg, vg)));
                if (match is null)
                {
                    missing.Add(pv);
                    continue;
                }
                present[pv.Name] = match.Candidate;
                replaced[match.Candidate.Volume] = match.Candidate.Volume with { Reason = pvReason, Damaged = match.Candidate.Volume.Damaged || match.MetadataProblem is not null };
                if (match.MetadataProblem is not null)
                    warnings.Add($"{match.Candidate.Volume.Id}: its LVM2 metadata cannot be read ({match.MetadataProblem}); volume group '{vg.Name}' is read from another PV's copy");
            }
            if (missing.Count > 0)
                warnings.Add($"volume group '{vg.Name}' is incomplete: {Describe(missing)} {Is(missing)} on none of the disks given; " +
                             "logical volumes on it are not mountable (give every disk of the VM)");
            foreach (var lv in vg.LogicalVolumes.Where(l => l.Visible))
            {
                var volume = LogicalVolume(vg, lv, present, missing, group.First().Candidate, formats);
                if (ids.Contains(volume.Id))
                {
                    string unique = volume.Id;
                    for (int n = 2; ids.Contains(unique); n++) unique = $"{volume.Id}-{n}";
                    warnings.Add($"two volume groups named '{vg.Name}' hold an LV '{lv.Name}'; the second is listed as {unique}");
                    volume = volume with { Id = unique };
                }
                ids.Add(volume.Id);
                lvs.Add(volume);
            }
        }
        return new Result(replaced, lvs, warnings);
    }

    private static bool SameVg(Lvm2VolumeGroup a, Lvm2VolumeGroup b) => a.Id.Length > 0 ? a.Id == b.Id : a.Name == b.Name;

    private static string Describe(List<Lvm2PhysicalVolume> pvs) => string.Join(", ", pvs.Select(p => $"PV {p.Name} ({p.MetadataId})"));

    private static string Is(List<Lvm2PhysicalVolume> pvs) => pvs.Count == 1 ? "is" : "are";

    /// <summary>Every candidate's label and newest readable metadata copy; what cannot be read becomes the PV volume's reason.</summary>
    private static List<LabelledPv> ReadLabels(IReadOnlyList<PvCandidate> candidates, Dictionary<Volume, Volume> replaced, List<string> warnings)
    {
        var labelled = new List<LabelledPv>();
        foreach (var c in candidates)
        {
            var pvVolume = c.Volume;
            string where = $"{c.Source}:{pvVolume.Id}";
            try
            {
                var label = Lvm2Label.Read(c.Data, where);
                if (labelled.FirstOrDefault(l => l.Label.PvUuid == label.PvUuid) is { } twin)
                {
                    warnings.Add($"{pvVolume.Id} and {twin.Candidate.Volume.Id} carry the same LVM2 PV UUID {label.PvUuid} (a disk given twice, or a cloned disk); {twin.Candidate.Volume.Id} is used");
                    replaced[pvVolume] = pvVolume with { Reason = $"LVM2 physical volume whose UUID {twin.Candidate.Volume.Id} carries too; that one is used" };
                    continue;
                }
                Lvm2VolumeGroup? best = null;
                var problems = new List<string>();
                foreach (var area in label.MetadataAreas.Take(MaxMetadataAreas))
                {
                    try
                    {
                        var vg = Lvm2VolumeGroup.FromMetadata(Lvm2MetadataParser.Parse(Lvm2MetadataArea.ReadText(c.Data, area, where), where), where);
                        if (best is null || vg.Seqno > best.Seqno) best = vg;
                    }
                    catch (VmdkMountException e) { problems.Add(e.Message); }
                }
                if (best is null && label.MetadataAreas.Count == 0)
                {
                    // pvcreate --metadatacopies 0: legal, the VG text lives on the VG's other PVs, which may claim it below.
                    replaced[pvVolume] = pvVolume with
                    {
                        Reason = "LVM2 physical volume without metadata of its own (--metadatacopies 0); its volume group is described on another PV, on none of the disks given",
                    };
                    labelled.Add(new LabelledPv(c, label, null));
                    continue;
                }
                if (best is null)
                {
                    string why = string.Join("; ", problems);
                    replaced[pvVolume] = pvVolume with { Reason = $"LVM2 physical volume whose metadata cannot be read: {why}", Damaged = true };
                    // Its label is sound, so a VG described on another PV still finds its extents here.
                    labelled.Add(new LabelledPv(c, label, null, why));
                    continue;
                }
                if (problems.Count > 0) warnings.Add($"{pvVolume.Id}: one LVM2 metadata copy is damaged ({string.Join("; ", problems)}); another copy is used");
                labelled.Add(new LabelledPv(c, label, best));
            }
            catch (VmdkMountException e)
            {
                replaced[pvVolume] = pvVolume with { Reason = $"LVM2 physical volume whose label cannot be read: {e.Message}", Damaged = true };
            }
        }
        return labelled;
    }

    private static Volume LogicalVolume(Lvm2VolumeGroup vg, Lvm2LogicalVolume lv, Dictionary<string, PvCandidate> present,
        List<Lvm2PhysicalVolume> missing, PvCandidate metadataSource, IVolumeFormats formats)
    {
        string id = $"lvm-{vg.Name}-{lv.Name}";
        string where = $"{metadataSource.Source}:{id}";
        string type = lv.Segments.Any(s => s.Type is not ("striped" or "linear")) ? string.Join(",", lv.Segments.Select(s => s.Type).Distinct())
            : lv.Segments.Any(s => s.Stripes.Count > 1) ? "striped" : "linear";
        long size = lv.ExtentCount * vg.ExtentSizeBytes;
        var used = lv.Segments.SelectMany(s => s.Stripes).Select(s => s.PvName).Distinct().ToList();
        var disks = used.Where(present.ContainsKey).Select(n => present[n].DiskNumber).Distinct().Order().ToList();
        if (lv.Segments.MinBy(s => s.StartExtent)?.Stripes.FirstOrDefault() is { } head && present.TryGetValue(head.PvName, out var headPv))
            disks = [headPv.DiskNumber, .. disks.Where(d => d != headPv.DiskNumber)];
        Volume Unreadable(string reason, bool damaged) => new()
        {
            Id = id, Offset = 0, Size = size, Scheme = "lvm", PartitionType = type, PartitionName = $"{vg.Name}/{lv.Name}",
            FileSystem = FileSystemKinds.Unknown, Mountable = false, Reason = reason, Damaged = damaged,
            Data = new SubRange(metadataSource.Data, 0, 0), Disks = disks,
        };

        var absent = missing.Where(m => used.Contains(m.Name)).ToList();
        if (absent.Count > 0)
            return Unreadable($"volume group '{vg.Name}' is incomplete: the LV lies partly on {Describe(absent)}, which {Is(absent)} on none of the disks given", damaged: false);
        try
        {
            var view = new Lvm2LogicalVolumeView(vg, lv, present.ToDictionary(kv => kv.Key, kv => kv.Value.Data), where);
            long offset = view.FirstPv is not null && present.Values.FirstOrDefault(p => ReferenceEquals(p.Data, view.FirstPv)) is { } at
                ? at.Volume.Offset + view.FirstPvOffset : 0;
            var probe = VolumeScanner.SafeProbe(formats, view);
            string? reason = formats.NotMountedReason(probe);
            return new Volume
            {
                Id = id, Offset = offset, Size = view.Length, Scheme = "lvm", PartitionType = type, PartitionName = $"{vg.Name}/{lv.Name}",
                FileSystem = probe.FileSystem, FileSystemVersion = probe.Version, Label = probe.Label,
                Mountable = reason is null, Reason = reason, Data = view, Disks = disks,
            };
        }
        catch (Exception e) when (e is VmdkMountException or OverflowException)
        {
            string reason = e is UnsupportedFeatureException u ? $"not supported: {u.Feature}" : $"logical volume cannot be mapped: {e.Message}";
            return Unreadable(reason, damaged: e is not UnsupportedFeatureException);
        }
    }
}
