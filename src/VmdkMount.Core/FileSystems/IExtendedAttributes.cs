namespace VmdkMount.Core.FileSystems;

/// <summary>One extended attribute: its full name with the namespace prefix as Linux shows it (`user.origin`), and its value.</summary>
public sealed record FsExtendedAttribute(string Name, byte[] Value);

/// <summary>Optional reader capability: a node's extended attributes (XFS attribute forks).</summary>
public interface IExtendedAttributes
{
    /// <summary>The node's attributes in stored order, each name once; empty when it has none.</summary>
    IReadOnlyList<FsExtendedAttribute> ExtendedAttributes(long id);
}
