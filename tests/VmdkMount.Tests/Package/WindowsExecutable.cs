using System.Buffers.Binary;
using System.Text;

namespace VmdkMount.Tests.Package;

/// <summary>
/// What a published vmdkmount.exe is, read from its bytes: the PE headers (PE/COFF specification: the "MZ" stub's
/// e_lfanew at 0x3C, "PE\0\0", the COFF header's machine, the optional header's magic and subsystem) and, for a
/// single-file bundle, the bundle manifest the .NET host reads (dotnet/runtime src/installer/managed/
/// Microsoft.NET.HostModel/Bundle: the apphost holds an 8-byte header offset just before a fixed 32-byte signature;
/// the header is major, minor, file count, bundle id, deps.json and runtimeconfig.json locations, flags, then one
/// entry per embedded file).
/// </summary>
internal sealed record WindowsExecutable(ushort Machine, ushort OptionalMagic, ushort Subsystem, IReadOnlyList<string> BundledFiles)
{
    public const ushort MachineAmd64 = 0x8664;
    public const ushort Pe32Plus = 0x20B;
    public const ushort SubsystemConsole = 3;

    private const int LfanewOffset = 0x3C;
    private const int CoffMachine = 4;
    private const int CoffSize = 20;
    private const int OptionalSubsystem = 68;
    private const int MaxBundledFiles = 100_000;

    private static readonly byte[] BundleSignature =
    [
        0x8b, 0x12, 0x02, 0xb9, 0x6a, 0x61, 0x20, 0x38, 0x72, 0x7b, 0x93, 0x02, 0x14, 0xd7, 0xa0, 0x32,
        0x13, 0xf5, 0xb9, 0xe6, 0xef, 0xae, 0x33, 0x18, 0xee, 0x3b, 0x2d, 0xce, 0x24, 0xb3, 0x6a, 0xae,
    ];

    public static WindowsExecutable Read(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        Assert.True(file.Length > 0x40 && file[0] == (byte)'M' && file[1] == (byte)'Z', $"{path}: no MZ header");
        int pe = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(LfanewOffset));
        Assert.InRange(pe, 0x40, file.Length - 0x200);
        Assert.True(file.AsSpan(pe, 4).SequenceEqual("PE\0\0"u8), $"{path}: no PE signature at 0x{pe:X}");
        ushort machine = BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(pe + CoffMachine));
        int optional = pe + 4 + CoffSize;
        ushort magic = BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(optional));
        ushort subsystem = BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(optional + OptionalSubsystem));
        return new WindowsExecutable(machine, magic, subsystem, ReadBundle(file));
    }

    private static List<string> ReadBundle(byte[] file)
    {
        int signature = file.AsSpan().IndexOf(BundleSignature);
        if (signature < 8) return [];
        long header = BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(signature - 8));
        if (header <= 0 || header >= file.Length) return [];   // an apphost that is not a bundle holds 0 there
        var at = (int)header;
        uint major = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at));
        int count = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(at + 8));
        Assert.True(major >= 6, $"bundle format {major}: this reader knows 6 and later (.NET 6+)");
        Assert.InRange(count, 1, MaxBundledFiles);
        at += 12;
        ReadString(file, ref at);   // bundle id
        at += 5 * 8;                // deps.json offset/size, runtimeconfig.json offset/size, flags
        var names = new List<string>(count);
        for (int i = 0; i < count; i++)
        {
            at += 3 * 8 + 1;        // offset, size, compressed size, file type
            names.Add(ReadString(file, ref at));
        }
        return names;
    }

    /// <summary>A string as BinaryWriter writes it: 7-bit encoded length, then UTF-8.</summary>
    private static string ReadString(byte[] file, ref int at)
    {
        int length = 0;
        for (int shift = 0; shift < 35; shift += 7)
        {
            byte b = file[at++];
            length |= (b & 0x7F) << shift;
            if (b < 0x80) break;
        }
        string s = Encoding.UTF8.GetString(file, at, length);
        at += length;
        return s;
    }

    /// <summary>A self-contained single-file vmdkmount.exe for x64 Windows, with our assemblies and the runtime inside.</summary>
    public static void AssertSingleFileVmdkmount(string exe)
    {
        var pe = Read(exe);
        Assert.Equal(MachineAmd64, pe.Machine);
        Assert.Equal(Pe32Plus, pe.OptionalMagic);
        Assert.Equal(SubsystemConsole, pe.Subsystem);
        foreach (var name in new[] { "vmdkmount.dll", "VmdkMount.Core.dll", "System.Private.CoreLib.dll", "vmdkmount.runtimeconfig.json" })
            Assert.Contains(name, pe.BundledFiles);
        // the runtime and every managed assembly inside: tens of MB, not the ~150 KB of a framework-dependent apphost
        Assert.True(new FileInfo(exe).Length > 30_000_000, $"{exe}: {new FileInfo(exe).Length} bytes, too small for a self-contained bundle");
    }
}
