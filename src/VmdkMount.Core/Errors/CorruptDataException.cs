namespace VmdkMount.Core.Errors;

/// <summary>An on-disk structure is damaged or inconsistent. <see cref="Where"/> names file/volume and structure.</summary>
public class CorruptDataException : VmdkMountException
{
    public CorruptDataException(string where, long offset, string problem, Exception? inner = null)
        : base($"{where}: {problem} (at offset {offset})", inner)
    {
        Where = where;
        Offset = offset;
        Problem = problem;
    }

    public string Where { get; }
    public long Offset { get; }
    public string Problem { get; }
}
