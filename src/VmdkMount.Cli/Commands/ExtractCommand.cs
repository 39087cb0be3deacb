using System.CommandLine;

namespace VmdkMount.Cli.Commands;

/// <summary>`vmdkmount extract` (placeholder until it lands).</summary>
internal static class ExtractCommand
{
    public static Command Create()
    {
        var command = new Command("extract", "not built yet");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("vmdkmount: 'extract' is not built yet");
            return ExitCodes.Usage;
        });
        return command;
    }
}
