using System.Buffers.Binary;

namespace VmdkMount.Dokan;

/// <summary>
/// The one security descriptor every node shows, as self-relative bytes (SECURITY_DESCRIPTOR_RELATIVE, MS-DTYP 2.4.6):
/// owner and group BUILTIN\Administrators, a DACL whose one ACE lets Everyone read and execute (inherited by
/// everything below a folder). The backed-up machine's own ACLs name its accounts, which mean nothing here, and the
/// volume is read-only whatever the descriptor says; Dokan's default would grant full access to Authenticated Users.
/// </summary>
public static class SecurityDescriptor
{
    public const uint OwnerSecurityInformation = 0x1, GroupSecurityInformation = 0x2, DaclSecurityInformation = 0x4,
        SaclSecurityInformation = 0x8;

    /// <summary>SE_DACL_PRESENT, SE_DACL_PROTECTED (no inheritance from a parent: nothing above the mount), SE_SELF_RELATIVE.</summary>
    private const ushort DaclPresent = 0x0004, DaclProtected = 0x1000, SelfRelative = 0x8000;

    private const int HeaderSize = 20;
    private const int AclHeaderSize = 8;
    private const int AceHeaderSize = 4;
    private const int AccessMaskSize = 4;
    private const byte AccessAllowedAceType = 0;
    private const byte ObjectInheritAce = 0x1, ContainerInheritAce = 0x2;

    /// <summary>FILE_GENERIC_READ | FILE_GENERIC_EXECUTE.</summary>
    public const uint ReadAndExecute = 0x001200A9;

    /// <summary>S-1-1-0.</summary>
    public static readonly byte[] Everyone = [1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0];

    /// <summary>S-1-5-32-544.</summary>
    public static readonly byte[] Administrators = [1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 0x02, 0, 0];

    /// <summary>The descriptor with only the parts <paramref name="securityInformation"/> asks for (a SACL is never held).</summary>
    public static byte[] Build(uint securityInformation, bool isDirectory)
    {
        bool owner = (securityInformation & OwnerSecurityInformation) != 0;
        bool group = (securityInformation & GroupSecurityInformation) != 0;
        bool dacl = (securityInformation & DaclSecurityInformation) != 0;
        int aceSize = AceHeaderSize + AccessMaskSize + Everyone.Length;
        int aclSize = AclHeaderSize + aceSize;
        int size = HeaderSize + (owner ? Administrators.Length : 0) + (group ? Administrators.Length : 0) + (dacl ? aclSize : 0);
        var sd = new byte[size];
        sd[0] = 1; // revision
        ushort control = SelfRelative;
        int at = HeaderSize;
        if (owner)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(sd.AsSpan(4), (uint)at);
            Administrators.CopyTo(sd, at);
            at += Administrators.Length;
        }
        if (group)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(sd.AsSpan(8), (uint)at);
            Administrators.CopyTo(sd, at);
            at += Administrators.Length;
        }
        if (dacl)
        {
            control |= DaclPresent | DaclProtected;
            BinaryPrimitives.WriteUInt32LittleEndian(sd.AsSpan(16), (uint)at);
            var acl = sd.AsSpan(at, aclSize);
            acl[0] = 2; // ACL_REVISION
            BinaryPrimitives.WriteUInt16LittleEndian(acl[2..], (ushort)aclSize);
            BinaryPrimitives.WriteUInt16LittleEndian(acl[4..], 1);
            var ace = acl[AclHeaderSize..];
            ace[0] = AccessAllowedAceType;
            ace[1] = isDirectory ? (byte)(ObjectInheritAce | ContainerInheritAce) : (byte)0;
            BinaryPrimitives.WriteUInt16LittleEndian(ace[2..], (ushort)aceSize);
            BinaryPrimitives.WriteUInt32LittleEndian(ace[4..], ReadAndExecute);
            Everyone.CopyTo(ace[(AceHeaderSize + AccessMaskSize)..]);
        }
        BinaryPrimitives.WriteUInt16LittleEndian(sd.AsSpan(2), control);
        return sd;
    }
}
