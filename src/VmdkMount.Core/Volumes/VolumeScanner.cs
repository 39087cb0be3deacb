using VmdkMount.Core.Disks;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Volumes;

/// <summary>
/// Finds the volumes on a disk: GPT (primary, else backup), a filesystem or PV directly on
/// the disk, an MBR with its EBR chain, then LVM2 logical volumes on the PVs found. Every volume's content is
/// probed by the table of formats it is handed (<see cref="IVolumeFormats"/>), which also says whether it is mounted.
/// Damage becomes warnings and reasons; only a disk that cannot be read at all raises.
/// </summary>
public static class VolumeScanner
{
    /// <summary>Content probing stops after this many partitions (a damaged GPT can claim thousands).</summary>
    public const int MaxProbedPartitions = 512;

    /// <summary>A partition may overshoot the disk end this much without losing its mountability (resize leftovers).</summary>
    private const long TolerableOvershoot = 1024 * 1024;

    private const int MaxOverlapWarnings = 20;

    public static DiskLayout Scan(IVirtualDisk disk, IVolumeFormats formats) => Scan(disk, disk.Source, formats);

    /// <param name="disk">The flattened disk bytes.</param>
    /// <param name="source">How messages name the disk.</param>
    /// <param name="formats">What volumes can hold and which are mounted (<c>FileSystems.FormatRegistry.Default</c>).</param>
    public static DiskLayout Scan(IReadAt disk, string source, IVolumeFormats formats) => new Scanner(disk, source, formats).Run();

    private sealed class Scanner(IReadAt disk, string source, IVolumeFormats formats)
    {
        private readonly List<string> _warnings = [];
        private readonly List<string> _problems = [];
        private readonly List<Volume> _volumes = [];
        private readonly List<(Volume Volume, IReadAt Data)> _pvs = [];
        private int _probed;

        public DiskLayout Run()
        {
            var head = new byte[(int)Math.Min(8192, disk.Length)];
            disk.ReadExactly(0, head, $"{source}: sector 0");
            var mbr = MbrPartitionTable.Parse(head);
            int gptSectorSize = head.Length >= 520 && GptHeader.HasSignature(head.AsSpan(512)) ? 512
                : head.Length >= 4104 && GptHeader.HasSignature(head.AsSpan(4096)) ? 4096 : 0;
            bool protective = mbr is not null && mbr.UsedEntries.Any(e => e.IsGptProtective);

            string scheme;
            int sectorSize = 512;
            if (gptSectorSize != 0 || protective)
            {
                scheme = "gpt";
                sectorSize = gptSectorSize == 0 ? 512 : gptSectorSize;
                var gpt = GptPartitionTable.Read(disk, sectorSize, _warnings);
                if (gpt is null && gptSectorSize == 0)
                {
                    // No header at either scale: the backup may still be at the end of a 4Kn disk.
                    var quiet = new List<string>();
                    gpt = GptPartitionTable.Read(disk, 4096, quiet);
                    if (gpt is not null) { sectorSize = 4096; _warnings.Clear(); _warnings.AddRange(quiet); }
                }
                if (gpt is not null || gptSectorSize != 0) _problems.AddRange(GptPartitionTable.Verify(disk, sectorSize));
                else _problems.Add("the MBR is GPT-protective (0xEE) but no GPT header is readable, primary or backup");
                if (gpt is not null)
                {
                    if (!protective) _warnings.Add("GPT found but the MBR has no protective 0xEE entry (Windows would not see this GPT)");
                    if (mbr is not null && protective && mbr.UsedEntries.Any(e => !e.IsGptProtective))
                        _warnings.Add($"hybrid MBR: its {mbr.UsedEntries.Count(e => !e.IsGptProtective)} entries besides the protective 0xEE one are ignored; the GPT is used");
                    AddGptPartitions(gpt, sectorSize);
                }
                else if (mbr is not null && mbr.UsedEntries.Any(e => !e.IsGptProtective))
                {
                    _warnings.Add("falling back to the MBR entries besides the protective 0xEE one");
                    AddMbrPartitions(mbr, 512);
                }
            }
            else if (StartsWithVolume(head) || mbr is null || !mbr.LooksValid())
            {
                scheme = "none";
                AddWholeDisk();
                if (mbr is not null && mbr.UsedEntries.Any() && !mbr.LooksValid() && _volumes[0].FileSystem == FileSystemKinds.Unknown)
                    _warnings.Add("sector 0 ends in 55 AA but its entries are not a valid partition table (status byte other than 0x00/0x80, or a partition at LBA 0)");
            }
            else
            {
                scheme = "mbr";
                sectorSize = DetectMbrSectorSize(mbr);
                if (sectorSize != 512) _warnings.Add($"MBR partitions line up with filesystems only at {sectorSize}-byte sectors: treating the disk as {sectorSize}-byte-sector (4Kn)");
                AddMbrPartitions(mbr, sectorSize);
            }
            CheckOverlaps();
            AddLogicalVolumes();
            return new DiskLayout { Scheme = scheme, SectorSize = sectorSize, Volumes = _volumes, Warnings = _warnings, Problems = _problems };
        }

