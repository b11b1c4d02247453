using Grouper.Util;
using System.Runtime.CompilerServices;
using System.Buffers;
using System.Buffers.Binary;
using Parquet.Meta;
using Grouper.Schema;
using Parquet.Schema;

namespace Grouper.Format;

/// <summary>
/// One text or binary column of a row group, encoded as it is filled: the values go straight into a PLAIN
/// page (4-byte length, bytes), and the page is compressed and written as one column chunk, with the page
/// header and the column chunk's metadata that Parquet.Net writes for such a column (the mirror of
/// <see cref="PlainTextChunk"/>). Handing Parquet.Net slices of the values cost a copy into an arena, a
/// slice per value, ~200 bytes of garbage per record and generic code compiled at run time: writing the
/// chunks here took 28% off a 1 GB build's CPU. A test checks the shards are the bytes Parquet.Net writes.
/// <para>
/// A value equal to the one before it is not stored again but counted in a run. The group key, and the
/// column it was taken from, repeat one value per group in key order: when a row group's runs are at most
/// half its values and in ascending byte order (so that no value is in two runs), the stored values are
/// a dictionary page as they are and the rows are one RLE run of dictionary indexes per run, the layout
/// every Parquet engine reads (RLE_DICTIONARY). A key column then costs a few bytes per group instead of
/// its text on every row, and neither the copy nor the compression of that text. Otherwise the values are
/// written PLAIN, runs spelt out again.
/// </para>
/// </summary>
internal sealed class ByteArrayChunk : ColumnSink
{
    // The metadata's Thrift enums, as Parquet.Net declares them (its reader is what PlainTextChunk falls back to).
    private const int PlainEncoding = (int)Encoding.PLAIN, RleEncoding = (int)Encoding.RLE, RleDictionaryEncoding = (int)Encoding.RLE_DICTIONARY,
        ByteArrayType = (int)Parquet.Meta.Type.BYTE_ARRAY, DataPage = (int)PageType.DATA_PAGE, DictionaryPage = (int)PageType.DICTIONARY_PAGE;

    private readonly bool _nullable;
    private readonly bool _statistics;
    private readonly byte[] _path;
    private readonly CompressionCodec _codec;
    private readonly RunPolicy? _policy;

    // The page: definition levels are placed just before the values once they are known, in the room left at
    // the start. It holds the first value of each run (in PLAIN layout), which is every value unless some repeat.
    private byte[] _page = new byte[1 << 16];
    private int _reserve;
    private int _length;
    private byte[] _defined = [];
    private byte[] _levels = [];
    private int _rows;
    private int _nulls;

    // Runs of equal (non-null) values: where each one's value is in the page, and how many values it has.
    private int[] _runAt = new int[256];
    private int[] _runLength = new int[256];
    private int _runs;
    private bool _inRuns;
    private bool _ascending = true;
    // The page written when runs are spelt out again or the rows are dictionary indexes (levels included).
    private byte[] _spelt = [];

    // Minimum and maximum value (offsets of their length prefixes in the page), for the key column only.
    private int _minAt = -1, _maxAt = -1;

    // Where the chunk went in the row group's body, and its sizes (page headers included, as the format counts them).
    private long _offset, _dataOffset;
    private bool _dictionary;
    private long _uncompressed, _compressedSize;

    // statistics: keep min and max values (Parquet.Net writes them for string fields: the key column).
    // runs: when to keep runs of one value, shared by the column's chunks in every slot (null: never; always PLAIN, as Parquet.Net writes).
    public ByteArrayChunk(DataField field, bool nullable, bool statistics, CompressionCodec codec, RunPolicy? runs = null) : base(field)
    {
        _nullable = nullable;
        _statistics = statistics;
        _policy = runs;
        _inRuns = runs?.Track ?? false;
        if (codec is not (CompressionCodec.UNCOMPRESSED or CompressionCodec.SNAPPY)) throw new ArgumentOutOfRangeException(nameof(codec));
        _codec = codec;
        _path = System.Text.Encoding.UTF8.GetBytes(field.Name);
        _reserve = nullable ? 64 : 0;
        _length = _reserve;
    }

