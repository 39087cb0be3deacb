using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Vmdk;

/// <summary>
/// A hand-written twoGbMaxExtentSparse descriptor: a 64 MiB qemu-made sparse extent holding 1 MiB of 0xab at offset 0,
/// then a ZERO extent up to <paramref name="capacity"/>. qemu-img 7.2 parses the descriptor but skips ZERO lines
/// (it knows FLAT, SPARSE, VMFS, VMFSSPARSE, SESPARSE only), so qemu proves the sparse part and our reader the rest.
/// </summary>
internal static class ZeroExtentDisk
{
    public const long DataBytes = 1L << 20;
    private const long SparseBytes = 64L << 20;

    /// <summary>Writes data.vmdk and big.vmdk into <paramref name="folder"/> and returns the descriptor's path.</summary>
    public static string Make(string folder, long capacity)
    {
        string data = Path.Combine(folder, "data.vmdk"), descriptor = Path.Combine(folder, "big.vmdk");
        Tool.Run("qemu-img", "create", "-q", "-f", "vmdk", data, $"{SparseBytes}");
        Tool.Run("qemu-io", "-f", "vmdk", "-c", $"write -P 0xab 0 {DataBytes}", data);
        File.WriteAllText(descriptor, $"""
            # Disk DescriptorFile
            version=1
            CID=12345678
            parentCID=ffffffff
            createType="twoGbMaxExtentSparse"

            # Extent description
            RW {SparseBytes / 512} SPARSE "data.vmdk"
            RW {(capacity - SparseBytes) / 512} ZERO

            ddb.virtualHWVersion = "4"
            ddb.adapterType = "lsilogic"

            """);
        return descriptor;
    }
}
