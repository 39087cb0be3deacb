using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Transports;

/// <summary>https:// against nginx with `ssl http2` and a CA and server certificate made by certtool: --ca, --thumbprint, refusal.</summary>
public sealed class HttpTlsTests : HttpChainTestBase
{
    private readonly string _tls;

    public HttpTlsTests()
    {
        _tls = Path.Combine(_dir, "tls");
        Directory.CreateDirectory(_tls);
        Tool.Bash($"""
            cd '{_tls}'
            certtool --generate-privkey --outfile ca-key.pem 2>/dev/null
            printf 'cn = VmdkMount Test CA\nca\ncert_signing_key\nexpiration_days = 30\n' > ca.info
            certtool --generate-self-signed --load-privkey ca-key.pem --template ca.info --outfile ca-cert.pem 2>/dev/null
            certtool --generate-privkey --outfile server-key.pem 2>/dev/null
            printf 'organization = VmdkMount Test\ncn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\ntls_www_server\nencryption_key\nsigning_key\nexpiration_days = 30\n' > server.info
            certtool --generate-certificate --load-ca-certificate ca-cert.pem --load-ca-privkey ca-key.pem \
                     --load-privkey server-key.pem --template server.info --outfile server-cert.pem 2>/dev/null
            """);
    }

    [Fact]
    public void An_https_chain_reads_over_http2_with_the_ca_or_a_pinned_thumbprint_and_is_refused_untrusted()
    {
        Serve();
        using var server = StartServer(_tls);
        string url = server.TlsUrl("vm%201/" + Top);
        using (var disk = Open(url, new RemoteOptions { CaFile = Path.Combine(_tls, "ca-cert.pem") }))
            Assert.Equal(Expected, HashAll(disk, 4 << 20));
        Assert.True(server.CountRequests("HTTP/2.0") > 0, "no request went over HTTP/2");
        string sha256 = Tool.Run("openssl", "x509", "-in", Path.Combine(_tls, "server-cert.pem"), "-noout", "-fingerprint", "-sha256").StdOut.Trim().Split('=')[1];
        var pinned = OurCli.Run("ls", url, "p1:/docs", "--thumbprint", sha256);
        Assert.True(pinned.ExitCode == 0, pinned.StdErr);
        Assert.Contains("new.txt", pinned.StdOut);
        var untrusted = OurCli.Run("info", url, "--json");
        Assert.Equal(2, untrusted.ExitCode);
        Assert.Contains("not trusted", untrusted.StdErr);
        Assert.Contains(sha256, untrusted.StdErr);   // what to compare with the server's before pinning it
        // no half a JSON document: with --json a failure is one whole error document
        var error = System.Text.Json.JsonDocument.Parse(untrusted.StdOut).RootElement.GetProperty("error");
        Assert.Contains("not trusted", error.GetProperty("message").GetString());
    }
}
