using System.CommandLine;

namespace VmdkMount.Cli.Commands;

/// <summary>`vmdkmount volumes` (placeholder until it lands).</summary>
internal static class VolumesCommand
{
    public static Command Create()
    {
        var command = new Command("volumes", "not built yet");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("vmdkmount: 'volumes' is not built yet");
            return ExitCodes.Usage;
        });
        return command;
    }
}