        /// <summary>Sector 0 is a boot sector or header of a volume that owns the whole disk, whatever 55 AA says.</summary>
        private bool StartsWithVolume(ReadOnlySpan<byte> head) => formats.StartsWholeDiskVolume(head);

        private void AddWholeDisk()
        {
            var probe = SafeProbe(disk);
            var v = new Volume
            {
                Id = "disk", Offset = 0, Size = disk.Length, Scheme = "none", FileSystem = probe.FileSystem,
                FileSystemVersion = probe.Version, Label = probe.Label,
                Mountable = formats.NotMountedReason(probe) is null,
                Reason = probe.FileSystem == FileSystemKinds.Unknown
                    ? "no partition table and " + formats.NotMountedReason(probe)
                    : formats.NotMountedReason(probe),
                Data = disk,
            };
            Add(v, disk);
        }

        /// <summary>
        /// MBR LBAs are in guest sectors, which the MBR does not record. Assume 512 unless the partitions start on
        /// recognisable volumes only when read as 4096-byte sectors.
        /// </summary>
        private int DetectMbrSectorSize(MbrPartitionTable mbr)
        {
            int Score(int ss)
            {
                int score = 0;
                foreach (var e in mbr.UsedEntries)
                {
                    long start = e.StartLba * (long)ss;
                    if (start >= disk.Length) { score--; continue; }
                    if (e.IsExtended)
                    {
                        var ebr = new byte[512];
                        if (disk.ReadAt(start, ebr) == 512 && MbrPartitionTable.HasBootSignature(ebr)) score++;
                        continue;
                    }
                    if (SafeProbe(new SubRange(disk, start, Math.Min(disk.Length - start, e.SectorCount * (long)ss))).FileSystem != FileSystemKinds.Unknown) score++;
                }
                return score;
            }
            return Score(4096) > Score(512) ? 4096 : 512;
        }

        private void AddMbrPartitions(MbrPartitionTable mbr, int sectorSize)
        {
            bool extendedSeen = false;
            var logicals = new List<LogicalPartition>();
            foreach (var e in mbr.UsedEntries)
            {
                if (e.IsGptProtective) continue;
                if (e.IsExtended)
                {
                    if (extendedSeen)
                    {
                        _warnings.Add($"MBR entry {e.Slot}: a second extended partition is not legal; ignored");
                        continue;
                    }
                    extendedSeen = true;
                    logicals = ExtendedPartitionChain.Walk(disk, e.StartLba, e.SectorCount, sectorSize, _warnings);
                    continue;
                }
                AddMbrPartition($"p{e.Slot}", e.Type, e.Status, e.StartLba, e.SectorCount, sectorSize);
            }
            foreach (var l in logicals) AddMbrPartition($"p{l.Number}", l.Type, 0, l.StartLba, l.SectorCount, sectorSize);
        }

