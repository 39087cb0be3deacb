using System.Text;
using FsCheck;
using FsCheck.Fluent;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.FileSystems.Ext;

namespace VmdkMount.Tests.Names;

/// <summary>
/// The shown name of an entry is injective and reversible (ExtNames for byte names, Utf16NameEscape for UTF-16
/// names): decoding the shown form gives back exactly the stored name, so two stored names never show alike, and a
/// shown name never holds '/' or NUL. Checked exhaustively over short names from the alphabets that matter ('%', hex
/// digits, '/', NUL, bytes that are not UTF-8, surrogates) and by FsCheck over longer ones.
/// </summary>
public class NameEscapeTests
{
    private static readonly byte[] ByteAlphabet = [(byte)'d', (byte)'%', (byte)'F', (byte)'2', (byte)'5', (byte)'/', 0x00, 0xFF, 0xC3, 0xA9, (byte)'.', (byte)'f'];
    private static readonly char[] CharAlphabet = ['a', '%', 'u', 'D', '8', '0', '2', '5', 'F', 'f', '/', '\0', '\uD800', '\uDC00', '.'];

    private static IEnumerable<T[]> AllUpTo<T>(T[] alphabet, int maxLength)
    {
        var level = new List<T[]> { Array.Empty<T>() };
        yield return [];
        for (int len = 1; len <= maxLength; len++)
        {
            var next = new List<T[]>();
            foreach (var prefix in level)
                foreach (var c in alphabet)
                {
                    T[] s = [.. prefix, c];
                    next.Add(s);
                    yield return s;
                }
            level = next;
        }
    }

    private static void AssertExtShownWell(byte[] raw, string shown)
    {
        Assert.Equal(raw, ExtNames.Unescape(shown));
        Assert.DoesNotContain('/', shown);
        Assert.DoesNotContain('\0', shown);
        if (shown is "." or ".." or "") Assert.Equal(Encoding.ASCII.GetBytes(shown), raw);
    }

