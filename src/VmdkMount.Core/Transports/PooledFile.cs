using Microsoft.Win32.SafeHandles;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Transports;

/// <summary>
/// A local file read through a <see cref="FileHandlePool"/>: positional, thread-safe reads; the handle is opened on
/// demand and may be closed by the pool between reads. The file is assumed not to change while it is open.
/// </summary>
public sealed class PooledFile : ISourceFile
{
    private readonly FileHandlePool _pool;

    // Guarded by the pool's lock.
    internal SafeFileHandle? Handle;
    internal LinkedListNode<PooledFile>? Node;
    internal int Users;
    internal bool Disposed;
    // The handle of the checked first open, until the pool takes it over.
    internal SafeFileHandle? FirstOpen;

    internal PooledFile(FileHandlePool pool, OpenedFile opened)
    {
        _pool = pool;
        Opened = opened;
        Name = opened.Path;
        Length = opened.Length;
        FirstOpen = opened.Handle;
        Acquire();
        _pool.Release(this);
    }

    /// <summary>The first open: real path and identity, which every reopen must match.</summary>
    internal OpenedFile Opened { get; }

    public string Name { get; }

    /// <summary>Where the file really is (links and `..` resolved), for the folder and --confine checks of its users.</summary>
    public string RealName => Opened.RealPath;

    public long Length { get; }

    public int ReadAt(long offset, Span<byte> destination)
    {
        if (offset < 0) throw new ContractViolationException($"{RealName}: read at negative offset {offset}");
        if (offset >= Length || destination.IsEmpty) return 0;
        if (destination.Length > Length - offset) destination = destination[..(int)(Length - offset)];
        var handle = Acquire();
        try
        {
            int total = 0;
            while (total < destination.Length)
            {
                int n = RandomAccess.Read(handle, destination[total..], offset + total);
                if (n <= 0) break;
                total += n;
            }
            return total;
        }
        catch (IOException e)
        {
            throw new Errors.SourceUnavailableException(Name, $"read failed at offset {offset}: {e.Message}", e);
        }
        finally
        {
            _pool.Release(this);
        }
    }

    private SafeFileHandle Acquire() => _pool.Acquire(this);

    public void Dispose() => _pool.Dispose(this);

    public override string ToString() => Name;
}