        private void AddMbrPartition(string id, byte type, byte status, long startLba, long sectors, int sectorSize)
        {
            var role = PartitionTypes.MbrRole(type);
            string name = PartitionTypes.MbrName(type) + (status == MbrPartitionTable.StatusActive ? ", active" : "");
            if (type == MbrPartitionTable.TypeLdm && LdmDetector.HasPrivHead(disk, sectorSize))
                name += ", LDM database found";
            List<string> attributes = status == MbrPartitionTable.StatusActive ? ["active"] : [];
            attributes.AddRange(PartitionTypes.MbrTypeAttributes(type));
            AddPartition(id, "mbr", type.ToString("x2"), name, role, startLba, sectors, sectorSize, attributes, null);
        }

        private void AddGptPartitions(GptPartitionTable gpt, int sectorSize)
        {
            foreach (var e in gpt.Entries)
            {
                string id = $"p{e.Index}";
                string name = e.Name.Length > 0 ? e.Name : PartitionTypes.GptName(e.TypeGuid);
                if (e.LastLba < e.FirstLba)
                {
                    Add(Unreadable(id, "gpt", e.TypeGuid.ToString(), name, e.FirstLba <= long.MaxValue / sectorSize ? e.FirstLba * sectorSize : 0, 0,
                        $"invalid GPT entry: last LBA {e.LastLba} is before first LBA {e.FirstLba}"), null);
                    continue;
                }
                if (e.FirstLba < gpt.Header.FirstUsableLba || e.LastLba > gpt.Header.LastUsableLba)
                    _warnings.Add($"{id}: LBAs {e.FirstLba}..{e.LastLba} lie outside the GPT's usable range {gpt.Header.FirstUsableLba}..{gpt.Header.LastUsableLba}");
                long sectors = e.LastLba - e.FirstLba + 1;
                AddPartition(id, "gpt", e.TypeGuid.ToString(), name, PartitionTypes.GptRole(e.TypeGuid), e.FirstLba, sectors, sectorSize,
                    [.. e.AttributeNames(), .. PartitionTypes.GptTypeAttributes(e.TypeGuid)], e.UniqueGuid.ToString());
            }
        }

        private void AddPartition(string id, string scheme, string type, string name, PartitionRole role, long startLba, long sectors, int sectorSize,
            IReadOnlyList<string> attributes, string? partitionGuid)
        {
            long diskSectors = disk.Length / sectorSize;
            if (startLba < 0 || sectors <= 0 || startLba > long.MaxValue / sectorSize || sectors > long.MaxValue / sectorSize - startLba)
            {
                Add(Unreadable(id, scheme, type, name, 0, 0, $"partition LBAs {startLba} + {sectors} sectors are out of range"), null);
                return;
            }
            long offset = startLba * sectorSize;
            long size = sectors * sectorSize;
            if (startLba >= diskSectors)
            {
                Add(Unreadable(id, scheme, type, name, offset, size,
                    $"partition starts past the end of the disk (at byte {offset}; the disk has {disk.Length} bytes)"), null);
                return;
            }
            long available = Math.Min(size, disk.Length - offset);
            string? overshootReason = null;
            if (available < size)
            {
                long over = size - available;
                _warnings.Add($"{id} extends {over} bytes past the end of the disk; reads stop at the disk's end");
                if (over > TolerableOvershoot)
                    overshootReason = $"partition extends {over} bytes past the end of the disk (truncated image or damaged table)";
            }
            var data = new SubRange(disk, offset, available);
            ProbeResult probe = _probed++ < MaxProbedPartitions ? SafeProbe(data)
                : new ProbeResult(FileSystemKinds.Unknown, Detail: $"not probed: more than {MaxProbedPartitions} partitions");
            string? reason = role switch
            {
                PartitionRole.LdmData or PartitionRole.LdmMetadata => LdmDetector.NotSupportedReason,
                PartitionRole.StorageSpaces => "Windows Storage Spaces member: not supported",
                PartitionRole.NoFileSystem when probe.FileSystem == FileSystemKinds.Unknown => $"{name} (holds no filesystem)",
                _ => formats.NotMountedReason(probe),
            };
            if (reason is not null && probe.FileSystem == FileSystemKinds.Unknown && role == PartitionRole.Ordinary)
                reason += $" (partition type {type}, {name})";
            if (overshootReason is not null) reason = reason is null ? overshootReason : $"{overshootReason}; {reason}";
            Add(new Volume
            {
                Id = id, Offset = offset, Size = size, Scheme = scheme, PartitionType = type, PartitionName = name,
                FileSystem = probe.FileSystem, FileSystemVersion = probe.Version, Label = probe.Label,
                Mountable = reason is null, Reason = reason, Data = data, Attributes = attributes, PartitionGuid = partitionGuid,
                Damaged = overshootReason is not null,
            }, data);
        }

