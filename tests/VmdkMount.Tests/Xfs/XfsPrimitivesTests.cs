using System.Text;
using VmdkMount.Core.FileSystems.Xfs;

namespace VmdkMount.Tests.Xfs;

/// <summary>The two functions every index and every v5 block depend on, against the vectors xfs.md measured.</summary>
public class XfsPrimitivesTests
{
    [Theory]
    [InlineData(".", 0x2eu)]
    [InlineData("..", 0x172eu)]
    [InlineData("sf", 0x39e6u)]
    [InlineData("abc", 0x187163u)]
    [InlineData("abcd", 0x0c38b1e4u)]
    [InlineData("abcde", 0x1c58f263u)]
    [InlineData("ünïcödé-名前.txt", 0x7910ce2du)]
    [InlineData("blk", 0x0018b66bu)]
    [InlineData("frag_btree.bin", 0x801d462cu)]
    public void Da_hash_matches_xfs_db(string name, uint expected) =>
        Assert.Equal(expected, XfsDaHash.Hash(Encoding.UTF8.GetBytes(name), asciiCi: false));

    [Fact]
    public void Ascii_ci_hash_folds_upper_case()
    {
        Assert.Equal(0xf1720973u, XfsDaHash.Hash("File_Name_1"u8, asciiCi: true));
        Assert.Equal(XfsDaHash.Hash("file_name_1"u8, false), XfsDaHash.Hash("FILE_NAME_1"u8, true));
    }

    [Fact]
    public void Crc32c_has_the_castagnoli_check_value()
    {
        // the CRC field taken as zero: append 4 zero bytes at the CRC's place and compute over all
        var data = Encoding.ASCII.GetBytes("123456789");
        Assert.Equal(0xE3069283u, ~XfsCrc.Update(0xFFFFFFFFu, data));
    }
}
