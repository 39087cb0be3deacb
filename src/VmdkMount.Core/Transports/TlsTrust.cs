using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Transports;

/// <summary>
/// Decides whether a TLS server's certificate is trusted: pinned by <c>--thumbprint</c> (replaces chain and name
/// checks, as VMware pins do), chained to <c>--ca FILE</c> (name checked), or else the system store. When it says no,
/// <see cref="Rejection"/> tells why, with the thumbprint seen in the form the user gave.
/// </summary>
internal sealed class TlsTrust
{
    private readonly CertificatePin? _pin;
    private readonly X509Certificate2Collection? _ca;

    public TlsTrust(string source, RemoteOptions options)
    {
        _pin = options.Thumbprint is { } t ? CertificatePin.Parse(t) : null;
        if (options.CaFile is { } file)
        {
            try
            {
                _ca = new X509Certificate2Collection();
                _ca.ImportFromPemFile(file);
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
            {
                throw new SourceUnavailableException(source, $"--ca {file}: cannot read CA certificates: {e.Message}", e);
            }
            if (_ca.Count == 0) throw new SourceUnavailableException(source, $"--ca {file}: no PEM certificate in it");
        }
    }

    public string? Rejection { get; private set; }

    public byte[]? Seen { get; private set; }

    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            Rejection = "the server sent no certificate";
            return false;
        }
        byte[] der = certificate.GetRawCertData();
        Seen = der;
        if (_pin is not null)
        {
            if (_pin.Matches(der)) return true;
            Rejection = $"the server's certificate thumbprint is {_pin.Format(_pin.Hash(der))}, not {_pin} (--thumbprint)";
            return false;
        }
        string sha256 = string.Join(':', SHA256.HashData(der).Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
        if (_ca is not null)
        {
            using var leaf = X509CertificateLoader.LoadCertificate(der);
            using var own = new X509Chain();
            own.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            own.ChainPolicy.CustomTrustStore.AddRange(_ca);
            own.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (chain is not null)
                foreach (var element in chain.ChainElements) own.ChainPolicy.ExtraStore.Add(element.Certificate);
            if (!own.Build(leaf))
            {
                string status = string.Join(", ", own.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
                Rejection = $"the server's certificate (SHA-256 {sha256}) does not chain to --ca: {status}";
                return false;
            }
            if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            {
                Rejection = $"the server's certificate (SHA-256 {sha256}) does not name the host of the URI (it names {leaf.GetNameInfo(X509NameType.DnsName, false)})";
                return false;
            }
            return true;
        }
        if (errors == SslPolicyErrors.None) return true;
        Rejection = $"the server's certificate is not trusted ({errors}); give --ca FILE, or pin it with --thumbprint {sha256} after checking it";
        return false;
    }
}
