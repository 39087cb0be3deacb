using System.CommandLine;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Mounting;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Transports.Http;

namespace VmdkMount.Cli;

/// <summary>Arguments and options shared by the commands, and the one place that turns exceptions into exit codes.</summary>
internal static class CliCommon
{
    public static Argument<string> DiskArgument() =>
        new("DISK") { Description = "newest link of a VMDK chain (its parents are found from the descriptor), a raw image with --raw-input, an http(s):// URL of a VMDK (parents and extents beside it on the server), or nbd://host[:port]/export (nbds://, nbd+unix:///export?socket=PATH)" };

    public const string DiskFlag = "--disk";

    /// <summary>`--disk DISK`, repeatable: more disks of the same VM where the positional arguments hold only one.</summary>
    public static Option<string[]> DiskOption() => new(DiskFlag)
    {
        Description = "another disk of the same VM (repeatable), after the DISK given first: with several disks volume ids are d1p2, d2p1, ... and LVM volume groups span them",
        HelpName = "DISK",
        Arity = ArgumentArity.ZeroOrMore,
    };

    /// <summary>
    /// The disks of one VM in the order given (their volume ids are d1..., d2... by it): the positional ones, then
    /// those of --disk. The same disk twice is a usage error, not a VM with two identical disks.
    /// </summary>
    public static IReadOnlyList<string> Disks(IEnumerable<string> positional, IEnumerable<string>? more)
    {
        var disks = positional.Concat(more ?? []).ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var d in disks)
            if (!seen.Add(d.Contains("://", StringComparison.Ordinal) ? d : Path.GetFullPath(d)))
                throw new ArgumentException($"{d}: the same DISK is given twice");
        return disks;
    }

    public static Option<bool> JsonOption() => new("--json") { Description = "one JSON document on stdout" };

    public static Option<bool> IgnoreCidOption() =>
        new("--ignore-cid-mismatch") { Description = "open a chain even if a child's parentCID differs from its parent's CID" };

    public static Option<bool> RawInputOption() =>
        new("--raw-input") { Description = "DISK is a raw disk image, not a VMDK" };

    public const string AllowOutsideExtentsFlag = "--allow-outside-extents";
    public const string AtFlag = "--at";
    public const string ConfineFlag = "--confine";
    public const string ParentDirFlag = "--parent-dir";
    public const string RecoverFlag = "--recover-truncated";
    public const string TimeoutFlag = "--timeout", RetriesFlag = "--retries", ConnectionsFlag = "--connections", MaxRequestFlag = "--max-request", ThumbprintFlag = "--thumbprint", CaFlag = "--ca", HeaderFlag = "--header";

    public static DiskOpenOptions DiskOptions(ParseResult p, Option<bool> ignoreCid, Option<bool> rawInput) => new()
    {
        IgnoreCidMismatch = p.GetValue(ignoreCid),
        Raw = p.GetValue(rawInput),
        AllowOutsideExtents = ValueOf<bool>(p, AllowOutsideExtentsFlag),
        RecoverTruncatedStreams = ValueOf<bool>(p, RecoverFlag),
        ConfineTo = ValueOf<string?>(p, ConfineFlag),
        ParentFolders = ValueOf<string[]?>(p, ParentDirFlag) ?? [],
        AtPoint = ValueOf<string?>(p, AtFlag),
        Remote = RemoteOptions(p),
    };

    /// <summary>The options of a remote DISK (nbd://..., http(s)://...), checked here so that a bad value is a usage error before any connection.</summary>
    private static RemoteOptions RemoteOptions(ParseResult p) => new RemoteOptions
    {
        Timeout = ValueOf<string?>(p, TimeoutFlag) is { } t ? Core.Transports.RemoteOptions.ParseTimeout(t) : Core.Transports.RemoteOptions.DefaultTimeout,
        MaxRequestBytes = ValueOf<string?>(p, MaxRequestFlag) is { } m ? Core.Transports.RemoteOptions.ParseSize(m) : Core.Transports.RemoteOptions.DefaultMaxRequestBytes,
        Retries = ValueOf<int?>(p, RetriesFlag) ?? Core.Transports.RemoteOptions.DefaultRetries,
        Connections = ValueOf<int?>(p, ConnectionsFlag) ?? Core.Transports.RemoteOptions.DefaultConnections,
        Thumbprint = ValueOf<string?>(p, ThumbprintFlag),
        CaFile = ValueOf<string?>(p, CaFlag),
        Headers = (ValueOf<string[]?>(p, HeaderFlag) ?? []).Select(Core.Transports.RemoteOptions.ParseHeader).ToList(),
    }.Validated();

    /// <summary>
    /// Gives every command that opens a disk (those with --raw-input) the chain-file safety options, here in one place
    /// so that no disk-opening command, present or future, lacks them; <see cref="DiskOptions"/> reads them.
    /// </summary>
    public static void AddChainFileOptions(RootCommand root)
    {
        foreach (var command in root.Subcommands)
        {
            if (!command.Options.Any(o => o.Name == "--raw-input")) continue;
            if (!command.Options.Any(o => o.Name == RecoverFlag)) command.Options.Add(Commands.RecoverOption.Create());
            command.Options.Add(new Option<bool>(AllowOutsideExtentsFlag)
            {
                Description = "let a descriptor name extent files outside its own folder (absolute paths, .., links out of it)",
            });
            command.Options.Add(new Option<string?>(ConfineFlag)
            {
                Description = "every file of the chain (DISK, extents, parents) must lie in this folder, links resolved",
                HelpName = "DIR",
            });
            command.Options.Add(new Option<string[]>(ParentDirFlag)
            {
                Description = "another folder to search for a parent disk that is not beside its child (repeatable): by the file name the child hints, then by CID",
                HelpName = "DIR",
                Arity = ArgumentArity.ZeroOrMore,
                AllowMultipleArgumentsPerToken = false,
            });
            if (!command.Options.Any(o => o.Name == AtFlag))
                command.Options.Add(new Option<string?>(AtFlag)
                {
                    Description = "the chain as of this restore point: a link's file name (child-057.vmdk), its path, or its index as `info` prints it (0 = DISK)",
                    HelpName = "POINT",
                });
            command.Options.Add(new Option<string?>(TimeoutFlag)
            {
                Description = "remote DISK: longest wait for any network step (connect, handshake, each reply), default 30s",
                HelpName = "SECONDS",
            });
            command.Options.Add(new Option<int?>(RetriesFlag)
            {
                Description = "remote DISK: reconnect and retry a read whose connection broke this many times, default 5",
                HelpName = "N",
            });
            command.Options.Add(new Option<int?>(ConnectionsFlag)
            {
                Description = "nbd:// DISK: connections to the export when the server allows several (multi-conn), default 4",
                HelpName = "N",
            });
            command.Options.Add(new Option<string?>(MaxRequestFlag)
            {
                Description = "remote DISK: largest read in one request, default 2M (never above the server's maximum)",
                HelpName = "SIZE",
            });
            command.Options.Add(new Option<string?>(ThumbprintFlag)
            {
                Description = "nbds:// or https:// DISK: the server certificate's thumbprint, AB:CD:... (SHA-1/224/256/384/512 by length) or sha256:...",
                HelpName = "HEX",
            });
            command.Options.Add(new Option<string?>(CaFlag)
            {
                Description = "nbds:// or https:// DISK: PEM file of the CA certificates the server's certificate must chain to",
                HelpName = "FILE",
            });
            command.Options.Add(new Option<string[]?>(HeaderFlag)
            {
                Description = "http(s):// DISK: a header sent with every request, 'Name: value' (repeatable; e.g. 'Authorization: Bearer ...'); values are never shown",
                HelpName = "HEADER",
                AllowMultipleArgumentsPerToken = false,
            });
        }
    }

    private static T? ValueOf<T>(ParseResult p, string name) =>
        p.CommandResult.Command.Options.OfType<Option<T>>().FirstOrDefault(o => o.Name == name) is { } option ? p.GetValue(option) : default;

    /// <summary>
    /// A message as it may leave the program: any URL in it redacted (no credentials, no query values). The engine
    /// names remote files by their redacted URLs already; this is the last guard for text from elsewhere (.NET).
    /// </summary>
    public static string Shown(string message) => HttpUrl.RedactText(message);

    /// <summary>Runs a command body; expected errors become one stderr line (and a JSON error with --json) and exit code 2, an engine bug exit code 1.</summary>
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (ContractViolationException e)
        {
            // A bug in VmdkMount rather than the user's mistake: the operation failed (1), it was not bad usage (2).
            CliErrors.Report(e, "internal error: ");
            return ExitCodes.Problems;
        }
        catch (Exception e) when (e is VmdkMountException or ArgumentException or IOException)
        {
            CliErrors.Report(e);
            return ExitCodes.Usage;
        }
    }
}
