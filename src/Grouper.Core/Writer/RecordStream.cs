namespace Grouper.Writer;

/// <summary>
/// A sorted stream of (key, encoded row) pairs: the sort buffer, a spill run, or a merge of runs.
/// The spans are valid until the next <see cref="MoveNext"/>.
/// </summary>
internal interface IRecordStream : IDisposable
{
    bool MoveNext();
    ReadOnlySpan<byte> Key { get; }
    ReadOnlySpan<byte> Row { get; }
}
