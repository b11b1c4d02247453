using System.Buffers;
using System.Runtime.CompilerServices;
using System.Buffers.Binary;
using Parquet.Meta;
using Parquet.Schema;

namespace Grouper.Format;

/// <summary>
/// A column chunk of a row group that Grouper encodes itself, as it is filled (<see cref="ByteArrayChunk"/>
/// for text and binary values, <see cref="FixedWidthChunk"/> for numbers, dates, times and timestamps): what
/// they share is the part of the format around the values. Definition levels as Parquet.Net writes them, one
/// data page (version 1 header) and perhaps a dictionary page before it, compressed with the shard's codec,
/// and the ColumnChunk metadata, with the fields and order Parquet.Net writes (tests compare the bytes).
/// </summary>
internal abstract class OwnChunk : ColumnSink
{
    // The metadata's Thrift enums, as Parquet.Net declares them (its reader is what PlainTextChunk falls back to).
    protected const int PlainEncoding = (int)Encoding.PLAIN, RleEncoding = (int)Encoding.RLE, RleDictionaryEncoding = (int)Encoding.RLE_DICTIONARY;
    private const int DataPage = (int)PageType.DATA_PAGE, DictionaryPage = (int)PageType.DICTIONARY_PAGE;

    private readonly int _physicalType;
    private readonly byte[] _path;
    private readonly CompressionCodec _codec;
    protected readonly bool _nullable;

    // Per row: 1 where it has a value, 0 where it is null (nullable columns only); rows so far and nulls among them.
    protected byte[] _defined = [];
    protected int _rows;
    protected int _nulls;
    private byte[] _levels = [];

    // Where the chunk went in the row group's body, and its sizes (page headers included, as the format counts them).
    private long _offset, _dataOffset;
    private long _uncompressed, _compressedSize;

    /// <summary>Set by <see cref="Encode"/>: the chunk has a dictionary page, and its data page holds indexes.</summary>
    protected bool _dictionary;

    protected OwnChunk(DataField field, bool nullable, CompressionCodec codec, Parquet.Meta.Type physicalType) : base(field)
    {
        if (codec is not (CompressionCodec.UNCOMPRESSED or CompressionCodec.SNAPPY)) throw new ArgumentOutOfRangeException(nameof(codec));
        _codec = codec;
        _nullable = nullable;
        _physicalType = (int)physicalType;
        _path = System.Text.Encoding.UTF8.GetBytes(field.Name);
    }

    public override void AppendNull(int row)
    {
        if (!_nullable) throw new InvalidDataException($"Column '{Field.Name}' is not nullable but a record has no value for it.");
        if (_rows >= _defined.Length) Grow(ref _defined, _rows);
        _defined[_rows++] = 0;
        _nulls++;
    }

    /// <summary>A row with a value: its definition level.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected void Define()
    {
        if (_nullable)
        {
            if (_rows >= _defined.Length) Grow(ref _defined, _rows);
            _defined[_rows] = 1;
        }
        _rows++;
    }

    /// <summary>A new row group, <paramref name="capacity"/> rows likely.</summary>
    protected void ResetRows(int capacity)
    {
        _rows = 0;
        _nulls = 0;
        if (_nullable && _defined.Length < capacity) _defined = new byte[Math.Max(capacity, _defined.Length * 2)];
    }

    /// <summary>The row group is complete (called on the thread that filled it, before <see cref="Encode"/>).</summary>
    public virtual void Seal() { }

    /// <summary>Writes the chunk (its pages) at the end of the row group's body: <see cref="BeginChunk"/>, then its pages.</summary>
    public abstract void Encode(EncodedRowGroup rowGroup);

    /// <summary>Statistics (of the data page header and of the column chunk): 1 max, 2 min (deprecated, still written), 3 null_count, 5 max_value, 6 min_value.</summary>
    protected abstract void WriteStatistics(ref ThriftCompact.Writer w);

    /// <summary>
    /// Statistics as Parquet.Net writes them: the bounds, when <paramref name="bounded"/> (max and min in the
    /// deprecated fields 1 and 2 and again in 5 and 6), and the null count.
    /// </summary>
    protected void WriteStatistics(ref ThriftCompact.Writer w, bool bounded, ReadOnlySpan<byte> min, ReadOnlySpan<byte> max)
    {
        short last = 0;
        if (bounded)
        {
            w.WriteFieldHeader(ref last, 1, ThriftCompact.Binary); w.WriteBinary(max);
            w.WriteFieldHeader(ref last, 2, ThriftCompact.Binary); w.WriteBinary(min);
        }
        w.WriteFieldHeader(ref last, 3, ThriftCompact.I64); w.WriteI64(_nulls);
        if (bounded)
        {
            w.WriteFieldHeader(ref last, 5, ThriftCompact.Binary); w.WriteBinary(max);
            w.WriteFieldHeader(ref last, 6, ThriftCompact.Binary); w.WriteBinary(min);
        }
        w.WriteStop();
    }

    protected void BeginChunk(EncodedRowGroup rowGroup)
    {
        _offset = rowGroup.Body.WrittenCount;
        _uncompressed = _compressedSize = 0;
    }

