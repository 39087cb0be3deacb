using System.CommandLine;

namespace VmdkMount.Cli.Commands;

/// <summary>`vmdkmount map` (placeholder until it lands).</summary>
internal static class MapCommand
{
    public static Command Create()
    {
        var command = new Command("map", "not built yet");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("vmdkmount: 'map' is not built yet");
            return ExitCodes.Usage;
        });
        return command;
    }
}