    [Fact]
    public void Ext_names_up_to_four_bytes_show_injectively_and_unescape_exactly()
    {
        var seen = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var raw in AllUpTo(ByteAlphabet, 4))
        {
            string shown = ExtNames.Decode(raw);
            AssertExtShownWell(raw, shown);
            if (seen.TryGetValue(shown, out var other)) Assert.Fail($"{Convert.ToHexString(raw)} and {Convert.ToHexString(other)} both show as {shown}");
            seen[shown] = raw;
        }
        Assert.True(seen.Count > 20000);
    }

    [Fact]
    public void Ext_escape_looking_valid_name_and_the_raw_name_it_reads_as_differ()
    {
        Assert.Equal("d%25FF", ExtNames.Decode("d%FF"u8));
        Assert.Equal("d%FF", ExtNames.Decode([(byte)'d', 0xFF]));
        Assert.Equal("100%", ExtNames.Decode("100%"u8));          // no escape-looking '%': shown as stored
        Assert.Equal("50% off", ExtNames.Decode("50% off"u8));
        Assert.Equal("a%2Fb", ExtNames.Decode("a/b"u8));
        Assert.Null(ExtNames.Unescape("d%ff"));                    // not the shown form of any name
        Assert.Null(ExtNames.Unescape("d%25"));                    // "d%" is shown "d%"
    }

    [Fact]
    public void Ext_link_targets_escape_each_component_as_its_entry_is_shown()
    {
        byte[] target = [.. "../50%/d"u8, 0xFF, .. "/x%41/"u8];
        Assert.Equal("../50%/d%FF/x%2541/", ExtNames.DecodeTarget(target));
        Assert.Equal("/etc/passwd", ExtNames.DecodeTarget("/etc/passwd"u8));
    }

    [Fact]
    public void Ext_names_round_trip_for_random_byte_strings()
    {
        var gen = Gen.ArrayOf(Gen.Frequency(
            (6, Gen.Elements(ByteAlphabet)),
            (1, Gen.Choose(0, 255).Select(i => (byte)i))));
        Prop.ForAll(gen.ToArbitrary(), Gen.Two(gen).ToArbitrary(), (byte[] raw, (byte[] A, byte[] B) pair) =>
        {
            AssertExtShownWell(raw, ExtNames.Decode(raw));
            bool sameShown = ExtNames.Decode(pair.A) == ExtNames.Decode(pair.B);
            Assert.Equal(pair.A.AsSpan().SequenceEqual(pair.B), sameShown);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(5000));
    }

    private static void AssertUtf16ShownWell(string raw, string shown)
    {
        Assert.True(Utf16NameEscape.TryDecode(shown, out var back), shown);
        Assert.Equal(raw, back);
        Assert.DoesNotContain('/', shown);
        Assert.DoesNotContain('\0', shown);
        Assert.False(Utf16NameEscape.HasUnpairedSurrogate(shown), shown);
    }

    [Fact]
    public void Utf16_names_up_to_four_units_show_injectively_and_decode_exactly()
    {
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var chars in AllUpTo(CharAlphabet, 4))
        {
            string raw = new(chars);
            string shown = Utf16NameEscape.Encode(raw);
            AssertUtf16ShownWell(raw, shown);
            if (seen.TryGetValue(shown, out var other)) Assert.Fail($"'{Escape(raw)}' and '{Escape(other)}' both show as {shown}");
            seen[shown] = raw;
        }
        Assert.True(seen.Count > 50000);
    }

    [Fact]
    public void Utf16_lookup_accepts_exactly_the_shown_names()
    {
        Assert.Equal("a%2Fb", Utf16NameEscape.Encode("a/b"));
        Assert.Equal("a%252Fb", Utf16NameEscape.Encode("a%2Fb"));
        Assert.Equal("a%00b", Utf16NameEscape.Encode("a\0b"));
        Assert.Equal("100%.txt", Utf16NameEscape.Encode("100%.txt"));
        Assert.Equal("a%uD800b", Utf16NameEscape.Encode("a\uD800b"));
        Assert.True(Utf16NameEscape.TryDecode("a%2Fb", out var raw) && raw == "a/b");
        Assert.True(Utf16NameEscape.TryDecode("100%.txt", out raw) && raw == "100%.txt");
        foreach (var other in new[] { "a%2fb", "a%2F%", "%25", "a%u0041" })
        {
            if (Utf16NameEscape.TryDecode(other, out raw)) Assert.Equal(other, Utf16NameEscape.Encode(raw));
        }
        Assert.False(Utf16NameEscape.TryDecode("a%2fb", out _)); // "a%2fb" is shown "a%252fb"; no name shows as "a%2fb"
        Assert.False(Utf16NameEscape.TryDecode("x%25", out _));  // "x%" is shown as stored
    }

    [Fact]
    public void Utf16_names_round_trip_for_random_strings()
    {
        var gen = Gen.ArrayOf(Gen.Frequency(
            (6, Gen.Elements(CharAlphabet)),
            (1, Gen.Choose(0, 0xFFFF).Select(i => (char)i)))).Select(a => new string(a));
        Prop.ForAll(gen.ToArbitrary(), Gen.Two(gen).ToArbitrary(), (string raw, (string A, string B) pair) =>
        {
            AssertUtf16ShownWell(raw, Utf16NameEscape.Encode(raw));
            Assert.Equal(pair.A == pair.B, Utf16NameEscape.Encode(pair.A) == Utf16NameEscape.Encode(pair.B));
            // any text at all: accepted only when it is the shown form of what it decodes to
            if (Utf16NameEscape.TryDecode(pair.A, out var back)) Assert.Equal(pair.A, Utf16NameEscape.Encode(back));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(5000));
    }

    private static string Escape(string s) => string.Concat(s.Select(c => c < 0x20 || char.IsSurrogate(c) ? $"\\u{(int)c:X4}" : c.ToString()));
}