    /// <summary>
    /// Definition levels as Parquet.Net writes them: a 4-byte length, then RLE runs of equal levels
    /// (bit width 1, so one byte per run's value). Empty for a column that is not nullable.
    /// </summary>
    protected ReadOnlySpan<byte> EncodeLevels()
    {
        if (!_nullable) return [];
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
        return _levels.AsSpan(0, n);
    }

    /// <summary>
    /// The data page of values <c>page[reserve..end)</c>, the definition levels (of a nullable column) written
    /// into the room left before them. More levels than room: the values move up once, and the room stays that
    /// larger for the next row groups; <paramref name="moved"/> says by how much (offsets into the values move too).
    /// </summary>
    protected ReadOnlySpan<byte> LevelsBefore(ref byte[] page, ref int reserve, ref int end, out int moved)
    {
        moved = 0;
        if (!_nullable) return page.AsSpan(reserve, end - reserve);
        var levels = EncodeLevels();
        if (levels.Length > reserve)
        {
            moved = levels.Length - reserve + 64;
            if (page.Length - end < moved)
            {
                long size = Math.Max((long)page.Length * 2, (long)end + moved);
                if (size > Array.MaxLength) throw new InvalidDataException($"Column '{Field.Name}' has more than 2 GB of values in one row group.");
                Array.Resize(ref page, (int)size);
            }
            Buffer.BlockCopy(page, reserve, page, reserve + moved, end - reserve);
            reserve += moved;
            end += moved;
        }
        int start = reserve - levels.Length;
        levels.CopyTo(page.AsSpan(start));
        return page.AsSpan(start, end - start);
    }

    protected void WriteDictionaryPage(EncodedRowGroup rowGroup, ReadOnlySpan<byte> page, int entries, bool sorted) =>
        WritePage(rowGroup, DictionaryPage, page, entries, sorted);

    protected void WriteDataPage(EncodedRowGroup rowGroup, ReadOnlySpan<byte> page)
    {
        _dataOffset = rowGroup.Body.WrittenCount;
        WritePage(rowGroup, DataPage, page, 0, false);
    }

    // Compresses the page and writes its header and bytes to the row group's body.
    private void WritePage(EncodedRowGroup rowGroup, int type, ReadOnlySpan<byte> page, int entries, bool sorted)
    {
        var body = rowGroup.Body;
        ReadOnlySpan<byte> stored = page;
        if (_codec == CompressionCodec.SNAPPY)
        {
            var compressed = rowGroup.Scratch(SnappyEncoder.MaxLength(page.Length));
            stored = compressed[..SnappyEncoder.Compress(page, compressed)];
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
            w.WriteFieldHeader(ref inner, 1, ThriftCompact.I32); w.WriteI64(entries);
            w.WriteFieldHeader(ref inner, 2, ThriftCompact.I32); w.WriteI64(PlainEncoding);
            w.WriteFieldHeader(ref inner, 3, sorted ? ThriftCompact.True : ThriftCompact.False);
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
        w.WriteFieldHeader(ref m, 1, ThriftCompact.I32); w.WriteI64(_physicalType);
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
}

/// <summary>
/// A chunk whose values go into one PLAIN page as they come, each of a fixed width (<see cref="FixedWidthChunk"/>,
/// <see cref="DecimalChunk"/>): the page, its room for definition levels, and whether a value has set bounds.
/// </summary>
internal abstract class PlainValuesChunk : OwnChunk
{
    // The page: values from _reserve on; definition levels are placed just before them once they are known.
    protected byte[] _page = new byte[1 << 12];
    protected int _reserve;
    protected int _length;
    protected bool _any;
    protected readonly int _width; // a value's bytes in the page
    private readonly byte[] _bounds = new byte[32]; // min at 0, max at 16: as the statistics hold them

    protected PlainValuesChunk(DataField field, bool nullable, CompressionCodec codec, Parquet.Meta.Type physicalType, int width)
        : base(field, nullable, codec, physicalType)
    {
        if (width is < 1 or > 16) throw new ArgumentOutOfRangeException(nameof(width));
        _width = width;
        _reserve = nullable ? 64 : 0;
        _length = _reserve;
    }

    /// <summary>Writes the minimum and maximum of the values so far (there is one) as the page holds values.</summary>
    protected abstract void WriteBounds(Span<byte> min, Span<byte> max);

    protected override void WriteStatistics(ref ThriftCompact.Writer w)
    {
        var min = _bounds.AsSpan(0, _width);
        var max = _bounds.AsSpan(16, _width);
        if (_any) WriteBounds(min, max);
        WriteStatistics(ref w, _any, min, max);
    }

    public override void Reset(int capacity)
    {
        ResetRows(capacity);
        _length = _reserve;
        _any = false;
    }

    /// <summary>Room for a value of up to 16 bytes at <c>_length</c>, and its row's definition level.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected Span<byte> NextValue()
    {
        Define();
        if (_length + 16 > _page.Length) Array.Resize(ref _page, _page.Length * 2);
        return _page.AsSpan(_length);
    }

    public override void Encode(EncodedRowGroup rowGroup)
    {
        BeginChunk(rowGroup);
        WriteDataPage(rowGroup, LevelsBefore(ref _page, ref _reserve, ref _length, out _));
    }
}
