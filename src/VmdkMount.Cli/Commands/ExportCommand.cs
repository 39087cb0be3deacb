using System.CommandLine;

namespace VmdkMount.Cli.Commands;

/// <summary>`vmdkmount export` (placeholder until it lands).</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var command = new Command("export", "not built yet");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("vmdkmount: 'export' is not built yet");
            return ExitCodes.Usage;
        });
        return command;
    }
}
