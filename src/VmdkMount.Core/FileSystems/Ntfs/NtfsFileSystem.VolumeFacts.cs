using System.Buffers.Binary;
using System.Text;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>What the volume says about itself ($Volume: label, dirty flag; $LogFile: clean or not) and its $UpCase table.</summary>
public sealed partial class NtfsFileSystem
{
    private void ReadVolumeInformation()
    {
        var vol = LoadFile(VolumeRecord);
        var label = vol.Pieces(NtfsAttributeType.VolumeName, "").FirstOrDefault();
        if (label is { NonResident: false }) Label = Utf16NameEscape.Encode(Encoding.Unicode.GetString(label.Value.Span));
        var info = vol.Pieces(NtfsAttributeType.VolumeInformation, "").FirstOrDefault();
        if (info is { NonResident: false } && info.Value.Length >= VolumeFlagsOffset + 2)
        {
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(info.Value.Span[VolumeFlagsOffset..]);
            if ((flags & VolumeDirtyFlag) != 0)
                _warnings.Add("the volume is marked dirty (not cleanly unmounted, or chkdsk pending): opened read-only as it is; recent changes may be missing");
        }
        try
        {
            var log = LoadFile(LogFileRecord).GetStream(this, NtfsAttributeType.Data, "");
            var clean = NtfsLogFile.IsClean(log, $"{Name}: $LogFile");
            if (clean == false)
                _warnings.Add("$LogFile holds changes that were not checkpointed (crash-consistent or hibernated volume): opened read-only without replaying them; recent changes may be missing");
        }
        catch (VmdkMountException e)
        {
            _warnings.Add($"$LogFile could not be checked: {e.Message}");
        }
    }

    private NtfsUpCase LoadUpCase()
    {
        try
        {
            var s = LoadFile(UpCaseRecord).GetStream(this, NtfsAttributeType.Data, "");
            var bytes = new byte[NtfsUpCase.Bytes];
            int n = s.Read(0, bytes);
            if (n < NtfsUpCase.Bytes) lock (_warnings) _warnings.Add($"$UpCase holds {n} bytes instead of {NtfsUpCase.Bytes}; the rest maps to itself");
            return NtfsUpCase.FromBytes(bytes.AsSpan(0, n));
        }
        catch (VmdkMountException e)
        {
            lock (_warnings) _warnings.Add($"$UpCase unreadable ({e.Message}); using a simple ASCII upcase table");
            var t = new byte[NtfsUpCase.Bytes];
            for (int i = 0; i < NtfsUpCase.Entries; i++)
                BinaryPrimitives.WriteUInt16LittleEndian(t.AsSpan(2 * i), (ushort)(i is >= 'a' and <= 'z' ? i - 32 : i));
            return NtfsUpCase.FromBytes(t);
        }
    }
}
