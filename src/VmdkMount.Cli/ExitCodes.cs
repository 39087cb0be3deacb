namespace VmdkMount.Cli;

/// <summary>The exit codes README.md promises (its "Exit codes" sentence); tests and scripts depend on them.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>The operation ran and found problems, or failed on some files.</summary>
    public const int Problems = 1;
    /// <summary>Bad usage, or the disk/volume/path cannot be opened.</summary>
    public const int Usage = 2;
}
