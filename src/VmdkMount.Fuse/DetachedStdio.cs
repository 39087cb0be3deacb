using VmdkMount.Fuse.Native;

namespace VmdkMount.Fuse;

/// <summary>What a detached mount process does first: no terminal, no caller's pipes; everything goes to its log.</summary>
public static class DetachedStdio
{
    /// <summary>Points stdin at /dev/null and stdout/stderr (ours and libfuse's) at <paramref name="logPath"/>.</summary>
    public static void RedirectTo(string logPath)
    {
        int log = LibC.Open(logPath, LibC.OWrOnly | LibC.OCreat | LibC.OAppend, 0x1A4 /* 0644 */);
        int nul = LibC.Open("/dev/null", LibC.ORdOnly, 0);
        if (log < 0 || nul < 0) throw new IOException($"cannot open the log file {logPath}");
        LibC.Dup2(nul, 0);
        LibC.Dup2(log, 1);
        LibC.Dup2(log, 2);
        LibC.Close(log);
        LibC.Close(nul);
    }
}
