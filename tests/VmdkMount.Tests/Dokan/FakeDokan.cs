using VmdkMount.Dokan.Native;

namespace VmdkMount.Tests.Dokan;

/// <summary>
/// dokan2.dll as the tests see it: it records what the frontend asked for (keep-alives, unmounts, the lifecycle) and,
/// on CreateFileSystem, can play the driver by calling into the operations table it was handed.
/// </summary>
internal sealed unsafe class FakeDokan : INativeDokan
{
    public readonly List<string> Calls = [];
    public readonly List<string> Removed = [];
    public int ResetTimeouts;
    public uint LastResetMilliseconds;

    /// <summary>Mount points the "driver" still has; RemoveMountPoint of another fails as Dokan's does.</summary>
    public readonly HashSet<string> Mounted = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Runs while "mounted", with the options and operations the session passed (the driver's requests).</summary>
    public Action<nint, nint>? WhileMounted;

    public int CreateResult;

    public void Init() => Calls.Add("init");

    public void Shutdown() => Calls.Add("shutdown");

    public int CreateFileSystem(DokanOptions* options, DokanOperations* operations, out nint instance)
    {
        Calls.Add("create " + new string(options->MountPoint));
        instance = CreateResult == 0 ? 42 : 0;
        if (CreateResult == 0) WhileMounted?.Invoke((nint)options, (nint)operations);
        return CreateResult;
    }

    public void WaitForFileSystemClosed(nint instance) => Calls.Add("wait");

    public void CloseHandle(nint instance) => Calls.Add("close");

    public bool RemoveMountPoint(string mountPoint)
    {
        Removed.Add(mountPoint);
        return Mounted.Remove(mountPoint);
    }

    public bool ResetTimeout(uint milliseconds, DokanFileInfo* info)
    {
        Interlocked.Increment(ref ResetTimeouts);
        LastResetMilliseconds = milliseconds;
        return true;
    }
}