        private Volume Unreadable(string id, string scheme, string? type, string? name, long offset, long size, string reason, bool damaged = true) => new()
        {
            Id = id, Offset = offset, Size = size, Scheme = scheme, PartitionType = type, PartitionName = name,
            FileSystem = FileSystemKinds.Unknown, Mountable = false, Reason = reason, Data = new SubRange(disk, 0, 0), Damaged = damaged,
        };

        private void Add(Volume v, IReadAt? data)
        {
            _volumes.Add(v);
            if (data is not null && v.FileSystem == FileSystemKinds.LvmPv) _pvs.Add((v, data));
        }

        private ProbeResult SafeProbe(IReadAt data)
        {
            try
            {
                return formats.Probe(data);
            }
            catch (VmdkMountException e)
            {
                return new ProbeResult(FileSystemKinds.Unknown, Detail: $"cannot be read ({e.Message})");
            }
        }

        private void CheckOverlaps()
        {
            var ranges = _volumes.Where(v => v.Size > 0 && v.Data.Length > 0).OrderBy(v => v.Offset).ToList();
            int reported = 0;
            Volume? reach = null;
            foreach (var v in ranges)
            {
                if (reach is not null && v.Offset < reach.Offset + reach.Size)
                {
                    if (reported++ < MaxOverlapWarnings)
                    {
                        string overlap = $"{reach.Id} (bytes {reach.Offset}..{reach.Offset + reach.Size - 1}) and {v.Id} (from byte {v.Offset}) overlap";
                        _warnings.Add(overlap);
                        _problems.Add(overlap);
                    }
                }
                if (reach is null || v.Offset + v.Size > reach.Offset + reach.Size) reach = v;
            }
            if (reported > MaxOverlapWarnings) _warnings.Add($"{reported - MaxOverlapWarnings} more overlaps not listed");
        }

