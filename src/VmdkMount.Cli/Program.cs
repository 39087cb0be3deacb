using System.CommandLine;
using System.Text;
using VmdkMount.Cli.Commands;

namespace VmdkMount.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        DiagnosticWriter.Install();
        var root = BuildRoot();
        var parse = root.Parse(args);
        CliErrors.Json = args.Contains("--json", StringComparer.Ordinal);
        if (parse.Errors.Count > 0)
        {
            string command = parse.CommandResult.Command is RootCommand ? "" : " " + parse.CommandResult.Command.Name;
            var messages = parse.Errors.Select(e => UsageMessages.Humanize(e.Message)).ToList();
            CliErrors.Report(string.Join("; ", messages), "usage", $"try 'vmdkmount{command} --help'");
            return ExitCodes.Usage;
        }
        return parse.Invoke();
    }

    /// <summary>
    /// `ls -h` is human-readable sizes, as in ls, so `-h` cannot be help there: help is `--help` or `-?` everywhere,
    /// and every other command keeps `-h` as an unlisted spelling of help, as users type it.
    /// </summary>
    private static void FreeShortHelpForLs(RootCommand root)
    {
        var help = root.Options.OfType<System.CommandLine.Help.HelpOption>().Single();
        help.Aliases.Remove("-h");
        help.Aliases.Remove("/h");
        root.Options.Add(new System.CommandLine.Help.HelpOption("-h") { Hidden = true });
        foreach (var command in root.Subcommands)
            if (command.Name != "ls")
                command.Options.Add(new System.CommandLine.Help.HelpOption("-h") { Hidden = true });
    }

    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("vmdkmount: read-only access to backed-up VMware disks and their snapshot chains");
        root.Subcommands.Add(InfoCommand.Create());
        root.Subcommands.Add(CheckCommand.Create());
        root.Subcommands.Add(MapCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(VolumesCommand.Create());
        root.Subcommands.Add(LsCommand.Create());
        root.Subcommands.Add(CatCommand.Create());
        root.Subcommands.Add(ExtractCommand.Create());
        root.Subcommands.Add(FindCommand.Create());
        root.Subcommands.Add(MountCommand.Create());
        root.Subcommands.Add(UnmountCommand.Create());
        root.Subcommands.Add(CleanupCommand.Create());
        root.Subcommands.Add(ChangedCommand.Create());
        root.Subcommands.Add(VersionsCommand.Create());
        CliCommon.AddChainFileOptions(root);
        FreeShortHelpForLs(root);
        CommandExamples.AddTo(root);
        return root;
    }
}
