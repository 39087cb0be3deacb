using System.CommandLine;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Mounting;

namespace VmdkMount.Cli;

/// <summary>Arguments and options shared by the commands, and the one place that turns exceptions into exit codes.</summary>
internal static class CliCommon
{
    public static Argument<string> DiskArgument() =>
        new("DISK") { Description = "newest link of a VMDK chain (its parents are found from the descriptor), or a raw image with --raw-input" };

    public static Option<bool> JsonOption() => new("--json") { Description = "one JSON document on stdout" };

    public static Option<bool> IgnoreCidOption() =>
        new("--ignore-cid-mismatch") { Description = "open a chain even if a child's parentCID differs from its parent's CID" };

    public static Option<bool> RawInputOption() =>
        new("--raw-input") { Description = "DISK is a raw disk image, not a VMDK" };

    public static DiskOpenOptions DiskOptions(ParseResult p, Option<bool> ignoreCid, Option<bool> rawInput) => new()
    {
        IgnoreCidMismatch = p.GetValue(ignoreCid),
        Raw = p.GetValue(rawInput),
    };

    /// <summary>Runs a command body; expected errors become one stderr line and exit code 2.</summary>
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (PathNotFoundException e)
        {
            Console.Error.WriteLine($"vmdkmount: {e.Message}");
            return ExitCodes.Usage;
        }
        catch (VmdkMountException e)
        {
            Console.Error.WriteLine($"vmdkmount: {e.Message}");
            return ExitCodes.Usage;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"vmdkmount: {e.Message}");
            return ExitCodes.Usage;
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"vmdkmount: {e.Message}");
            return ExitCodes.Usage;
        }
    }
}