        /// <summary>Reads every PV's label and metadata, groups them by VG, and lists each visible LV as a volume.</summary>
        private void AddLogicalVolumes()
        {
            if (_pvs.Count == 0) return;
            var found = new List<(int Index, Lvm2Label Label, Lvm2VolumeGroup Vg, IReadAt Data, long DiskOffset)>();
            for (int i = 0; i < _pvs.Count; i++)
            {
                var (pvVolume, data) = _pvs[i];
                string where = $"{source}:{pvVolume.Id}";
                try
                {
                    var label = Lvm2Label.Read(data, where);
                    Lvm2VolumeGroup? best = null;
                    var problems = new List<string>();
                    foreach (var area in label.MetadataAreas.Take(4))
                    {
                        try
                        {
                            var vg = Lvm2VolumeGroup.FromMetadata(Lvm2MetadataParser.Parse(Lvm2MetadataArea.ReadText(data, area, where), where), where);
                            if (best is null || vg.Seqno > best.Seqno) best = vg;
                        }
                        catch (VmdkMountException e) { problems.Add(e.Message); }
                    }
                    if (best is null)
                    {
                        string why = label.MetadataAreas.Count == 0 ? "the PV has no metadata area" : string.Join("; ", problems);
                        Replace(pvVolume, pvVolume with { Reason = $"LVM2 physical volume whose metadata cannot be read: {why}", Damaged = true });
                        continue;
                    }
                    if (problems.Count > 0) _warnings.Add($"{pvVolume.Id}: one LVM2 metadata copy is damaged ({string.Join("; ", problems)}); another copy is used");
                    found.Add((i, label, best, data, pvVolume.Offset));
                    Replace(pvVolume, pvVolume with
                    {
                        Reason = $"LVM2 physical volume of volume group '{best.Name}' (its logical volumes are listed as lvm-{best.Name}-*)",
                    });
                }
                catch (VmdkMountException e)
                {
                    Replace(pvVolume, pvVolume with { Reason = $"LVM2 physical volume whose label cannot be read: {e.Message}", Damaged = true });
                }
            }

            foreach (var group in found.GroupBy(f => f.Vg.Id.Length > 0 ? f.Vg.Id : f.Vg.Name))
            {
                var vg = group.MaxBy(f => f.Vg.Seqno).Vg;
                var pvData = new Dictionary<string, IReadAt>();
                var pvOffsets = new Dictionary<IReadAt, long>(ReferenceEqualityComparer.Instance);
                foreach (var pv in vg.PhysicalVolumes)
                {
                    var match = group.FirstOrDefault(f => f.Label.PvUuid == pv.Uuid);
                    if (match.Data is null)
                    {
                        _warnings.Add($"volume group '{vg.Name}': PV {pv.Name} ({pv.Uuid}) is not on this disk; volume groups spanning several disks are not assembled yet");
                        continue;
                    }
                    pvData[pv.Name] = match.Data;
                    pvOffsets[match.Data] = match.DiskOffset;
                }
                foreach (var lv in vg.LogicalVolumes.Where(l => l.Visible))
                {
                    var volume = LogicalVolume(vg, lv, pvData, pvOffsets);
                    if (_volumes.Any(v => v.Id == volume.Id))
                    {
                        string unique = volume.Id;
                        for (int n = 2; _volumes.Any(v => v.Id == unique); n++) unique = $"{volume.Id}-{n}";
                        _warnings.Add($"two volume groups named '{vg.Name}' hold an LV '{lv.Name}'; the second is listed as {unique}");
                        volume = volume with { Id = unique };
                    }
                    _volumes.Add(volume);
                }
            }
        }

        private Volume LogicalVolume(Lvm2VolumeGroup vg, Lvm2LogicalVolume lv, Dictionary<string, IReadAt> pvData, Dictionary<IReadAt, long> pvOffsets)
        {
            string id = $"lvm-{vg.Name}-{lv.Name}";
            string where = $"{source}:{id}";
            string type = lv.Segments.Any(s => s.Type is not ("striped" or "linear")) ? string.Join(",", lv.Segments.Select(s => s.Type).Distinct())
                : lv.Segments.Any(s => s.Stripes.Count > 1) ? "striped" : "linear";
            long size = lv.ExtentCount * vg.ExtentSizeBytes;
            try
            {
                var view = new Lvm2LogicalVolumeView(vg, lv, pvData, where);
                long offset = view.FirstPv is not null && pvOffsets.TryGetValue(view.FirstPv, out long pvAt) ? pvAt + view.FirstPvOffset : 0;
                var probe = SafeProbe(view);
                string? reason = formats.NotMountedReason(probe);
                return new Volume
                {
                    Id = id, Offset = offset, Size = view.Length, Scheme = "lvm", PartitionType = type, PartitionName = $"{vg.Name}/{lv.Name}",
                    FileSystem = probe.FileSystem, FileSystemVersion = probe.Version, Label = probe.Label,
                    Mountable = reason is null, Reason = reason, Data = view,
                };
            }
            catch (Exception e) when (e is VmdkMountException or OverflowException)
            {
                string reason = e is UnsupportedFeatureException u ? $"not supported: {u.Feature}" : $"logical volume cannot be mapped: {e.Message}";
                return Unreadable(id, "lvm", type, $"{vg.Name}/{lv.Name}", 0, size, reason, damaged: e is not UnsupportedFeatureException);
            }
        }

        private void Replace(Volume old, Volume replacement)
        {
            int i = _volumes.IndexOf(old);
            if (i >= 0) _volumes[i] = replacement;
        }
    }
}
