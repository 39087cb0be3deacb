using System.Buffers.Binary;
using System.Text;

namespace VmdkMount.Core.Volumes;

/// <summary>One used slot of the GPT partition entry array. <see cref="Index"/> is the 1-based slot number.</summary>
internal sealed record GptPartitionEntry(int Index, Guid TypeGuid, Guid UniqueGuid, long FirstLba, long LastLba, ulong Attributes, string Name)
{
    private const int TypeGuidField = 0;
    private const int UniqueGuidField = 16;
    private const int FirstLbaField = 32;
    private const int LastLbaField = 40;
    private const int AttributesField = 48;
    private const int NameField = 56;
    private const int NameBytes = 72;

    private const int AttrRequired = 0, AttrNoBlockIo = 1, AttrLegacyBootable = 2;
    private const int AttrBasicReadOnly = 60, AttrBasicShadowCopy = 61, AttrBasicHidden = 62, AttrBasicNoDriveLetter = 63;

    /// <summary>The attribute bits by name; the type-specific bits 60-63 are named only for Microsoft basic data.</summary>
    public List<string> AttributeNames()
    {
        var names = new List<string>();
        void Add(int bit, string name) { if ((Attributes & (1UL << bit)) != 0) names.Add(name); }
        Add(AttrRequired, "required");
        Add(AttrNoBlockIo, "no-block-io");
        Add(AttrLegacyBootable, "legacy-bios-bootable");
        if (TypeGuid == PartitionTypes.MicrosoftBasicData)
        {
            Add(AttrBasicReadOnly, "read-only");
            Add(AttrBasicShadowCopy, "shadow-copy");
            Add(AttrBasicHidden, "hidden");
            Add(AttrBasicNoDriveLetter, "no-drive-letter");
        }
        return names;
    }

    /// <summary>Decodes slot <paramref name="index"/>; null for an unused slot (all-zero type GUID).</summary>
    public static GptPartitionEntry? Parse(ReadOnlySpan<byte> entry, int index)
    {
        var type = new Guid(entry.Slice(TypeGuidField, 16));
        if (type == Guid.Empty) return null;
        var nameBytes = entry.Slice(NameField, NameBytes);
        int len = 0;
        while (len + 1 < nameBytes.Length && (nameBytes[len] != 0 || nameBytes[len + 1] != 0)) len += 2;
        return new GptPartitionEntry(index, type, new Guid(entry.Slice(UniqueGuidField, 16)),
            (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(entry[FirstLbaField..]), long.MaxValue),
            (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(entry[LastLbaField..]), long.MaxValue),
            BinaryPrimitives.ReadUInt64LittleEndian(entry[AttributesField..]),
            Encoding.Unicode.GetString(nameBytes[..len]));
    }
}
