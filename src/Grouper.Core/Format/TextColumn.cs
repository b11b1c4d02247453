using System.Text;
using Grouper.Schema;
using Parquet;
using Parquet.Schema;

namespace Grouper.Format;

/// <summary>
/// A text column of one row group, for the dataset reader and Parquet sources alike: UTF-8 slices of the
/// chunk's pages where <see cref="PlainTextChunk"/> reads them (Grouper's shards, and the common layouts of
/// other engines), otherwise slices of Parquet.Net's decoded characters (<see cref="StringSlices"/>).
/// Never a string per value; the other form (characters of UTF-8, or UTF-8 of characters) is made for the
/// whole chunk when first asked for, and a string only when one is asked for.
/// </summary>
internal sealed class TextColumn(string name, bool nullable, Func<DataField> parquetNetField, GrouperErrorKind errorKind)
{
    public TextColumn(DataField field, GrouperErrorKind errorKind) : this(field.Name, field.IsNullable, () => field, errorKind) { }

    // Parquet.Net's field, and its reading of the chunk, only for a chunk PlainTextChunk does not read: a
    // source read without Parquet.Net opens it then (ParquetRecordReader).
    private StringSlices? _slicesOrNull;
    private StringSlices _slices => _slicesOrNull ??= new(parquetNetField());
    private readonly PlainTextChunk _plain = new(errorKind);
    private bool _isPlain;
    private bool _converted;
    private bool _oneAtATime; // a source's chunk: characters of one value at a time (only a key column asks)
    private int _count;
    private char[] _chars = [];
    private byte[] _bytes = [];
    private int[] _starts = [];
    private int[] _lengths = [];

    public void Load(Func<ParquetRowGroupReader> rg, RowGroupFile file, int count, CancellationToken ct) => Read(rg, file, count, source: false, ct);

    /// <summary>
    /// As <see cref="Load"/> for a source's row group, which may be too large to hold: a large chunk is
    /// streamed (<see cref="PlainTextChunk.TryBegin"/>), and <see cref="Advance"/> must be called for each
    /// window of rows before they are read. Characters are then decoded one value at a time, not for the
    /// whole chunk.
    /// </summary>
    public void Begin(Func<ParquetRowGroupReader> rg, RowGroupFile file, int count, CancellationToken ct) => Read(rg, file, count, source: true, ct);

    private void Read(Func<ParquetRowGroupReader> rg, RowGroupFile file, int count, bool source, CancellationToken ct)
    {
        _isPlain = source ? _plain.TryBegin(file, name, nullable, count) : _plain.TryLoad(file, name, nullable, count);
        if (!_isPlain) _slices.Load(rg(), count, ct);
        _oneAtATime = source;
        _converted = false;
        _count = count;
    }

    /// <summary>Rows [from, from + count) of a chunk begun with <see cref="Begin"/>; the rows before are dropped.</summary>
    public void Advance(int from, int count)
    {
        if (_isPlain) _plain.Advance(from, count);
    }

    /// <summary>Whether the current chunk was read by Grouper rather than through Parquet.Net (tests).</summary>
    internal bool ReadByGrouper => _isPlain;

    /// <summary>
    /// The value's UTF-8 where the chunk was read as UTF-8 and the value is not null (a builder's way with a source's
    /// text: one call a value, not <see cref="IsNull"/> and <see cref="TryGetUtf8"/>).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public bool TryGetValue(int row, out ReadOnlySpan<byte> utf8)
    {
        if (_isPlain) return _plain.TryGetValue(row, out utf8);
        utf8 = default;
        return false;
    }

    /// <summary>Bytes the column's buffers hold (a source counts them against its build's memory).</summary>
    public long MemoryHeld => _plain.BufferBytes + (_slicesOrNull?.MemoryHeld() ?? 0) + 2L * _chars.Length + _bytes.Length + 4L * ((long)_starts.Length + _lengths.Length);

    /// <summary>Whether the current chunk is streamed, a window at a time (tests).</summary>
    internal bool Streaming => _isPlain && _plain.Streaming;

    public bool IsNull(int row) => _isPlain ? _plain.IsNull(row) : _slices.IsNull(row);

    /// <summary>The value's UTF-8 when the chunk was read as UTF-8 (empty for null); false when only characters are at hand.</summary>
    public bool TryGetUtf8(int row, out ReadOnlySpan<byte> utf8)
    {
        utf8 = _isPlain ? _plain.GetUtf8(row) : default;
        return _isPlain;
    }

    /// <summary>The value's UTF-8 (empty for null), encoded for the whole chunk when the chunk was read as characters.</summary>
    [System.Runtime.CompilerServices.MethodImpl(Util.Hot.Path)]
    public ReadOnlySpan<byte> GetUtf8(int row)
    {
        if (_isPlain) return _plain.GetUtf8(row);
        if (!_converted) Convert(r => Encoding.UTF8.GetMaxByteCount(_slices.GetChars(r).Length), (r, dest) => Encoding.UTF8.GetBytes(_slices.GetChars(r), dest), ref _bytes);
        return _bytes.AsSpan(_starts[row], _lengths[row]);
    }

    /// <summary>The value's characters (empty for null), decoded for the whole chunk when the chunk was read as UTF-8.</summary>
    public ReadOnlySpan<char> GetChars(int row)
    {
        if (!_isPlain) return _slices.GetChars(row);
        if (_oneAtATime)
        {
            // Valid until the next call; a streamed chunk has only a window of rows at hand anyway.
            var utf8 = _plain.GetUtf8(row);
            if (_chars.Length < utf8.Length) _chars = new char[Math.Max(utf8.Length, _chars.Length * 2)];
            return _chars.AsSpan(0, Encoding.UTF8.GetChars(utf8, _chars));
        }
        if (!_converted) Convert(r => _plain.GetUtf8(r).Length, (r, dest) => Encoding.UTF8.GetChars(_plain.GetUtf8(r), dest), ref _chars);
        return _chars.AsSpan(_starts[row], _lengths[row]);
    }

    public string? GetString(int row) => IsNull(row) ? null
        : _isPlain ? Encoding.UTF8.GetString(_plain.GetUtf8(row)) : _slices.GetChars(row).ToString();

    private delegate int Converter<T>(int row, Span<T> dest);

    private void Convert<T>(Func<int, int> maxSize, Converter<T> convert, ref T[] arena)
    {
        if (_starts.Length < _count) { _starts = new int[_count]; _lengths = new int[_count]; }
        long total = 0;
        for (int r = 0; r < _count; r++) total += maxSize(r);
        if (arena.Length < total) arena = new T[checked((int)total)];
        int used = 0;
        for (int r = 0; r < _count; r++)
        {
            int n = convert(r, arena.AsSpan(used));
            _starts[r] = used;
            _lengths[r] = n;
            used += n;
        }
        _converted = true;
    }
}
