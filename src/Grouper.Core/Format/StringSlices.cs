using Parquet;
using Parquet.Schema;

namespace Grouper.Format;

/// <summary>
/// A string column of one row group as slices of Parquet.Net's decoded character buffers, read into
/// nullable or plain slots as the column is optional or required (Parquet.Net leaves nullable slots of
/// a required column empty). The slot arrays are reused from row group to row group: arrays this large
/// live on the large object heap, which only a full collection frees. Used by Parquet sources and by the
/// dataset reader.
/// </summary>
internal sealed class StringSlices(DataField field)
{
    private ReadOnlyMemory<char>[] _required = [];
    private ReadOnlyMemory<char>?[] _optional = [];

    public void Load(ParquetRowGroupReader rg, int count, CancellationToken ct)
    {
        if (field.IsNullable)
        {
            if (_optional.Length != count) _optional = new ReadOnlyMemory<char>?[count];
            rg.ReadAsync<ReadOnlyMemory<char>>(field, _optional.AsMemory(), null, ct).AsTask().GetAwaiter().GetResult();
        }
        else
        {
            if (_required.Length != count) _required = new ReadOnlyMemory<char>[count];
            rg.ReadAsync<ReadOnlyMemory<char>>(field, _required.AsMemory(), null, ct).AsTask().GetAwaiter().GetResult();
        }
    }

    public bool IsNull(int row) => field.IsNullable && !_optional[row].HasValue;

    /// <summary>The slices and the characters they point into (those of the last chunk read, counted a slice at a time).</summary>
    public long MemoryHeld()
    {
        long bytes = 16L * _required.Length + 24L * _optional.Length;
        foreach (var s in _required) bytes += 2L * s.Length;
        foreach (var s in _optional) bytes += 2L * s.GetValueOrDefault().Length;
        return bytes;
    }

    /// <summary>The characters (empty for null).</summary>
    public ReadOnlySpan<char> GetChars(int row) => field.IsNullable ? _optional[row].GetValueOrDefault().Span : _required[row].Span;

    public string? GetString(int row) => IsNull(row) ? null : GetChars(row).ToString();
}
