namespace VmdkMount.Cli;

/// <summary>
/// Progress reported on the working thread itself: Progress&lt;T&gt; posts each report to the thread pool, where a
/// bar would show counts out of order and after the work has ended.
/// </summary>
internal sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
