using System.CommandLine;

namespace VmdkMount.Cli.Commands;

/// <summary>`vmdkmount cleanup` (placeholder until it lands).</summary>
internal static class CleanupCommand
{
    public static Command Create()
    {
        var command = new Command("cleanup", "not built yet");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("vmdkmount: 'cleanup' is not built yet");
            return ExitCodes.Usage;
        });
        return command;
    }
}
