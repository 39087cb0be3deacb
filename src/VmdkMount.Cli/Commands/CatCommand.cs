using System.Buffers;
using System.CommandLine;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;

namespace VmdkMount.Cli.Commands;

/// <summary>`vmdkmount cat DISK VOL:/path[:stream]`: a file's bytes (or one alternate data stream's) to stdout.</summary>
internal static class CatCommand
{
    public static Command Create()
    {
        var access = new VolumeAccess();
        var command = new Command("cat", "write a file's contents (or a named stream's, VOL:/path:stream) to stdout");
        access.AddTo(command);
        command.SetAction(p => CliCommon.Run(() =>
        {
            using var target = access.Open(p, followLastSymlink: true);
            if (target.Node.Type == FsNodeType.Directory)
                throw new ArgumentException($"{target.Where}: is a directory");
            using var stdout = Console.OpenStandardOutput();
            byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
            try
            {
                long offset = 0;
                FsStream? named = target.Where.Stream is { } stream
                    ? target.Fs is INamedStreams
                        ? target.Tree.FindStream(target.Inode, stream) ?? new FsStream(stream, 0)
                        : throw MissingCapability.NoStreams(target.Fs, target.Node.Id, stream)
                    : null;
                while (true)
                {
                    int n = named is { } s
                        ? target.Tree.ReadStream(target.Inode, s, offset, buffer)
                        : target.Tree.Read(target.Inode, offset, buffer);
                    if (n <= 0) break;
                    stdout.Write(buffer, 0, n);
                    offset += n;
                }
            }
            catch (VmdkMountException e)
            {
                Console.Error.WriteLine($"vmdkmount: {target.Where}: {e.Message}");
                return ExitCodes.Problems;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
            return ExitCodes.Ok;
        }));
        return command;
    }
}
