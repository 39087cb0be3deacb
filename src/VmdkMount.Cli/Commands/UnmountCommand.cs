using System.CommandLine;

namespace VmdkMount.Cli.Commands;

/// <summary>`vmdkmount unmount` (placeholder until it lands).</summary>
internal static class UnmountCommand
{
    public static Command Create()
    {
        var command = new Command("unmount", "not built yet");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("vmdkmount: 'unmount' is not built yet");
            return ExitCodes.Usage;
        });
        return command;
    }
}
