using VmdkMount.Core.Disks;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Transports;

/// <summary>
/// nbds:// against qemu-nbd --tls-creds and nbdkit --tls=require, with a CA and a server certificate made by certtool
/// at test time: thumbprint pins in every VMware form, --ca, and the errors a user must be able to act on.
/// </summary>
public sealed class NbdTlsTests : IDisposable
{
    private readonly string _dir = RepoPaths.NewScratch("nbd-tls");
    private readonly string _image;

    public NbdTlsTests()
    {
        _image = Path.Combine(_dir, "disk.raw");
        Tool.Bash($"""
            cd '{_dir}'
            head -c 3M /dev/urandom > disk.raw
            certtool --generate-privkey --outfile ca-key.pem 2>/dev/null
            printf 'cn = VmdkMount Test CA\nca\ncert_signing_key\nexpiration_days = 30\n' > ca.info
            certtool --generate-self-signed --load-privkey ca-key.pem --template ca.info --outfile ca-cert.pem 2>/dev/null
            certtool --generate-privkey --outfile server-key.pem 2>/dev/null
            printf 'organization = VmdkMount Test\ncn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\ntls_www_server\nencryption_key\nsigning_key\nexpiration_days = 30\n' > server.info
            certtool --generate-certificate --load-ca-certificate ca-cert.pem --load-ca-privkey ca-key.pem \
                     --load-privkey server-key.pem --template server.info --outfile server-cert.pem 2>/dev/null
            """);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private NbdServer QemuTls(bool verifyPeer = false) => NbdServer.Qemu(_image, "disk", "raw", false,
        "--object", $"tls-creds-x509,id=tls0,endpoint=server,dir={_dir},verify-peer={(verifyPeer ? "on" : "off")}", "--tls-creds=tls0");

    /// <summary>`openssl x509 -fingerprint`, the independent oracle: `AB:CD:...`.</summary>
    private string Fingerprint(string algorithm) =>
        Tool.Run("openssl", "x509", "-in", Path.Combine(_dir, "server-cert.pem"), "-noout", "-fingerprint", "-" + algorithm).StdOut.Trim().Split('=')[1];

    private IVirtualDisk Open(string uri, string? thumbprint = null, string? ca = null) =>
        DiskOpener.Open(uri, new DiskOpenOptions { Remote = new RemoteOptions { Thumbprint = thumbprint, CaFile = ca, Timeout = TimeSpan.FromSeconds(10) }, BlockCache = false, ReadAhead = false });

    private void ReadsLikeTheImage(IVirtualDisk disk)
    {
        var all = new byte[disk.Length];
        Assert.Equal(all.Length, disk.ReadAt(0, all));
        Assert.Equal(Hashing.Sha256File(_image), Hashing.Sha256(all));
    }

    [Fact]
    public void A_pinned_qemu_nbd_server_reads_like_the_image_with_every_thumbprint_form()
    {
        using var server = QemuTls();
        string uri = server.Uri("disk", tls: true);
        foreach (var algorithm in new[] { "sha1", "sha224", "sha256", "sha384", "sha512" })
        {
            using var disk = Open(uri, Fingerprint(algorithm));
            ReadsLikeTheImage(disk);
        }
        string sha256 = Fingerprint("sha256");
        using (var lower = Open(uri, "sha256:" + sha256.Replace(":", "").ToLowerInvariant())) ReadsLikeTheImage(lower);
        using (var spaced = Open(uri, Fingerprint("sha1").Replace(':', ' ').ToLowerInvariant())) ReadsLikeTheImage(spaced);
    }

    [Fact]
    public void A_wrong_pin_is_refused_and_the_error_shows_the_thumbprint_seen_in_the_same_form()
    {
        using var server = QemuTls();
        string uri = server.Uri("disk", tls: true);
        string sha1 = Fingerprint("sha1");
        string wrong = (sha1[0] == 'A' ? "B" : "A") + sha1[1..];
        var e = Assert.Throws<SourceUnavailableException>(() => Open(uri, wrong));
        Assert.Contains($"thumbprint is {sha1}, not {wrong}", e.Message);
        string sha256 = Fingerprint("sha256");
        var prefixed = Assert.Throws<SourceUnavailableException>(() => Open(uri, "sha256:" + new string('0', 64)));
        Assert.Contains($"thumbprint is sha256:{sha256}", prefixed.Message);
        var cli = OurCli.Run("volumes", uri, "--thumbprint", wrong);
        Assert.Equal(2, cli.ExitCode);
        Assert.Contains(sha1, cli.StdErr);
        var bad = OurCli.Run("volumes", uri, "--thumbprint", "AB:CD:EF");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("3 bytes is no known hash", bad.StdErr);
    }

    [Fact]
    public void A_ca_file_verifies_the_server_and_without_trust_the_error_offers_the_thumbprint()
    {
        using var server = QemuTls();
        string uri = server.Uri("disk", tls: true);
        using (var disk = Open(uri, ca: Path.Combine(_dir, "ca-cert.pem"))) ReadsLikeTheImage(disk);
        var e = Assert.Throws<SourceUnavailableException>(() => Open(uri));
        Assert.Contains("not trusted", e.Message);
        Assert.Contains(Fingerprint("sha256"), e.Message);
        // a CA that did not sign the server's certificate
        string other = Path.Combine(_dir, "other");
        Directory.CreateDirectory(other);
        Tool.Bash($"cd '{other}' && certtool --generate-privkey --outfile k.pem 2>/dev/null && printf 'cn = Other CA\\nca\\ncert_signing_key\\n' > i && certtool --generate-self-signed --load-privkey k.pem --template i --outfile ca.pem 2>/dev/null");
        var wrongCa = Assert.Throws<SourceUnavailableException>(() => Open(uri, ca: Path.Combine(other, "ca.pem")));
        Assert.Contains("does not chain to --ca", wrongCa.Message);
    }

    [Fact]
    public void Tls_and_plain_servers_say_what_to_use_instead()
    {
        using (var tlsOnly = QemuTls())
        {
            var e = Assert.Throws<SourceUnavailableException>(() => Open(tlsOnly.Uri("disk")));
            Assert.Contains("requires TLS, use nbds://", e.Message);
        }
        using (var plain = NbdServer.Qemu(_image))
        {
            var e = Assert.Throws<SourceUnavailableException>(() => Open(plain.Uri("disk", tls: true), Fingerprint("sha256")));
            Assert.Contains("refused STARTTLS", e.Message);
        }
        using (var verifying = QemuTls(verifyPeer: true))
        {
            var e = Assert.Throws<SourceUnavailableException>(() => Open(verifying.Uri("disk", tls: true), Fingerprint("sha256")));
            Assert.Contains("client certificate", e.Message);
        }
        Assert.Throws<ArgumentException>(() => Open("nbd://127.0.0.1:1/x", Fingerprint("sha256")));
    }

    [Fact]
    public void Nbdkit_with_tls_required_reads_like_the_image_through_the_cli()
    {
        using var server = NbdServer.Nbdkit("--tls=require", $"--tls-certificates={_dir}", "file", _image);
        string uri = server.Uri("", tls: true);
        var map = OurCli.Run("map", uri, "--json", "--thumbprint", Fingerprint("sha1").ToLowerInvariant());
        Assert.True(map.ExitCode == 0, map.StdErr);
        Assert.Contains("\"capacity\":3145728", map.StdOut);
        using var disk = Open(uri, ca: Path.Combine(_dir, "ca-cert.pem"));
        ReadsLikeTheImage(disk);
    }
}
