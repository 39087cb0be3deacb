using System.Security.Cryptography;
using System.Text;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Transports.Nbd;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Transports;

/// <summary>NBD URIs as NetworkBlockDevice doc/uri.md spells them, the --timeout/--max-request values, and thumbprint pins.</summary>
public sealed class NbdUriAndPinTests
{
    [Theory]
    [InlineData("nbd://example.com/disk", false, "example.com", 10809, null, "disk")]
    [InlineData("nbd://example.com:10900/", false, "example.com", 10900, null, "")]
    [InlineData("nbd://example.com", false, "example.com", 10809, null, "")]
    [InlineData("nbd://h//disk", false, "h", 10809, null, "/disk")]
    [InlineData("nbd://h/hello%20world%231", false, "h", 10809, null, "hello world#1")]
    [InlineData("nbd://h/d%C3%AFsk", false, "h", 10809, null, "dïsk")]
    [InlineData("NBDS://[::1]:10810/x", true, "::1", 10810, null, "x")]
    [InlineData("nbd+unix:///my%20disk?socket=/tmp/a%20b.sock", false, null, 0, "/tmp/a b.sock", "my disk")]
    [InlineData("nbds+unix:///?socket=/run/nbd.sock", true, null, 0, "/run/nbd.sock", "")]
    public void Uris_parse_to_host_port_socket_and_export(string text, bool tls, string? host, int port, string? socket, string export)
    {
        Assert.True(NbdUri.IsNbd(text));
        var uri = NbdUri.Parse(text);
        Assert.Equal((tls, host, port, socket, export), (uri.Tls, uri.Host, uri.Port, uri.SocketPath, uri.ExportName));
    }

    [Theory]
    [InlineData("nbd://h:0/x", "port '0'")]
    [InlineData("nbd://h:99999/x", "port '99999'")]
    [InlineData("nbd://h:ab/x", "port 'ab'")]
    [InlineData("nbd:///x", "no host")]
    [InlineData("nbd://h/x?tls-psk-file=/k", "unknown query key 'tls-psk-file'")]
    [InlineData("nbd://h/x?socket=/s", "socket= belongs to nbd+unix")]
    [InlineData("nbd://alice@h/x", "TLS-PSK")]
    [InlineData("nbd://h/100%.img", "%XX")]
    [InlineData("nbd://h/a#b", "%23")]
    [InlineData("nbd://h/%FF", "not UTF-8")]
    [InlineData("nbd+unix:///x", "needs ?socket=PATH")]
    [InlineData("nbd+unix://host/x?socket=/s", "has no host")]
    [InlineData("nbd://[::1/x", "unclosed")]
    public void Malformed_uris_are_usage_errors_that_say_why(string text, string why)
    {
        var e = Assert.Throws<ArgumentException>(() => NbdUri.Parse(text));
        Assert.Contains(why, e.Message);
    }

    [Fact]
    public void Host_paths_are_not_nbd_uris()
    {
        Assert.False(NbdUri.IsNbd("/backups/nbd://x.vmdk"));
        Assert.False(NbdUri.IsNbd("disk.vmdk"));
        Assert.False(NbdUri.IsNbd("https://h/disk.vmdk"));
    }

    [Fact]
    public void Timeouts_and_request_sizes_parse_as_the_command_line_spells_them()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), RemoteOptions.ParseTimeout("30"));
        Assert.Equal(TimeSpan.FromSeconds(5), RemoteOptions.ParseTimeout("5s"));
        Assert.Equal(TimeSpan.FromMilliseconds(500), RemoteOptions.ParseTimeout("500ms"));
        Assert.Equal(TimeSpan.FromMinutes(2), RemoteOptions.ParseTimeout("2m"));
        Assert.Throws<ArgumentException>(() => RemoteOptions.ParseTimeout("0"));
        Assert.Throws<ArgumentException>(() => RemoteOptions.ParseTimeout("forever"));
        Assert.Equal(2 << 20, RemoteOptions.ParseSize("2M"));
        Assert.Equal(512 << 10, RemoteOptions.ParseSize("512K"));
        Assert.Equal(65536, RemoteOptions.ParseSize("65536"));
        Assert.Throws<ArgumentException>(() => RemoteOptions.ParseSize("64M"));
        Assert.Throws<ArgumentException>(() => new RemoteOptions { MaxRequestBytes = 100 }.Validated());
    }

    [Fact]
    public void Cli_rejects_bad_remote_options_before_connecting()
    {
        var r = OurCli.Run("map", "nbd://127.0.0.1:1/x", "--max-request", "1G");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--max-request", r.StdErr);
        r = OurCli.Run("map", "nbd://127.0.0.1:1/x", "--timeout", "never");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--timeout", r.StdErr);
    }

    [Fact]
    public void Pins_tell_the_hash_by_length_or_prefix_and_print_in_the_form_given()
    {
        byte[] der = Encoding.ASCII.GetBytes("not really a certificate");
        string Colons(byte[] d) => string.Join(':', d.Select(b => b.ToString("X2")));
        foreach (var (hash, name) in new[] { (SHA1.HashData(der), "sha1"), (SHA256.HashData(der), "sha256"), (SHA384.HashData(der), "sha384"), (SHA512.HashData(der), "sha512") })
        {
            var pin = CertificatePin.Parse(Colons(hash).ToLowerInvariant());
            Assert.Equal(name, pin.Algorithm);
            Assert.True(pin.Matches(der));
            Assert.Equal(Colons(hash), pin.ToString());
            var prefixed = CertificatePin.Parse(name + ":" + Convert.ToHexString(hash));
            Assert.True(prefixed.Matches(der));
            Assert.Equal(name + ":" + Colons(hash), prefixed.ToString());
        }
        Assert.Throws<ArgumentException>(() => CertificatePin.Parse("sha256:" + Convert.ToHexString(SHA1.HashData(der))));
        Assert.Throws<ArgumentException>(() => CertificatePin.Parse("md5:" + Convert.ToHexString(new byte[16])));
        Assert.Throws<ArgumentException>(() => CertificatePin.Parse("AB:CD:EG"));
    }

    [Fact]
    public void Sha224_agrees_with_openssl()
    {
        foreach (int n in new[] { 0, 1, 55, 56, 63, 64, 65, 1000 })
        {
            byte[] data = Enumerable.Range(0, n).Select(i => (byte)(i * 31 + 7)).ToArray();
            string expect = Tool.Run("openssl", ["dgst", "-sha224", "-r"], stdin: data).StdOut.Split(' ')[0];
            Assert.Equal(expect, Convert.ToHexString(CertificatePin.Sha224.Hash(data)).ToLowerInvariant());
        }
    }
}
