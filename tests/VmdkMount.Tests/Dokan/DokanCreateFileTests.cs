using VmdkMount.Dokan;
using Xunit;
using H = VmdkMount.Tests.Dokan.DokanHarness;

namespace VmdkMount.Tests.Dokan;

/// <summary>ZwCreateFile as Windows expects it of a read-only volume, over the ext4 and NTFS images side by side.</summary>
public sealed unsafe class DokanCreateFileTests : IDisposable
{
    private readonly DokanImages _m = new([("p1", DokanImages.Ntfs, "ntfs"), ("p2", DokanImages.Ext, "ext4")]);
    private H D => _m.Dokan;

    public void Dispose() => _m.Dispose();

    private const uint GenericWrite = 0x40000000, FileWriteData = 0x2, FileAppendData = 0x4, FileWriteAttributes = 0x100, Delete = 0x10000,
        WriteDac = 0x40000, GenericAll = 0x10000000;

    [Fact]
    public void Volume_folders_sit_at_the_root_and_compare_without_case()
    {
        Assert.Equal(["p1", "p2"], D.Names(@"\"));
        Assert.Equal("hello resident\n", System.Text.Encoding.UTF8.GetString(D.ReadAll(@"\P1\Small.txt")));
        Assert.Equal("only\n", System.Text.Encoding.UTF8.GetString(D.ReadAll(@"\p2\docs\Only.TXT")));
        Assert.Equal(NtStatus.Success, D.Create(@"\", out var root));
        Assert.True(root.IsDirectory);
        D.Close(root);
    }

    [Theory]
    [InlineData(@"\p2\docs\nope.txt", NtStatus.ObjectNameNotFound)]
    [InlineData(@"\p2\nodir\x.txt", NtStatus.ObjectPathNotFound)]
    [InlineData(@"\p2\docs\Only.TXT\x", NtStatus.ObjectPathNotFound)]
    [InlineData(@"\p3\x", NtStatus.ObjectPathNotFound)]
    [InlineData(@"\p3", NtStatus.ObjectNameNotFound)]
    [InlineData(@"\p2\docs\..\big.bin", NtStatus.ObjectNameInvalid)]
    [InlineData(@"\p1\dir1\sub:s\x", NtStatus.ObjectNameInvalid)]
    public void Missing_names_and_paths(string path, uint expected) => Assert.Equal(expected, D.Probe(path));

    [Fact]
    public void Folders_and_files_refuse_the_other_kind_of_open()
    {
        Assert.Equal(NtStatus.Success, D.Create(@"\p2\docs", out var dir));
        Assert.True(dir.IsDirectory);
        D.Close(dir);
        Assert.Equal(NtStatus.Success, D.Create(@"\p2\big.bin", out var file));
        Assert.False(file.IsDirectory);
        D.Close(file);
        Assert.Equal(NtStatus.FileIsADirectory, D.Probe(@"\p2\docs", options: DokanAdapter.FileNonDirectoryFile));
        Assert.Equal(NtStatus.NotADirectory, D.Probe(@"\p2\big.bin", options: DokanAdapter.FileDirectoryFile));
        Assert.Equal(NtStatus.Success, D.Probe(@"\p2\docs", options: DokanAdapter.FileDirectoryFile));
        Assert.Equal(NtStatus.Success, D.Probe(@"\p2\big.bin", options: DokanAdapter.FileNonDirectoryFile));
    }

    [Theory]
    [InlineData(GenericWrite)]
    [InlineData(FileWriteData)]
    [InlineData(FileAppendData)]
    [InlineData(FileWriteAttributes)]
    [InlineData(Delete)]
    [InlineData(WriteDac)]
    [InlineData(GenericAll)]
    public void Any_write_access_is_write_protected(uint access)
    {
        Assert.Equal(NtStatus.MediaWriteProtected, D.Probe(@"\p2\big.bin", access: H.ReadAccess | access));
        Assert.Equal(NtStatus.MediaWriteProtected, D.Probe(@"\p1\dir1", access: H.ReadAccess | access));
    }

    [Fact]
    public void Dispositions_that_would_create_or_replace_are_write_protected()
    {
        Assert.Equal(NtStatus.ObjectNameCollision, D.Probe(@"\p2\big.bin", disposition: DokanAdapter.FileCreate));
        Assert.Equal(NtStatus.MediaWriteProtected, D.Probe(@"\p2\new.txt", disposition: DokanAdapter.FileCreate));
        Assert.Equal(NtStatus.MediaWriteProtected, D.Probe(@"\p2\big.bin", disposition: DokanAdapter.FileOverwrite));
        Assert.Equal(NtStatus.MediaWriteProtected, D.Probe(@"\p2\big.bin", disposition: DokanAdapter.FileOverwriteIf));
        Assert.Equal(NtStatus.MediaWriteProtected, D.Probe(@"\p2\big.bin", disposition: DokanAdapter.FileSupersede));
        Assert.Equal(NtStatus.Success, D.Probe(@"\p2\big.bin", disposition: DokanAdapter.FileOpenIf));
        Assert.Equal(NtStatus.MediaWriteProtected, D.Probe(@"\p2\new.txt", disposition: DokanAdapter.FileOpenIf));
        Assert.Equal(NtStatus.ObjectPathNotFound, D.Probe(@"\p2\nodir\new.txt", disposition: DokanAdapter.FileCreate));
        Assert.Equal(NtStatus.MediaWriteProtected, D.Probe(@"\p1\small.txt:newstream", disposition: DokanAdapter.FileCreate));
        Assert.Equal(NtStatus.MediaWriteProtected, D.Probe(@"\p2\big.bin", options: DokanAdapter.FileDeleteOnClose));
        Assert.Equal(0, _m.Adapter.OpenHandles);
    }

    [Theory]
    [InlineData("WriteFile")]
    [InlineData("FlushFileBuffers")]
    [InlineData("SetFileAttributes")]
    [InlineData("SetFileTime")]
    [InlineData("DeleteFile")]
    [InlineData("DeleteDirectory")]
    [InlineData("MoveFile")]
    [InlineData("SetEndOfFile")]
    [InlineData("SetAllocationSize")]
    [InlineData("SetFileSecurity")]
    public void Every_write_operation_is_write_protected(string operation) =>
        Assert.Equal(NtStatus.MediaWriteProtected, D.WriteOperation(operation));

    [Fact]
    public void Reading_a_folder_is_an_invalid_request_and_a_closed_handle_is_invalid()
    {
        Assert.Equal(NtStatus.Success, D.Create(@"\p2\docs", out var dir));
        Assert.Equal(NtStatus.InvalidDeviceRequest, D.Read(dir, 0, new byte[10], out _));
        D.Close(dir);
        Assert.Equal(NtStatus.Success, D.Create(@"\p2\big.bin", out var file));
        var info = file.Info;
        ulong context = info->Context;
        D.Close(file);
        using var stale = new DokanHarness.Handle(D.NewInfo(), @"\p2\big.bin");
        stale.Info->Context = context;
        Assert.Equal(NtStatus.InvalidHandle, D.Read(stale, 0, new byte[10], out _));
    }

    [Fact]
    public void Volume_information_of_a_multi_volume_mount()
    {
        Assert.Equal(NtStatus.Success, D.Volume(out string label, out _, out _, out uint flags, out string fs));
        Assert.Equal("basic", label); // the disk file's name
        Assert.NotEqual(0u, flags & DokanAdapter.NamedStreams); // p1 is NTFS
        Assert.Equal("NTFS", fs);
    }
}
