using System.Buffers;
using VmdkMount.Core.Disks;

namespace VmdkMount.Core.Transports.Nbd;

/// <summary>
/// An NBD export read as a flattened disk: volumes and filesystems are read straight from it, like a raw image. Reads
/// are aligned to the server's minimum block size and split into requests of at most
/// <see cref="RequestBytes"/> (the smaller of --max-request and the server's maximum, a multiple of its preferred
/// size where it can be). Allocation comes from NBD_CMD_BLOCK_STATUS on `base:allocation` when the server offers it;
/// otherwise every byte counts as allocated. Thread-safe: many reads share one connection, in flight together.
/// </summary>
public sealed class NbdDisk : IVirtualDisk
{
    /// <summary>Largest BLOCK_STATUS length asked for (the spec's loop bound, below 2^31).</summary>
    private const long MaxStatusRequest = 0x7FFFF000;

    private readonly NbdConnection _connection;
    private readonly long _minimum;

    private NbdDisk(NbdUri uri, NbdConnection connection, RemoteOptions options)
    {
        _connection = connection;
        Uri = uri;
        _minimum = connection.MinimumBlock;
        long limit = options.MaxRequestBytes;
        // without advertised sizes the spec's portable limit is 32 MiB, which --max-request never exceeds
        if (connection.MaximumPayload is { } max) limit = Math.Min(limit, max);
        long preferred = connection.PreferredBlock;
        if (connection.HasBlockSizes && limit >= preferred) limit = limit / preferred * preferred;
        limit = Math.Max(_minimum, limit / _minimum * _minimum);
        RequestBytes = (int)limit;
    }

    /// <summary>Connects and does the handshake; a server that cannot be reached or refuses raises <see cref="Errors.SourceUnavailableException"/>.</summary>
    public static NbdDisk Open(string source, RemoteOptions? options = null)
    {
        options = (options ?? new RemoteOptions()).Validated();
        var uri = NbdUri.Parse(source);
        if (!uri.Tls && (options.Thumbprint is not null || options.CaFile is not null))
            throw new ArgumentException($"{source}: --thumbprint and --ca are for TLS: use nbds://");
        var connection = NbdConnection.Open(uri, options);
        return new NbdDisk(uri, connection, options);
    }

    public NbdUri Uri { get; }

    public string Source => Uri.Text;

    public long Length => _connection.ExportSize;

    /// <summary>The largest read sent in one request.</summary>
    public int RequestBytes { get; }

    /// <summary>The server's minimum block size (1 when it advertises none).</summary>
    public long MinimumBlock => _minimum;

    /// <summary>Whether replies are structured (holes arrive as holes, errors carry text).</summary>
    public bool StructuredReplies => _connection.Structured;

    /// <summary>Whether allocation comes from the server (base:allocation) rather than "all data".</summary>
    public bool HasBlockStatus => _connection.AllocationContext is not null;

    public IReadOnlyList<string> Warnings => [];

    public IReadOnlyList<string> SourceFiles => [];

    public int ReadAt(long offset, Span<byte> destination)
    {
        if (offset < 0) throw new ArgumentOutOfRangeException(nameof(offset));
        if (offset >= Length || destination.IsEmpty) return 0;
        int count = (int)Math.Min(destination.Length, Length - offset);
        int done = 0;
        while (done < count)
        {
            long pos = offset + done;
            long start = pos / _minimum * _minimum;
            long end = Math.Min(Math.Min(start + RequestBytes, AlignUp(offset + count)), Length);
            int length = (int)(end - start);
            byte[] buffer = ArrayPool<byte>.Shared.Rent(length);
            bool released = false;
            try
            {
                _connection.Read(start, length, buffer, out released);
                int take = (int)Math.Min(end - pos, count - done);
                buffer.AsSpan((int)(pos - start), take).CopyTo(destination[done..]);
                done += take;
            }
            finally
            {
                if (released) ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        return count;
    }

    public IEnumerable<AllocatedRange> QueryAllocated(long offset, long length)
    {
        long end = Math.Min(Length, offset + length);
        if (offset < 0 || end <= offset) yield break;
        if (!HasBlockStatus)
        {
            yield return new AllocatedRange(offset, end - offset);
            yield break;
        }
        long pos = offset, runStart = -1, runEnd = -1;
        while (pos < end)
        {
            long start = pos / _minimum * _minimum;
            long askEnd = Math.Min(Math.Min(AlignUp(end), Length), start + MaxStatusRequest / _minimum * _minimum);
            var extents = _connection.BlockStatus(start, (int)(askEnd - start));
            long at = start;
            foreach (var e in extents)
            {
                long next = Math.Min(at + e.Length, askEnd);   // nbdkit answers past the request: clamp
                long from = Math.Max(at, pos), to = Math.Min(next, end);
                if ((e.Flags & NbdWire.StateHole) == 0 && to > from)
                {
                    if (from == runEnd) runEnd = to;
                    else
                    {
                        if (runStart >= 0) yield return new AllocatedRange(runStart, runEnd - runStart);
                        (runStart, runEnd) = (from, to);
                    }
                }
                at = next;
                if (at >= askEnd) break;
            }
            if (at <= pos)
                throw new TransportException($"{Source}: block status of {askEnd - start} bytes at {start}: protocol error: the answer ends at {at}, before {pos}");
            pos = at;
        }
        if (runStart >= 0) yield return new AllocatedRange(runStart, runEnd - runStart);
    }

    private long AlignUp(long value) => (value + _minimum - 1) / _minimum * _minimum;

    public void Dispose() => _connection.Dispose();
}
