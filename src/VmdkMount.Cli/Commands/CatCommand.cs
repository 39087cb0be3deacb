using System.CommandLine;

namespace VmdkMount.Cli.Commands;

/// <summary>`vmdkmount cat` (placeholder until it lands).</summary>
internal static class CatCommand
{
    public static Command Create()
    {
        var command = new Command("cat", "not built yet");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("vmdkmount: 'cat' is not built yet");
            return ExitCodes.Usage;
        });
        return command;
    }
}
