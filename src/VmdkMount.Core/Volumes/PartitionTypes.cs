namespace VmdkMount.Core.Volumes;

/// <summary>What a partition type says about a partition before its content is probed (a hint, never the answer).</summary>
internal enum PartitionRole
{
    Ordinary,
    /// <summary>Microsoft reserved, BIOS boot: never holds a filesystem.</summary>
    NoFileSystem,
    LdmMetadata,
    LdmData,
    StorageSpaces,
}

/// <summary>Human names of MBR type ids and GPT type GUIDs.</summary>
internal static class PartitionTypes
{
    public static readonly Guid EfiSystem = new("C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
    public static readonly Guid MicrosoftReserved = new("E3C9E316-0B5C-4DB8-817D-F92DF00215AE");
    public static readonly Guid MicrosoftBasicData = new("EBD0A0A2-B9E5-4433-87C0-68B6B72699C7");
    public static readonly Guid WindowsRecovery = new("DE94BBA4-06D1-4D40-A16A-BFD50179D6AC");
    public static readonly Guid LdmMetadata = new("5808C8AA-7E8F-42E0-85D2-E1E90434CFB3");
    public static readonly Guid LdmData = new("AF9B60A0-1431-4F62-BC68-3311714A69AD");
    public static readonly Guid StorageSpaces = new("E75CAF8F-F680-4CEE-AFA3-B001E56EFC2D");
    public static readonly Guid BiosBoot = new("21686148-6449-6E6F-744E-656564454649");

    private static readonly Dictionary<Guid, string> GptNames = new()
    {
        [EfiSystem] = "EFI system partition",
        [MicrosoftReserved] = "Microsoft reserved",
        [MicrosoftBasicData] = "Microsoft basic data",
        [WindowsRecovery] = "Windows recovery",
        [LdmMetadata] = "Windows LDM metadata",
        [LdmData] = "Windows LDM data",
        [StorageSpaces] = "Windows Storage Spaces",
        [new Guid("0FC63DAF-8483-4772-8E79-3D69D8477DE4")] = "Linux filesystem",
        [new Guid("4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709")] = "Linux root (x86-64)",
        [new Guid("933AC7E1-2EB4-4F13-B844-0E14E2AEF915")] = "Linux /home",
        [new Guid("BC13C2FF-59E6-4262-A352-B275FD6F7172")] = "Linux extended boot",
        [new Guid("E6D6D379-F507-44C2-A23C-238F2A3DF928")] = "Linux LVM",
        [new Guid("0657FD6D-A4AB-43C4-84E5-0933C84B4F4F")] = "Linux swap",
        [new Guid("A19D880F-05FC-4D3B-A006-743F0F84911E")] = "Linux RAID",
        [new Guid("CA7D7CCB-63ED-4C53-861C-1742536059CC")] = "Linux LUKS",
        [BiosBoot] = "BIOS boot partition",
        [new Guid("AA31E02A-400F-11DB-9590-000C2911D1B8")] = "VMware VMFS",
    };

    private static readonly Dictionary<byte, string> MbrNames = new()
    {
        [0x01] = "FAT12", [0x04] = "FAT16 <32M", [0x05] = "Extended", [0x06] = "FAT16", [0x07] = "HPFS/NTFS/exFAT",
        [0x0B] = "W95 FAT32", [0x0C] = "W95 FAT32 (LBA)", [0x0E] = "W95 FAT16 (LBA)", [0x0F] = "W95 Extended (LBA)",
        [0x11] = "Hidden FAT12", [0x12] = "Compaq diagnostics", [0x14] = "Hidden FAT16 <32M", [0x16] = "Hidden FAT16",
        [0x17] = "Hidden HPFS/NTFS", [0x1B] = "Hidden W95 FAT32", [0x1C] = "Hidden W95 FAT32 (LBA)",
        [0x1E] = "Hidden W95 FAT16 (LBA)", [0x27] = "Hidden NTFS WinRE (recovery)", [0x42] = "Windows dynamic disk (LDM)",
        [0x82] = "Linux swap", [0x83] = "Linux", [0x85] = "Linux extended", [0x8E] = "Linux LVM", [0xDE] = "Dell utility",
        [0xEE] = "GPT protective", [0xEF] = "EFI (FAT)", [0xFB] = "VMware VMFS", [0xFD] = "Linux raid autodetect",
    };

    private const byte MbrRecoveryType = 0x27;

    /// <summary>`hidden` for the +0x10 hidden variants of FAT/NTFS ids (and 0x27), `recovery` for 0x27 (Windows RE / OEM recovery).</summary>
    public static IEnumerable<string> MbrTypeAttributes(byte type)
    {
        if (type == MbrRecoveryType || type is 0x11 or 0x14 or 0x16 or 0x17 or 0x1B or 0x1C or 0x1E) yield return "hidden";
        if (type == MbrRecoveryType) yield return "recovery";
    }

    /// <summary>`recovery` for the Windows RE type GUID.</summary>
    public static IEnumerable<string> GptTypeAttributes(Guid type)
    {
        if (type == WindowsRecovery) yield return "recovery";
    }

    public static string GptName(Guid type) => GptNames.TryGetValue(type, out var n) ? n : "unknown type";

    public static string MbrName(byte type) => MbrNames.TryGetValue(type, out var n) ? n : "unknown type";

    public static PartitionRole GptRole(Guid type) =>
        type == MicrosoftReserved || type == BiosBoot ? PartitionRole.NoFileSystem
        : type == LdmMetadata ? PartitionRole.LdmMetadata
        : type == LdmData ? PartitionRole.LdmData
        : type == StorageSpaces ? PartitionRole.StorageSpaces
        : PartitionRole.Ordinary;

    public static PartitionRole MbrRole(byte type) => type == MbrPartitionTable.TypeLdm ? PartitionRole.LdmData : PartitionRole.Ordinary;
}
