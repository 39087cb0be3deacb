using System.CommandLine;

namespace VmdkMount.Cli.Commands;

/// <summary>`vmdkmount mount` (placeholder until it lands).</summary>
internal static class MountCommand
{
    public static Command Create()
    {
        var command = new Command("mount", "not built yet");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("vmdkmount: 'mount' is not built yet");
            return ExitCodes.Usage;
        });
        return command;
    }
}
