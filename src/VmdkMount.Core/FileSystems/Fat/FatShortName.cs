namespace VmdkMount.Core.FileSystems.Fat;

/// <summary>
/// 8.3 names: the 11 stored bytes, their display form (NT case flags applied) and the VFAT checksum.
/// Bytes are decoded with code page 437 (the US OEM code page, Linux vfat's default); names that need anything
/// else nearly always carry a VFAT long name, which is UTF-16.
/// </summary>
internal static class FatShortName
{
    public const int Length = 11;
    public const byte LowerCaseBase = 0x08;
    public const byte LowerCaseExtension = 0x10;
    private const byte KanjiLeadE5 = 0x05;
    private const int BaseLength = 8;

    private const string Cp437High =
        "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀" +
        "αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00A0";

    public static string DecodeOem(ReadOnlySpan<byte> raw)
    {
        Span<char> chars = stackalloc char[raw.Length];
        for (int i = 0; i < raw.Length; i++) chars[i] = OemChar(raw[i]);
        return new string(chars);
    }

    private static char OemChar(byte b) => b switch
    {
        < 0x20 or (byte)'/' => '_',
        < 0x80 => (char)b,
        _ => Cp437High[b - 0x80],
    };

    /// <summary>
    /// `NAME.EXT` with trailing spaces removed and the NT lower-case flags applied, shown with
    /// <see cref="Utf16NameEscape"/>: a damaged entry's '/' or NUL byte is <c>%2F</c> / <c>%00</c>, other control
    /// bytes are kept as characters (a terminal escapes them), so distinct bytes never show as the same name.
    /// </summary>
    public static string Display(ReadOnlySpan<byte> raw, byte caseFlags)
    {
        Span<char> chars = stackalloc char[Length + 1];
        int n = 0;
        int baseEnd = BaseLength;
        while (baseEnd > 0 && raw[baseEnd - 1] == ' ') baseEnd--;
        int extEnd = Length;
        while (extEnd > BaseLength && raw[extEnd - 1] == ' ') extEnd--;
        for (int i = 0; i < baseEnd; i++)
        {
            byte b = i == 0 && raw[0] == KanjiLeadE5 ? (byte)0xE5 : raw[i];
            char c = NameChar(b);
            chars[n++] = (caseFlags & LowerCaseBase) != 0 ? char.ToLowerInvariant(c) : c;
        }
        if (extEnd > BaseLength)
        {
            chars[n++] = '.';
            for (int i = BaseLength; i < extEnd; i++)
            {
                char c = NameChar(raw[i]);
                chars[n++] = (caseFlags & LowerCaseExtension) != 0 ? char.ToLowerInvariant(c) : c;
            }
        }
        return Utf16NameEscape.Encode(new string(chars[..n]));
    }

    private static char NameChar(byte b) => b < 0x80 ? (char)b : Cp437High[b - 0x80];

    /// <summary>The checksum every VFAT long-name entry carries of its 8.3 name.</summary>
    public static byte Checksum(ReadOnlySpan<byte> raw)
    {
        byte sum = 0;
        for (int i = 0; i < Length; i++) sum = (byte)(((sum & 1) << 7) + (sum >> 1) + raw[i]);
        return sum;
    }
}
