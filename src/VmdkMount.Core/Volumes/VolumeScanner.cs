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
    public static DiskLayout Scan(IReadAt disk, string source, IVolumeFormats formats) => ScanAll([(disk, source)], formats).Merge();

    /// <summary>
    /// All disks of one VM: each disk's partitions, then LVM volume groups assembled from the PVs of all of them (PVs
    /// matched by UUID, so the order of the disks does not matter). With more than one disk, a disk's volume ids carry
    /// its 1-based position in front (`d1p2`, `d2disk`); with one disk they are exactly what <see cref="Scan(IReadAt, string, IVolumeFormats)"/> gives.
    /// </summary>
    public static VmLayout ScanAll(IReadOnlyList<IVirtualDisk> disks, IVolumeFormats formats) =>
        ScanAll(disks.Select(d => ((IReadAt)d, d.Source)).ToList(), formats);

    /// <inheritdoc cref="ScanAll(IReadOnlyList{IVirtualDisk}, IVolumeFormats)"/>
    public static VmLayout ScanAll(IReadOnlyList<(IReadAt Disk, string Source)> disks, IVolumeFormats formats)
    {
        if (disks.Count == 0) throw new ArgumentException("no disk to scan");
        var layouts = new List<DiskLayout>();
        var pvs = new List<PvCandidate>();
        for (int i = 0; i < disks.Count; i++)
        {
            var scanner = new Scanner(disks[i].Disk, disks[i].Source, formats, i + 1, disks.Count == 1 ? "" : $"d{i + 1}");
            layouts.Add(scanner.Run());
            pvs.AddRange(scanner.Pvs);
        }
        var groups = LvmVolumeGroups.Assemble(pvs, formats, layouts.SelectMany(l => l.Volumes.Select(v => v.Id)));
        for (int i = 0; i < layouts.Count; i++)
            layouts[i] = layouts[i] with { Volumes = layouts[i].Volumes.Select(v => groups.PvVolumes.GetValueOrDefault(v, v)).ToList() };
        return new VmLayout { Disks = layouts, LogicalVolumes = groups.LogicalVolumes, LvmWarnings = groups.Warnings };
    }

    /// <summary>Probes content, turning an unreadable volume into <see cref="FileSystemKinds.Unknown"/> with the reason.</summary>
    internal static ProbeResult SafeProbe(IVolumeFormats formats, IReadAt data)
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

    /// <summary>Partitions (or the whole-disk volume) of one disk; the PVs among them are handed on for LVM assembly.</summary>
    private sealed class Scanner(IReadAt disk, string source, IVolumeFormats formats, int diskNumber, string idPrefix)
    {
        private readonly List<string> _warnings = [];
        private readonly List<string> _problems = [];
        private readonly List<Volume> _volumes = [];
        private int _probed;

        public List<PvCandidate> Pvs { get; } = [];

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
            return new DiskLayout { Scheme = scheme, SectorSize = sectorSize, Volumes = _volumes, Warnings = _warnings, Problems = _problems };
        }

        /// <summary>Sector 0 is a boot sector or header of a volume that owns the whole disk, whatever 55 AA says.</summary>
        private bool StartsWithVolume(ReadOnlySpan<byte> head) => formats.StartsWholeDiskVolume(head);

        private void AddWholeDisk()
        {
            var probe = SafeProbe(disk);
            var v = new Volume
            {
                Id = idPrefix + "disk", Offset = 0, Size = disk.Length, Scheme = "none", FileSystem = probe.FileSystem,
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
                AddMbrPartition($"{idPrefix}p{e.Slot}", e.Type, e.Status, e.StartLba, e.SectorCount, sectorSize);
            }
            foreach (var l in logicals) AddMbrPartition($"{idPrefix}p{l.Number}", l.Type, 0, l.StartLba, l.SectorCount, sectorSize);
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
                string id = $"{idPrefix}p{e.Index}";
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
            v = v with { Disks = [diskNumber] };
            _volumes.Add(v);
            if (data is not null && v.FileSystem == FileSystemKinds.LvmPv) Pvs.Add(new PvCandidate(v, data, diskNumber, source));
        }

        private ProbeResult SafeProbe(IReadAt data) => VolumeScanner.SafeProbe(formats, data);

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
    }
}
