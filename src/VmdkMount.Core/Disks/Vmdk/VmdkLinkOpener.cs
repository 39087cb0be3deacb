using VmdkMount.Core.Caching;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// Opens one link: sniffs the file, reads the descriptor (separate or embedded) and places every extent.
/// Every file is opened through the chain's <see cref="ISourceStore"/> (which refuses anything but a plain file of a
/// backup and, for local files, pools the handles, so thousands of links cost no descriptors when idle), and an extent
/// must lie inside the folder of its descriptor unless <see cref="ChainFileRules.AllowOutsideExtents"/>.
/// </summary>
internal static class VmdkLinkOpener
{
    public static VmdkLink Open(string path, ISourceStore store, bool recoverTruncatedStream = false, ChainFileRules? rules = null, CacheBudget? cache = null)
    {
        rules ??= ChainFileRules.Strict;
        var owned = new List<IDisposable>();
        var placed = new List<PlacedExtent>();
        try
        {
            var file = store.Open(path);
            owned.Add(file);
            var warnings = new List<string>();
            var kind = Sniff(file, path);
            switch (kind)
            {
                case VmdkFileKind.HostedSparse:
                {
                    SparseExtentHeader header;
                    bool fromFooter, recovered = false;
                    try
                    {
                        header = SparseHeaderReader.Read(file, path, out fromFooter);
                    }
                    catch (CorruptDataException) when (recoverTruncatedStream && SparseHeaderReader.FirstHeader(file, path) is { GdIsAtEnd: true, HasMarkers: true } first)
                    {
                        (header, fromFooter, recovered) = (first, false, true);
                    }
                    var text = EmbeddedDescriptor.Read(file, header, path);
                    var descriptor = text is null ? null : DescriptorFile.Parse(text, $"{path}: embedded descriptor");
                    if (descriptor is not null) warnings.AddRange(descriptor.Warnings);
                    if (header.CapacitySectors == 0 && descriptor is not null)
                    {
                        // qemu's "descriptor container": a KDMV file with no data of its own whose text lists the extents.
                        PlaceExtents(descriptor, path, store, rules, cache, owned, placed, warnings);
                        return new VmdkLink(path, descriptor, placed.ToArray(), owned.ToArray(), warnings, "sparse file holding a descriptor");
                    }
                    var extent = recovered ? HostedSparseExtent.OpenTruncatedStream(file, path, header, cache) : HostedSparseExtent.Open(file, path, header, fromFooter, cache);
                    placed.Add(new PlacedExtent(0, extent, null));
                    if (descriptor is { Extents.Count: > 1 })
                        warnings.Add($"{path}: embedded descriptor lists {descriptor.Extents.Count} extents; this file is used as the only one");
                    return new VmdkLink(path, descriptor, placed.ToArray(), owned.ToArray(), warnings,
                        header.IsCompressed ? "streamOptimized sparse file" : "monolithic sparse file");
                }
                case VmdkFileKind.Cowd:
                    placed.Add(new PlacedExtent(0, CowdExtent.Open(file, path, cache), null));
                    return new VmdkLink(path, null, placed.ToArray(), owned.ToArray(), warnings, "bare COWD extent");
                case VmdkFileKind.SeSparse:
                    placed.Add(new PlacedExtent(0, SeSparseExtent.Open(file, path, cache), null));
                    return new VmdkLink(path, null, placed.ToArray(), owned.ToArray(), warnings, "bare SEsparse extent");
                default:
                {
                    var descriptor = ReadTextDescriptor(file, path);
                    warnings.AddRange(descriptor.Warnings);
                    owned.Remove(file);
                    file.Dispose();
                    PlaceExtents(descriptor, path, store, rules, cache, owned, placed, warnings);
                    return new VmdkLink(path, descriptor, placed.ToArray(), owned.ToArray(), warnings, "descriptor");
                }
            }
        }
        catch
        {
            foreach (var p in placed) p.Extent.Dispose();
            foreach (var d in owned) d.Dispose();
            throw;
        }
    }

    private static VmdkFileKind Sniff(IReadAt file, string path)
    {
        Span<byte> head = stackalloc byte[8];
        int n = file.ReadAt(0, head);
        if (n < 4) throw new CorruptDataException($"{path}: file header", 0, $"not a VMDK: the file has only {file.Length} bytes");
        return ExtentMagic.Sniff(head[..n]);
    }