    public override void Reset(int capacity)
    {
        _rows = 0;
        _nulls = 0;
        _length = _reserve;
        _minAt = _maxAt = -1;
        _runs = 0;
        _inRuns = _policy?.Track ?? false;
        _ascending = true;
        if (_nullable && _defined.Length < capacity) _defined = new byte[Math.Max(capacity, _defined.Length * 2)];
    }

    public override void AppendNull(int row)
    {
        if (!_nullable) throw new InvalidDataException($"Column '{Field.Name}' is not nullable but a record has no value for it.");
        if (_rows >= _defined.Length) Grow(ref _defined, _rows);
        _defined[_rows++] = 0;
        _nulls++;
    }

    // Strings are the one type other values are never silently turned into.
    public override void AppendScalar(int row, in Scalar s, ValueKind tag) =>
        throw new InvalidDataException($"Column '{Field.Name}' holds strings or binary values but a record has a {tag.ToName()} value.");

    [MethodImpl(Hot.Path)]
    public override void AppendBytes(int row, ReadOnlySpan<byte> bytes, ValueKind tag) => Append(bytes);

    /// <summary>A value. Values are compared with the one before only in the row groups where runs are kept (<see cref="RunPolicy"/>): comparing every value of every column cost more than the runs it found saved.</summary>
    [MethodImpl(Hot.Path | MethodImplOptions.AggressiveInlining)]
    public void Append(ReadOnlySpan<byte> bytes)
    {
        Define();
        if (_inRuns && _runs > 0)
        {
            int order = bytes.SequenceCompareTo(ValueAt(_runAt[_runs - 1]));
            if (order == 0)
            {
                _runLength[_runs - 1]++;
                return;
            }
            if (order < 0) _ascending = false;
        }
        // One call of Store only: a second one made the inliner give up on it (and on what it calls).
        int at = Store(bytes);
        if (_inRuns) AddRun(at);
    }

    /// <summary>
    /// A row's group key, <paramref name="same"/> when it is the previous row's: the writer knows where
    /// groups start, so the key column's runs need no comparison.
    /// </summary>
    [MethodImpl(Hot.Path)]
    public void AppendKey(ReadOnlySpan<byte> key, bool same)
    {
        if (same && _inRuns && _runs > 0)
        {
            _rows++; // the key is never null
            _runLength[_runs - 1]++;
        }
        else Append(key);
    }

