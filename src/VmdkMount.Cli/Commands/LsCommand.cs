using System.CommandLine;

namespace VmdkMount.Cli.Commands;

/// <summary>`vmdkmount ls` (placeholder until it lands).</summary>
internal static class LsCommand
{
    public static Command Create()
    {
        var command = new Command("ls", "not built yet");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("vmdkmount: 'ls' is not built yet");
            return ExitCodes.Usage;
        });
        return command;
    }
}
