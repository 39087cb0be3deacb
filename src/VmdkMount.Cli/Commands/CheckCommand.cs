using System.CommandLine;

namespace VmdkMount.Cli.Commands;

/// <summary>`vmdkmount check` (placeholder until it lands).</summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var command = new Command("check", "not built yet");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("vmdkmount: 'check' is not built yet");
            return ExitCodes.Usage;
        });
        return command;
    }
}
