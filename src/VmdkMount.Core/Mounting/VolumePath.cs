
namespace VmdkMount.Core.Mounting;

/// <summary>
/// A `VOL:/path[:stream]` argument as the CLI takes it: `p2:/Windows/win.ini`, `p2:/dir/file:Zone.Identifier`.
/// A path component may itself contain `:` only as the stream separator of the last component. A bare id (`p1`) is
/// that volume's root.
/// </summary>
public readonly record struct VolumePath(string Volume, string Path, string? Stream)
{
    public static VolumePath Parse(string text)
    {
        int colon = text.IndexOf(':');
        // a bare volume id means its root: `p1` is `p1:/`
        if (colon < 0 && text.Length > 0 && text.AsSpan().IndexOfAny('/', '\\') < 0) return new VolumePath(text, "/", null);
        if (colon <= 0)
            throw new ArgumentException($"'{text}' is not VOL:/path (for example p1:/ or p2:/Windows/win.ini)");
        string volume = text[..colon];
        string rest = text[(colon + 1)..];
        if (rest.Length == 0) rest = "/";
        if (rest[0] != '/') rest = "/" + rest;
        string? stream = null;
        int lastSlash = rest.LastIndexOf('/');
        int streamColon = rest.IndexOf(':', lastSlash + 1);
        if (streamColon >= 0)
        {
            stream = rest[(streamColon + 1)..];
            rest = rest[..streamColon];
            if (stream.Length == 0) stream = null;
        }
        return new VolumePath(volume, rest, stream);
    }

    /// <summary>The non-empty components of <see cref="Path"/>, with `.` dropped.</summary>
    public static string[] Components(string path) =>
        path.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(c => c != ".").ToArray();

    public override string ToString() => Stream is null ? $"{Volume}:{Path}" : $"{Volume}:{Path}:{Stream}";
}