    public static DescriptorFile ReadTextDescriptor(IReadAt file, string path)
    {
        if (file.Length > DescriptorText.MaxBytes)
            throw new CorruptDataException($"{path}: descriptor", 0, $"not a VMDK: no sparse magic and {file.Length} bytes is too large for a descriptor");
        var bytes = new byte[file.Length];
        file.ReadExactly(0, bytes, $"{path}: descriptor");
        return DescriptorFile.Parse(bytes, $"{path}: descriptor");
    }

    /// <summary>
    /// Opens the parent a <see cref="ParentLocator"/> found. A hint may lead anywhere (moved chains, linked clones), so
    /// the file must first prove it is a VMDK at all; a hint naming `/etc/passwd` is refused, not parsed as a disk.
    /// </summary>
    public static VmdkLink OpenParent(VmdkLink child, string path, string foundBy, ISourceStore store, bool recoverTruncatedStream, ChainFileRules rules, CacheBudget? cache = null)
    {
        if (NotVmdkReason(path, store) is { } why)
            throw new ChainException($"{child.Path}: its parent {path} (found by {foundBy}) is not a VMDK: {why}; refused");
        return Open(path, store, recoverTruncatedStream, rules, cache);
    }

    /// <summary>Why a file is not a VMDK (no sparse magic and no descriptor text), or null when it is one.</summary>
    private static string? NotVmdkReason(string path, ISourceStore store)
    {
        using var file = store.Open(path);
        Span<byte> head = stackalloc byte[8];
        int n = file.ReadAt(0, head);
        if (n < 4) return $"the file has only {file.Length} bytes";
        if (ExtentMagic.Sniff(head[..n]) != VmdkFileKind.Text) return null;
        if (file.Length > DescriptorText.MaxBytes) return "no sparse magic (KDMV, COWD, SEsparse) and too large for a descriptor";
        try
        {
            ReadTextDescriptor(file, path);
            return null;
        }
        catch (CorruptDataException)
        {
            // The parser's detail is not repeated: it could quote a line of a host file that is not ours to show.
            return "no sparse magic (KDMV, COWD, SEsparse) and no descriptor text (version=, extent lines)";
        }
    }

    /// <summary>Reads just the CID of a file, for the parent search; null when it is not a VMDK with a descriptor.</summary>
    public static uint? ProbeCid(string path, ISourceStore store)
    {
        try
        {
            using var file = store.Open(path);
            Span<byte> head = stackalloc byte[8];
            if (file.ReadAt(0, head) < 8) return null;
            switch (ExtentMagic.Sniff(head))
            {
                case VmdkFileKind.HostedSparse:
                    var header = SparseHeaderReader.Read(file, path, out _);
                    var text = EmbeddedDescriptor.Read(file, header, path);
                    return text is null ? null : DescriptorFile.Parse(text, path).Cid;
                case VmdkFileKind.Text:
                    return file.Length > DescriptorText.MaxBytes ? null : ReadTextDescriptor(file, path).Cid;
                default:
                    return null;
            }
        }
        catch (VmdkMountException)
        {
            return null;
        }
    }

    private static void PlaceExtents(DescriptorFile descriptor, string descriptorPath, ISourceStore store, ChainFileRules rules, CacheBudget? cache,
        List<IDisposable> owned, List<PlacedExtent> placed, List<string> warnings)
    {
        var folder = new ExtentFolder(store, store.FolderOf(descriptorPath), store.RealFolderOf(descriptorPath), descriptorPath, rules);
        string where = $"{descriptorPath}: descriptor";
        if (descriptor.Extents.Count == 0) throw new CorruptDataException(where, 0, "the descriptor lists no extents");
        long start = 0;
        int index = 0;
        foreach (var line in descriptor.Extents)
        {
            index++;
            string lineWhere = $"{where} extent {index}";
            if (line.SizeSectors > long.MaxValue / (2 * Sector.Size) || start > long.MaxValue / 2 - line.SizeSectors * Sector.Size)
                throw new CorruptDataException(lineWhere, 0, $"extent size of {line.SizeSectors} sectors is absurd");
            long size = line.SizeSectors * Sector.Size;
            IExtent extent = OpenExtent(line, folder, size, lineWhere, cache, owned, warnings);
            placed.Add(new PlacedExtent(start, extent, line));
            start += size;
        }
    }

