using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>Named $DATA attributes as alternate data streams: NTFS is the reader that has them.</summary>
public sealed partial class NtfsFileSystem : INamedStreams
{
    public IReadOnlyList<FsStream> ListStreams(long id)
    {
        var f = LoadOrThrow(id);
        var list = new List<FsStream>();
        foreach (var name in f.StreamNames())
        {
            var first = f.Pieces(NtfsAttributeType.Data, name).OrderBy(a => a.LowestVcn).First();
            list.Add(new FsStream(Utf16NameEscape.Encode(name), first.DataSize));
        }
        return list;
    }

    public int ReadStream(long id, string streamName, long offset, Span<byte> destination)
    {
        var f = LoadOrThrow(id);
        string what = $"{Name}: MFT record {id}:{streamName}";
        if (!Utf16NameEscape.TryDecode(streamName, out string raw)) throw new FileReadException(what, "no such stream");
        var upcase = _upcase.Value;
        string? name = f.StreamNames().FirstOrDefault(n => n == raw)
            ?? f.StreamNames().FirstOrDefault(n => upcase.Compare(n, raw) == 0)
            ?? throw new FileReadException(what, "no such stream");
        if (f.IsEncrypted) throw new FileReadException(what, EncryptedRefusal);
        return f.GetStream(this, NtfsAttributeType.Data, name).Read(offset, destination);
    }
}
