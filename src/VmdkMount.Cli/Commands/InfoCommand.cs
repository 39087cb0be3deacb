using System.CommandLine;

namespace VmdkMount.Cli.Commands;

/// <summary>`vmdkmount info` (placeholder until it lands).</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "not built yet");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("vmdkmount: 'info' is not built yet");
            return ExitCodes.Usage;
        });
        return command;
    }
}
