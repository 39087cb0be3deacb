namespace VmdkMount.Dokan;

/// <summary>Choices of the Dokan frontend that do not change what the mount holds.</summary>
public sealed record DokanAdapterOptions
{
    /// <summary>
    /// FILE_ATTRIBUTE_OFFLINE on every file: Explorer then does not open files to draw thumbnails or read their
    /// properties, which over a remote source (HTTP, NBD) would read whole files just to show a folder. Set for
    /// remote-backed mounts unless --no-offline.
    /// </summary>
    public bool OfflineFiles { get; init; }

    /// <summary>A read still going after this long asks Dokan for more time (DokanResetTimeout), then again each time as long.</summary>
    public TimeSpan KeepAliveAfter { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How much more time each DokanResetTimeout asks for (the session's request timeout).</summary>
    public uint KeepAliveMilliseconds { get; init; } = 30_000;

    /// <summary>A long read is served in pieces of this size, so the keep-alive is checked between them.</summary>
    public int ReadChunk { get; init; } = 1 << 20;

    /// <summary>Folders whose missed names are remembered, and names remembered per folder (see <see cref="NegativeCache"/>).</summary>
    public int NegativeCacheFolders { get; init; } = 4096;

    public int NegativeCacheNamesPerFolder { get; init; } = 64;
}
