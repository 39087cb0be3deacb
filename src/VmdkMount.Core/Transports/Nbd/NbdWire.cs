using System.Buffers.Binary;

namespace VmdkMount.Core.Transports.Nbd;

/// <summary>
/// The numbers of the NBD protocol (NetworkBlockDevice `doc/proto.md`; digest in shared/docs/transports.md sections
/// 1-2). All integers on the wire are big-endian.
/// </summary>
internal static class NbdWire
{
    public const ulong InitPasswd = 0x4E42444D41474943;      // "NBDMAGIC"
    public const ulong OptMagic = 0x49484156454F5054;        // "IHAVEOPT"
    public const ulong OldstyleMagic = 0x0000420281861253;
    public const ulong OptReplyMagic = 0x0003E889045565A9;
    public const uint RequestMagic = 0x25609513;
    public const uint SimpleReplyMagic = 0x67446698;
    public const uint ChunkMagic = 0x668E33EF;

    // handshake flags (server) and client flags
    public const ushort FlagFixedNewstyle = 1, FlagNoZeroes = 2;

    // options
    public const uint OptExportName = 1, OptAbort = 2, OptStartTls = 5, OptGo = 7, OptStructuredReply = 8, OptSetMetaContext = 10;

    // option reply types
    public const uint RepAck = 1, RepInfo = 3, RepMetaContext = 4;
    public const uint RepErrBit = 0x80000000;
    public const uint ErrUnsup = 0x80000001, ErrPolicy = 0x80000002, ErrInvalid = 0x80000003, ErrPlatform = 0x80000004,
        ErrTlsReqd = 0x80000005, ErrUnknown = 0x80000006, ErrShutdown = 0x80000007, ErrBlockSizeReqd = 0x80000008,
        ErrTooBig = 0x80000009;

    // NBD_INFO types
    public const ushort InfoExport = 0, InfoBlockSize = 3;

    // transmission flags
    public const ushort TxHasFlags = 0x0001, TxCanMultiConn = 0x0100;

    // commands
    public const ushort CmdRead = 0, CmdDisc = 2, CmdBlockStatus = 7;

    // structured reply chunk types and flags
    public const ushort ReplyFlagDone = 1;
    public const ushort ChunkNone = 0, ChunkOffsetData = 1, ChunkOffsetHole = 2, ChunkBlockStatus = 5,
        ChunkError = 0x8001, ChunkErrorOffset = 0x8002, ChunkErrorBit = 0x8000;

    // base:allocation status bits
    public const uint StateHole = 1, StateZero = 2, StateHoleZero = StateHole | StateZero;

    public const string BaseAllocation = "base:allocation";

    public const int RequestSize = 28, SimpleReplySize = 16, ChunkHeaderSize = 20, OptionReplyHeaderSize = 20;

    public static void WriteRequest(Span<byte> d, ushort flags, ushort type, ulong cookie, ulong offset, uint length)
    {
        BinaryPrimitives.WriteUInt32BigEndian(d, RequestMagic);
        BinaryPrimitives.WriteUInt16BigEndian(d[4..], flags);
        BinaryPrimitives.WriteUInt16BigEndian(d[6..], type);
        BinaryPrimitives.WriteUInt64BigEndian(d[8..], cookie);
        BinaryPrimitives.WriteUInt64BigEndian(d[16..], offset);
        BinaryPrimitives.WriteUInt32BigEndian(d[24..], length);
    }

    /// <summary>An NBD error value as text: `EIO (5)`.</summary>
    public static string ErrorName(uint error) => error switch
    {
        1 => "EPERM (1)",
        5 => "EIO (5)",
        12 => "ENOMEM (12)",
        22 => "EINVAL (22)",
        28 => "ENOSPC (28)",
        75 => "EOVERFLOW (75)",
        95 => "ENOTSUP (95)",
        108 => "ESHUTDOWN (108)",
        _ => $"error {error}",
    };

    /// <summary>An option reply type as text: `ERR_UNKNOWN`.</summary>
    public static string ReplyName(uint type) => type switch
    {
        RepAck => "ACK",
        RepInfo => "INFO",
        RepMetaContext => "META_CONTEXT",
        ErrUnsup => "ERR_UNSUP",
        ErrPolicy => "ERR_POLICY",
        ErrInvalid => "ERR_INVALID",
        ErrPlatform => "ERR_PLATFORM",
        ErrTlsReqd => "ERR_TLS_REQD",
        ErrUnknown => "ERR_UNKNOWN",
        ErrShutdown => "ERR_SHUTDOWN",
        ErrBlockSizeReqd => "ERR_BLOCK_SIZE_REQD",
        ErrTooBig => "ERR_TOO_BIG",
        _ => $"reply type 0x{type:X8}",
    };
}
