namespace VmdkMount.Core.Errors;

/// <summary>The data is valid but uses something this reader does not (or must not) read, e.g. an RDM extent.</summary>
public class UnsupportedFeatureException : VmdkMountException
{
    public UnsupportedFeatureException(string where, string feature, Exception? inner = null)
        : base($"{where}: not supported: {feature}", inner)
    {
        Where = where;
        Feature = feature;
    }

    public string Where { get; }
    public string Feature { get; }
}
