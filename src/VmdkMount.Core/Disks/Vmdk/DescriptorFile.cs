using System.Globalization;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// A parsed VMDK descriptor: header keys, extent lines and the disk database. Tolerant of what real
/// producers write (CRLF, `key = value` spacing, bare or quoted values, any section order, `#` inside quoted names),
/// strict about what would make the disk unreadable.
/// </summary>
public sealed class DescriptorFile
{
    /// <summary>CID / parentCID value that means "no parent".</summary>
    public const uint NoParentCid = 0xFFFFFFFF;

    /// <summary>Longest line accepted: real descriptor lines are short, and the bound keeps a hostile file from costing memory.</summary>
    public const int MaxLineLength = 64 * 1024;

    private readonly Dictionary<string, string> _header;
    private readonly Dictionary<string, string> _ddb;

    private DescriptorFile(int version, Dictionary<string, string> header, Dictionary<string, string> ddb,
        List<ExtentLine> extents, List<string> warnings, string encoding)
    {
        Version = version;
        _header = header;
        _ddb = ddb;
        Extents = extents;
        Warnings = warnings;
        Encoding = encoding;
    }

    public int Version { get; }
    public string Encoding { get; }
    public IReadOnlyList<ExtentLine> Extents { get; }
    public IReadOnlyList<string> Warnings { get; }
    public IReadOnlyDictionary<string, string> Header => _header;
    public IReadOnlyDictionary<string, string> DiskDatabase => _ddb;

    public uint? Cid => ParseCid("CID");
    public uint ParentCid => ParseCid("parentCID") ?? NoParentCid;
    public string? CreateType => _header.GetValueOrDefault("createType");
    public string? ParentFileNameHint => _header.GetValueOrDefault("parentFileNameHint");
    public bool HasParent => ParentCid != NoParentCid;

    private string _where = "";

    /// <summary>Parses descriptor bytes (a separate file, or the text embedded in a sparse extent).</summary>
    public static DescriptorFile Parse(ReadOnlySpan<byte> bytes, string where)
    {
        if (bytes.Length > DescriptorText.MaxBytes)
            throw new CorruptDataException(where, 0, $"not a VMDK descriptor: {bytes.Length} bytes is larger than the 1 MiB limit");
        string text = DescriptorText.Decode(bytes, where, out string encoding);
        var header = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var ddb = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var extents = new List<ExtentLine>();
        var warnings = new List<string>();
        int? version = null;
        long lineOffset = 0;
        int section = 0; // 0 header, 1 extents, 2 ddb: only to warn about unusual order
        foreach (var rawLine in text.Split('\n'))
        {
            long thisOffset = lineOffset;
            lineOffset += rawLine.Length + 1;
            if (rawLine.Length > MaxLineLength)
                throw new CorruptDataException(where, thisOffset, $"not a VMDK descriptor: line longer than {MaxLineLength} characters");
            string line = rawLine.Trim(' ', '\t', '\r');
            if (line.Length == 0 || line[0] == '#') continue;
            if (version is null)
            {
                if (!TrySplitKeyValue(line, out var k, out var v) || !k.Equals("version", StringComparison.OrdinalIgnoreCase))
                    throw new CorruptDataException(where, thisOffset, "not a VMDK descriptor: the first setting is not 'version='");
                if (!int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int ver))
                    throw new CorruptDataException(where, thisOffset, $"descriptor version '{v}' is not a number");
                if (ver is < 1 or > 3) warnings.Add($"{where}: unusual descriptor version {ver}");
                version = ver;
                header["version"] = v;
                continue;
            }
            if (ExtentLine.LooksLikeExtent(line))
            {
                if (section == 2) warnings.Add($"{where}: extent line after the disk database");
                section = 1;
                var ext = ExtentLine.Parse(line, $"{where}: extent line", thisOffset, warnings);
                if (ext.SizeSectors == 0)
                {
                    // VirtualBox writes "NOACCESS 0 ZERO" while it builds a descriptor: a placeholder, not a range.
                    warnings.Add($"{where}: zero-size extent line skipped: '{line}'");
                    continue;
                }
                extents.Add(ext);
                continue;
            }
            if (!TrySplitKeyValue(line, out var key, out var value))
            {
                warnings.Add($"{where}: line ignored (neither an extent nor key=value) at offset {thisOffset}: '{Shorten(line)}'");
                continue;
            }
            bool isDdb = key.StartsWith("ddb.", StringComparison.OrdinalIgnoreCase);
            if (isDdb) section = 2;
            else if (section != 0) warnings.Add($"{where}: header key '{key}' after the extents or disk database");
            var dict = isDdb ? ddb : header;
            if (dict.ContainsKey(key)) warnings.Add($"{where}: key '{key}' appears twice; the last one wins");
            dict[key] = value;
        }
        if (version is null) throw new CorruptDataException(where, 0, "not a VMDK descriptor: no 'version=' line");
        var d = new DescriptorFile(version.Value, header, ddb, extents, warnings, encoding) { _where = where };
        _ = d.Cid;
        _ = d.ParentCid;
        if (header.TryGetValue("isNativeSnapshot", out var native) && !native.Equals("no", StringComparison.OrdinalIgnoreCase))
            throw new UnsupportedFeatureException(where, $"isNativeSnapshot=\"{native}\" (array/VVol native snapshot; the data is not in VMDK files)");
        return d;
    }

    /// <summary>Strips surrounding blanks and one pair of double (or single) quotes.</summary>
    internal static string Unquote(string value)
    {
        value = value.Trim(' ', '\t', '\r');
        if (value.Length > 0 && value[0] is '"' or '\'')
        {
            char q = value[0];
            int close = value.IndexOf(q, 1);
            return close < 0 ? value[1..] : value[1..close];
        }
        return value;
    }

    private static bool TrySplitKeyValue(string line, out string key, out string value)
    {
        int eq = line.IndexOf('=');
        if (eq <= 0)
        {
            key = value = "";
            return false;
        }
        key = line[..eq].Trim(' ', '\t');
        value = Unquote(line[(eq + 1)..]);
        return key.Length > 0 && !key.Contains(' ') && !key.Contains('"');
    }

    private uint? ParseCid(string key)
    {
        if (!_header.TryGetValue(key, out var s)) return null;
        if (s.Length is >= 1 and <= 8 && uint.TryParse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint v))
            return v;
        throw new CorruptDataException($"{_where}: descriptor {key}", 0, $"'{s}' is not a 1-8 digit hexadecimal content id");
    }

    private static string Shorten(string s) => s.Length <= 80 ? s : s[..80] + "...";
}