    /// <summary>
    /// The row group is complete (called on the thread that filled it, before <see cref="Encode"/>): decides
    /// whether it is written as a dictionary, and tells the column's policy whether keeping runs paid.
    /// </summary>
    public void Seal()
    {
        _dictionary = _inRuns && _ascending && _runs > 0 && _runs <= (_rows - _nulls) / 2;
        _policy?.Observe(_inRuns, _dictionary);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Define()
    {
        if (_nullable)
        {
            if (_rows >= _defined.Length) Grow(ref _defined, _rows);
            _defined[_rows] = 1;
        }
        _rows++;
    }

    // Writes the value at the end of the page (and notes it if it is a new minimum or maximum); returns where.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Store(ReadOnlySpan<byte> bytes)
    {
        if (_page.Length - _length < bytes.Length + 4) Grow(bytes.Length + 4);
        int at = _length;
        BinaryPrimitives.WriteInt32LittleEndian(_page.AsSpan(at), bytes.Length);
        bytes.CopyTo(_page.AsSpan(at + 4));
        _length = at + 4 + bytes.Length;
        if (_statistics)
        {
            if (_minAt < 0 || bytes.SequenceCompareTo(ValueAt(_minAt)) < 0) _minAt = at;
            if (_maxAt < 0 || bytes.SequenceCompareTo(ValueAt(_maxAt)) > 0) _maxAt = at;
        }
        return at;
    }

    private void AddRun(int at)
    {
        if (_runs == _runAt.Length)
        {
            Array.Resize(ref _runAt, _runs * 2);
            Array.Resize(ref _runLength, _runs * 2);
        }
        _runAt[_runs] = at;
        _runLength[_runs++] = 1;
    }

    private ReadOnlySpan<byte> ValueAt(int at) => _page.AsSpan(at + 4, BinaryPrimitives.ReadInt32LittleEndian(_page.AsSpan(at)));

    private void Grow(int needed)
    {
        long size = Math.Max((long)_page.Length * 2, (long)_length + needed);
        if (size > Array.MaxLength) throw new InvalidDataException($"Column '{Field.Name}' has more than 2 GB of values in one row group.");
        Array.Resize(ref _page, (int)size);
    }

    /// <summary>Writes the chunk (its dictionary page if it has one, then its data page) at the end of the row group's body.</summary>
    [MethodImpl(Hot.Path)]
    public void Encode(EncodedRowGroup rowGroup)
    {
        var body = rowGroup.Body;
        int values = _rows - _nulls;
        _offset = body.WrittenCount;
        _uncompressed = _compressedSize = 0;
        ReadOnlySpan<byte> page;
        if (_dictionary)
        {
            WritePage(rowGroup, DictionaryPage, _page.AsSpan(_reserve, _length - _reserve));
            page = SpellIndexes();
        }
        else if (!_inRuns || _runs == values) page = LevelsInPlace();
        else page = SpellRuns();
        _dataOffset = body.WrittenCount;
        WritePage(rowGroup, DataPage, page);
    }

    // The page as it was filled, its definition levels written into the room before the values.
    private Span<byte> LevelsInPlace()
    {
        int start = _reserve;
        if (_nullable)
        {
            int levels = EncodeLevels();
            if (levels > _reserve)
            {
                // More levels than room: move the values up once and keep the larger room for the next row groups.
                int grow = levels - _reserve + 64;
                if (_page.Length - _length < grow) Grow(grow);
                Buffer.BlockCopy(_page, _reserve, _page, _reserve + grow, _length - _reserve);
                _reserve += grow;
                _length += grow;
                if (_minAt >= 0) { _minAt += grow; _maxAt += grow; }
                for (int i = 0; i < _runs; i++) _runAt[i] += grow;
            }
            start = _reserve - levels;
            _levels.AsSpan(0, levels).CopyTo(_page.AsSpan(start));
        }
        return _page.AsSpan(start, _length - start);
    }

    // A PLAIN page with every value, each run's value repeated as many times as it occurred.
    private Span<byte> SpellRuns()
    {
        int levels = _nullable ? EncodeLevels() : 0;
        long size = levels;
        for (int i = 0; i < _runs; i++) size += (long)(4 + BinaryPrimitives.ReadInt32LittleEndian(_page.AsSpan(_runAt[i]))) * _runLength[i];
        if (size > Array.MaxLength) throw new InvalidDataException($"Column '{Field.Name}' has more than 2 GB of values in one row group.");
        if (_spelt.Length < size) _spelt = new byte[Math.Max(size, Math.Min(Array.MaxLength, _spelt.Length * 2L))];
        _levels.AsSpan(0, levels).CopyTo(_spelt);
        int n = levels;
        for (int i = 0; i < _runs; i++)
        {
            var value = _page.AsSpan(_runAt[i], 4 + BinaryPrimitives.ReadInt32LittleEndian(_page.AsSpan(_runAt[i])));
            for (int k = 0; k < _runLength[i]; k++)
            {
                value.CopyTo(_spelt.AsSpan(n));
                n += value.Length;
            }
        }
        return _spelt.AsSpan(0, n);
    }

    // A data page of dictionary indexes: the levels, the indexes' bit width, then one RLE run per run of
    // values (header: its length shifted left once; then its index, little-endian, in whole bytes).
    private Span<byte> SpellIndexes()
    {
        int levels = _nullable ? EncodeLevels() : 0;
        int width = Math.Max(1, 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)(_runs - 1)));
        int bytes = (width + 7) / 8;
        long size = levels + 1 + (long)_runs * (5 + bytes);
        if (_spelt.Length < size) _spelt = new byte[Math.Max(size, _spelt.Length * 2L)];
        _levels.AsSpan(0, levels).CopyTo(_spelt);
        int n = levels;
        _spelt[n++] = (byte)width;
        for (int i = 0; i < _runs; i++)
        {
            n += Util.VarInt.Write(_spelt.AsSpan(n), (ulong)_runLength[i] << 1);
            for (int b = 0; b < bytes; b++) _spelt[n++] = (byte)(i >> (8 * b));
        }
        return _spelt.AsSpan(0, n);
    }

    // Compresses the page and writes its header and bytes to the row group's body.
    private void WritePage(EncodedRowGroup rowGroup, int type, ReadOnlySpan<byte> page)
    {
        var body = rowGroup.Body;
        ReadOnlySpan<byte> stored = page;
        if (_codec == CompressionCodec.SNAPPY)
        {
            var compressed = rowGroup.Scratch(Snappier.Snappy.GetMaxCompressedLength(page.Length));
            stored = compressed[..Snappier.Snappy.Compress(page, compressed)];
        }
        long at = body.WrittenCount;
        var w = new ThriftCompact.Writer(body);
        short last = 0;
        w.WriteFieldHeader(ref last, 1, ThriftCompact.I32); w.WriteI64(type);
        w.WriteFieldHeader(ref last, 2, ThriftCompact.I32); w.WriteI64(page.Length);
        w.WriteFieldHeader(ref last, 3, ThriftCompact.I32); w.WriteI64(stored.Length);
        short inner = 0;
        if (type == DictionaryPage)
        {
            // DictionaryPageHeader: 1 num_values, 2 encoding, 3 is_sorted (a boolean is its field header's type).
            w.WriteFieldHeader(ref last, 7, ThriftCompact.Struct);
            w.WriteFieldHeader(ref inner, 1, ThriftCompact.I32); w.WriteI64(_runs);
            w.WriteFieldHeader(ref inner, 2, ThriftCompact.I32); w.WriteI64(PlainEncoding);
            w.WriteFieldHeader(ref inner, 3, ThriftCompact.True);
        }
        else
        {
            w.WriteFieldHeader(ref last, 5, ThriftCompact.Struct);
            w.WriteFieldHeader(ref inner, 1, ThriftCompact.I32); w.WriteI64(_rows);
            w.WriteFieldHeader(ref inner, 2, ThriftCompact.I32); w.WriteI64(_dictionary ? RleDictionaryEncoding : PlainEncoding);
            w.WriteFieldHeader(ref inner, 3, ThriftCompact.I32); w.WriteI64(RleEncoding);
            w.WriteFieldHeader(ref inner, 4, ThriftCompact.I32); w.WriteI64(RleEncoding);
            w.WriteFieldHeader(ref inner, 5, ThriftCompact.Struct);
            WriteStatistics(ref w);
        }
        w.WriteStop();
        w.WriteStop();
        long header = body.WrittenCount - at;
        body.Write(stored);
        _uncompressed += header + page.Length;
        _compressedSize += header + stored.Length;
    }

    public long UncompressedSize => _uncompressed;
    public long CompressedSize => _compressedSize;

    /// <summary>Writes the ColumnChunk metadata, its offsets counted from the row group body's first byte.</summary>
    public void WriteColumnChunk(ref ThriftCompact.Writer w)
    {
        short last = 0;
        w.WriteFieldHeader(ref last, 2, ThriftCompact.I64); w.WriteI64(_offset);
        w.WriteFieldHeader(ref last, 3, ThriftCompact.Struct);
        short m = 0;
        w.WriteFieldHeader(ref m, 1, ThriftCompact.I32); w.WriteI64(ByteArrayType);
        w.WriteFieldHeader(ref m, 2, ThriftCompact.List);
        w.WriteListHeader(ThriftCompact.I32, _dictionary ? 3 : 2); w.WriteI64(PlainEncoding); w.WriteI64(RleEncoding);
        if (_dictionary) w.WriteI64(RleDictionaryEncoding);
        w.WriteFieldHeader(ref m, 3, ThriftCompact.List); w.WriteListHeader(ThriftCompact.Binary, 1); w.WriteBinary(_path);
        w.WriteFieldHeader(ref m, 4, ThriftCompact.I32); w.WriteI64((int)_codec);
        w.WriteFieldHeader(ref m, 5, ThriftCompact.I64); w.WriteI64(_rows);
        w.WriteFieldHeader(ref m, 6, ThriftCompact.I64); w.WriteI64(_uncompressed);
        w.WriteFieldHeader(ref m, 7, ThriftCompact.I64); w.WriteI64(_compressedSize);
        w.WriteFieldHeader(ref m, 9, ThriftCompact.I64); w.WriteI64(_dataOffset);
        if (_dictionary) { w.WriteFieldHeader(ref m, 11, ThriftCompact.I64); w.WriteI64(_offset); }
        w.WriteFieldHeader(ref m, 12, ThriftCompact.Struct);
        WriteStatistics(ref w);
        w.WriteStop();
        w.WriteStop();
    }

    // Statistics: 1 max, 2 min (deprecated, still written), 3 null_count, 5 max_value, 6 min_value.
    private void WriteStatistics(ref ThriftCompact.Writer w)
    {
        short last = 0;
        bool minMax = _statistics && _minAt >= 0;
        if (minMax)
        {
            w.WriteFieldHeader(ref last, 1, ThriftCompact.Binary); w.WriteBinary(ValueAt(_maxAt));
            w.WriteFieldHeader(ref last, 2, ThriftCompact.Binary); w.WriteBinary(ValueAt(_minAt));
        }
        w.WriteFieldHeader(ref last, 3, ThriftCompact.I64); w.WriteI64(_nulls);
        if (minMax)
        {
            w.WriteFieldHeader(ref last, 5, ThriftCompact.Binary); w.WriteBinary(ValueAt(_maxAt));
            w.WriteFieldHeader(ref last, 6, ThriftCompact.Binary); w.WriteBinary(ValueAt(_minAt));
        }
        w.WriteStop();
    }

    /// <summary>
    /// Definition levels as Parquet.Net writes them: a 4-byte length, then RLE runs of equal levels
    /// (bit width 1, so one byte per run's value). Returns the bytes written to <c>_levels</c>.
    /// </summary>
    private int EncodeLevels()
    {
        int max = 4 + 2 * _rows + 8; // a run takes at most two bytes per level in it
        if (_levels.Length < max) _levels = new byte[Math.Max(max, _levels.Length * 2)];
        int n = 4;
        var defined = _defined.AsSpan(0, _rows);
        int i = 0;
        while (i < defined.Length)
        {
            byte v = defined[i];
            int run = defined[i..].IndexOfAnyExcept(v);
            if (run < 0) run = defined.Length - i;
            n += Util.VarInt.Write(_levels.AsSpan(n), (ulong)run << 1);
            _levels[n++] = v;
            i += run;
        }
        BinaryPrimitives.WriteInt32LittleEndian(_levels, n - 4);
        return n;
    }
}

/// <summary>
/// Whether a text column's chunks keep runs of equal values, which costs a comparison per value and pays
/// only where values come in runs in ascending order: the group key always; a column holding the key's
/// text, or one value per group, in most row groups; other columns never. A column keeps runs while they
/// pay; once they do not, it skips a row group, then two, four, up to 64 between tries (a key column fails
/// where the null group's rows are). Decided on the thread that fills the row groups, in their order: the
/// shards' bytes do not depend on timing or cores.
/// </summary>
internal sealed class RunPolicy(bool always)
{
    private const int MaxSkip = 64;
    private int _skip = 1, _left;

    /// <summary>Whether the next row group keeps runs.</summary>
    public bool Track { get; private set; } = true;

    public void Observe(bool kept, bool paid)
    {
        if (always) return;
        if (kept && paid) _skip = 1;
        else if (kept)
        {
            Track = false;
            _left = _skip;
            _skip = Math.Min(MaxSkip, _skip * 2);
        }
        else Track = --_left <= 0;
    }
}
