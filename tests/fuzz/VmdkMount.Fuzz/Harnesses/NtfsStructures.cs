using VmdkMount.Core.FileSystems.Ntfs;

namespace VmdkMount.Fuzz.Harnesses;

/// <summary>
/// The NTFS decoders one at a time, without a volume around them, so that AFL reaches deep into each: the first byte
/// of the input picks the structure, the rest is its bytes. An MFT record is decoded whole: fixups, every
/// attribute, and each attribute's value by type (file name, index root, reparse data, attribute list, EA,
/// standard information) or its runlist.
/// </summary>
public static class NtfsStructures
{
    public const byte MftRecord = 0, Runlist = 1, IndexBlock = 2, Lznt1 = 3, ReparsePoint = 4;
    private const int Kinds = 5;

    /// <summary>A 64 MiB volume of 4 KiB clusters: bounds the LCNs a runlist may name.</summary>
    private const long ClusterCount = 1 << 14;

    public static void Run(byte[] input)
    {
        if (input.Length < 1) return;
        var body = input.AsSpan(1);
        switch (input[0] % Kinds)
        {
            case MftRecord:
                Record(body.ToArray());
                break;
            case Runlist:
                ExpectedErrors.Tolerate(() => NtfsRunlistDecoder.Decode(input.AsSpan(1), 0, ClusterCount, new List<NtfsRun>(), "fuzz: runlist", 0));
                break;
            case IndexBlock:
            {
                var block = body.ToArray();
                ExpectedErrors.Tolerate(() => NtfsIndexAllocation.Parse(block, 0, "fuzz: index block", 0));
                break;
            }
            case Lznt1:
            {
                var packed = body.ToArray();
                var output = new byte[16 * 4096];
                ExpectedErrors.Tolerate(() => NtfsLznt1.Decompress(packed, output, "fuzz: compression unit", 0));
                break;
            }
            default:
            {
                var value = body.ToArray();
                ExpectedErrors.Tolerate(() => NtfsReparsePoint.Parse(value, "fuzz: reparse data", 0));
                break;
            }
        }
    }

    private static void Record(byte[] bytes)
    {
        NtfsMftRecord record;
        try
        {
            record = NtfsMftRecord.Parse(bytes, 7, 4096, "fuzz");
        }
        catch (Exception e) when (ExpectedErrors.IsExpected(e))
        {
            return;
        }
        foreach (var a in record.Attributes)
            ExpectedErrors.Tolerate(() =>
            {
                if (a.NonResident)
                {
                    NtfsRunlistDecoder.Decode(a.Runlist.Span, a.LowestVcn, ClusterCount, new List<NtfsRun>(), "fuzz: runlist", 0);
                    return;
                }
                switch (a.Type)
                {
                    case NtfsAttributeType.FileName: NtfsFileName.Parse(a.Value.Span, "fuzz", 0); break;
                    case NtfsAttributeType.IndexRoot: NtfsIndexRoot.Parse(a.Value.Span, "fuzz", 0); break;
                    case NtfsAttributeType.ReparsePoint: NtfsReparsePoint.Parse(a.Value.Span, "fuzz", 0); break;
                    case NtfsAttributeType.AttributeList: NtfsAttributeList.Parse(a.Value.Span, "fuzz", 0); break;
                    case NtfsAttributeType.Ea: NtfsExtendedAttributes.LinuxDevice(NtfsExtendedAttributes.Parse(a.Value.Span, "fuzz", 0)); break;
                    case NtfsAttributeType.StandardInformation: NtfsStandardInformation.TryParse(a.Value.Span); break;
                }
            });
    }
}