    private static IExtent OpenExtent(ExtentLine line, ExtentFolder folder, long size, string where, CacheBudget? cache,
        List<IDisposable> owned, List<string> warnings)
    {
        switch (line.Type)
        {
            case "VMFSRDM" or "VMFSRAW":
                throw new UnsupportedFeatureException(where, $"{line.Type} extent: raw device mapping, data not in backup");
            case "VSANSPARSE":
                throw new UnsupportedFeatureException(where, "VSANSPARSE extent: vSAN object, data not in backup");
            case "ZERO":
                return line.Access == ExtentAccess.NoAccess ? new NoAccessExtent("ZERO", size) : new ZeroExtent(size);
            case "FLAT" or "VMFS" or "SPARSE" or "VMFSSPARSE" or "SESPARSE":
                break;
            default:
                throw new UnsupportedFeatureException(where, $"unknown extent type '{line.Type}'");
        }
        if (string.IsNullOrEmpty(line.FileName))
            throw new CorruptDataException(where, 0, $"{line.Type} extent without a file name");
        // A NOACCESS range is never read, so its file need not be in the backup.
        if (line.Access == ExtentAccess.NoAccess) return new NoAccessExtent(line.FileName, size);
        string path = ResolveExtentPath(line.FileName, folder, where);
        if (line.Type == "FLAT" && !line.HasOffset)
            throw new CorruptDataException(where, 0, "FLAT extent without an OFFSET");
        var file = folder.Store.Open(path);
        owned.Add(file);
        // The name was checked as written; this checks where it really leads (a link in the folder may point out).
        if (!folder.Rules.AllowOutsideExtents && !folder.Store.IsUnder(file.RealName, folder.RealDir))
            throw folder.Outside(path, file.RealName);
        if (line.Type is "FLAT" or "VMFS")
        {
            if (line.Type == "VMFS" && line.HasOffset && line.OffsetSectors != 0)
                warnings.Add($"{where}: VMFS extent with offset {line.OffsetSectors} (VMFS extents start at 0; offset used)");
            if (line.OffsetSectors > long.MaxValue / (2 * Sector.Size))
                throw new CorruptDataException(where, 0, $"extent offset {line.OffsetSectors} is absurd");
            return new FlatExtent(file, path, line.OffsetSectors * Sector.Size, size);
        }
        IExtent inner = Sniff(file, path) switch
        {
            VmdkFileKind.HostedSparse => OpenSparsePiece(file, path, cache),
            VmdkFileKind.Cowd => CowdExtent.Open(file, path, cache),
            VmdkFileKind.SeSparse => SeSparseExtent.Open(file, path, cache),
            _ => throw new CorruptDataException($"{path}: extent header", 0, $"{line.Type} extent file has no known magic (KDMV, COWD or SEsparse)"),
        };
        if (inner.Length == size) return inner;
        warnings.Add($"{path}: extent holds {inner.Length} bytes but the descriptor says {size}; laid out by the descriptor");
        return new SizedExtent(inner, size);
    }

    private static HostedSparseExtent OpenSparsePiece(IReadAt file, string path, CacheBudget? cache)
    {
        var header = SparseHeaderReader.Read(file, path, out bool fromFooter);
        return HostedSparseExtent.Open(file, path, header, fromFooter, cache);
    }

    /// <summary>
    /// Where an extent file is: relative names join the descriptor's folder; absolute ones (POSIX, `C:\`, UNC) are
    /// looked for beside the descriptor first, because a backup gathers the files in one folder. Devices are refused,
    /// and so is a name that leaves the descriptor's folder, unless <see cref="ChainFileRules.AllowOutsideExtents"/>.
    /// </summary>
    internal static string ResolveExtentPath(string name, ExtentFolder folder, string where)
    {
        var store = folder.Store;
        if (name.StartsWith("/dev/", StringComparison.Ordinal) || name.StartsWith(@"\\.\", StringComparison.Ordinal)
            || name.StartsWith(@"\\?\", StringComparison.Ordinal))
            throw new UnsupportedFeatureException(where, $"extent on a device ('{name}'): raw device, data not in backup");
        if (PathNames.IsAbsoluteAnyStyle(name))
        {
            string beside = store.Resolve(folder.DescriptorPath, PathNames.LastComponent(name));
            if (store.Kind(beside).IsFile()) return beside;
            if (!folder.Rules.AllowOutsideExtents) throw folder.Outside(name, null);
            if (name.StartsWith('/') && store.Kind(name).IsFile()) return name;
            throw new SourceUnavailableException(name, $"extent file not found (also looked for '{beside}'; named in {where})");
        }
        // Names written on Windows separate with backslashes.
        string joined = store.Resolve(folder.DescriptorPath, name.Replace('\\', '/'));
        if (!folder.Rules.AllowOutsideExtents && !store.IsUnder(joined, store.FullName(folder.Dir)))
            throw folder.Outside(joined, null);
        if (!store.Kind(joined).IsFile()) throw new SourceUnavailableException(joined, $"extent file not found (named in {where})");
        return joined;
    }
}
