using System.Buffers.Binary;
using System.Text.Unicode;
using Microsoft.Win32.SafeHandles;
using Parquet.Meta;

namespace Grouper.Format;

/// <summary>A row group of a Parquet file, for column readers that read their chunk's bytes themselves.</summary>
/// <param name="Handle">The file (for column readers that read their chunk's bytes themselves).</param>
/// <param name="Path">Its path, for errors.</param>
/// <param name="Meta">The row group's footer entry.</param>
/// <param name="StreamAbove">Chunks larger than this (uncompressed) are streamed by <see cref="PlainTextChunk.TryBegin"/>.</param>
internal sealed record RowGroupFile(SafeFileHandle Handle, string Path, RowGroup Meta, long StreamAbove = PlainTextChunk.StreamAbove);

/// <summary>
/// A text column chunk read straight from the file's bytes when its values are PLAIN byte arrays or indexes
/// into a dictionary of them (what Parquet.Net and DuckDB write by default), in pages of version 1 or 2,
/// uncompressed or of any current codec: values become slices of one buffer per chunk, UTF-8 as stored, with
/// no string or UTF-16 copy made. Parquet.Net decodes text into UTF-16 on the way, which a scan, or a build
/// that stores UTF-8, has no use for, and whose buffers (tens of megabytes for a row group of DuckDB's size)
/// are garbage the collector must chase. A caller that wants characters gets them decoded when it asks.
/// Other chunks are not taken (<see cref="CanRead(ColumnChunk, int)"/>) and go through Parquet.Net, as do
/// chunks whose pages turn out to use another encoding (<see cref="NotPlainException"/>).
/// Used by the dataset reader (shards) and by Parquet sources, which also read INT32, INT64, FLOAT, DOUBLE,
/// boolean and fixed-length chunks this way (their PLAIN values and dictionaries are fixed-width slices).
/// Values of the other encodings of pages of version 2 (DELTA_BINARY_PACKED integers, which Parquet.Net 6.1
/// does not read for dates, timestamps or decimals; BYTE_STREAM_SPLIT numbers; DELTA_LENGTH_BYTE_ARRAY and
/// DELTA_BYTE_ARRAY text) are decoded into PLAIN values first.
/// </summary>
internal sealed class PlainTextChunk(GrouperErrorKind errorKind = GrouperErrorKind.InvalidDataset)
{
    private const int DataPage = 0, DictionaryPage = 2, DataPageV2 = 3;
    private const int PlainDictionary = 2, Rle = 3, RleDictionary = 8, DeltaBinaryPacked = 5, DeltaLengthByteArray = 6, DeltaByteArray = 7, ByteStreamSplit = 9;

    private byte[] _raw = [];
    private byte[] _page = [];
    private byte[] _data = [];
    private int _dataUsed;
    private int[] _starts = [];
    private int[] _lengths = []; // -1: null
    private int[] _dictStarts = [];
    private int[] _dictLengths = [];
    private int _dictCount = -1; // -1: no dictionary page read yet
    private int _first;          // the row of _starts[0]: rows before it were dropped (streaming)

    // The chunk being read: whole (its bytes in _raw, from _chunkStart) or streamed (a chunk too large to
    // hold: pages read from the file as rows are asked for).
    private bool _streaming;
    private long _wholeAtMost = long.MaxValue; // bytes of values a chunk read whole may take (TryBegin)

    // A DELTA_BYTE_ARRAY page of a streamed chunk whose values would take more than PendingAbove: its values
    // are written out a window of rows at a time (ReadPending) from its suffixes, prefix lengths and
    // definition levels, the last value written kept for the next one's prefix. Rows [_pendStart, _pendEnd).
    private const int PendingAbove = 4 << 20;
    private int _pendStart, _pendEnd, _pendValues, _pendValue, _pendFrom;
    private bool _pendOptional;
    private byte[] _pendSuffixes = [], _pendDefs = [], _pendLast = [];
    private int[] _pendPrefixes = [], _pendLengths = [];
    private SafeFileHandle? _file;
    private string _path = "";
    private long _chunkStart, _next, _end; // file offsets: the chunk's first page, the next page, the chunk's end
    private int _rows, _decoded; // rows in the chunk; rows decoded so far
    private bool _optional;
    private CompressionCodec _codec;
    private int _dictEnd;        // _data bytes that hold the dictionary (kept for the whole chunk)
    private byte[] _header = [];
    private int _width; // of a PLAIN value: 0 for byte arrays (text), Bits for booleans, else its bytes
    private int _fixedLength; // of the FIXED_LEN_BYTE_ARRAY chunk being read (its schema's type_length)
    private Parquet.Meta.Type _physical; // of the chunk being read: which encodings its pages may have (Decoded)
    private long[] _longs = [];   // DELTA_BINARY_PACKED values decoded (a page's values, or its byte arrays' lengths)
    // A leaf of a nested column (TryLoadLeveled): its levels' maxima, and each entry's levels (a value where the
    // definition level is the maximum, a null or an absent or empty container above it otherwise).
    private bool _leveled;
    private int _maxDef, _maxRep;
    private byte[] _defs = [], _reps = [];
    private int[] _prefixes = []; // DELTA_BYTE_ARRAY: each value's bytes shared with the value before

    // Booleans' PLAIN values are bits, the first in the lowest bit of the first byte: a value's start is its
    // byte and its "length" its bit plus one (GetBoolean).
    private const int Bits = -2;

    /// <summary>
    /// Chunks larger than this (uncompressed) are streamed by <see cref="TryBegin"/> rather than read whole, unless
    /// their row group is read ahead (<see cref="RowGroupFile.StreamAbove"/>).
    /// </summary>
    public const long StreamAbove = 8 << 20;

    public int Count { get; private set; }

    /// <summary>True when the chunk is streamed: only the rows of the last <see cref="Advance"/> (and a little more) are at hand.</summary>
    public bool Streaming => _streaming;

    /// <summary>Bytes this reader's buffers hold: what a source counts against its build's memory (tests check that a streamed chunk stays small).</summary>
    internal long BufferBytes => (long)_raw.Length + _page.Length + _data.Length + _header.Length + _defs.Length + _reps.Length
        + 4L * ((long)_starts.Length + _lengths.Length + _dictStarts.Length + _dictLengths.Length + _prefixes.Length) + 8L * _longs.Length
        + _pendSuffixes.Length + _pendDefs.Length + _pendLast.Length + 4L * ((long)_pendPrefixes.Length + _pendLengths.Length);

    public static bool CanRead(ColumnChunk chunk, int maxDefinitionLevel) => CanRead(chunk, maxDefinitionLevel, Parquet.Meta.Type.BYTE_ARRAY);

    /// <summary>
    /// As <see cref="CanRead(ColumnChunk, int)"/> for a chunk of <paramref name="physical"/> values: byte arrays
    /// (text), or the fixed-width INT32, INT64, FLOAT, DOUBLE and FIXED_LEN_BYTE_ARRAY (of
    /// <paramref name="fixedLength"/> bytes), whose PLAIN values and dictionaries are read the same way (each
    /// value a slice of the page, <see cref="GetUtf8"/>, as it lies), or booleans (PLAIN bits, <see cref="GetBoolean"/>).
    /// Pages uncompressed or compressed with any codec but LZO (Snappy, Zstd, Gzip, LZ4_RAW, Brotli, and the
    /// deprecated LZ4 in Hadoop's framing or without it): other engines write all of them (Polars Zstd by
    /// default), Parquet.Net's reading of a chunk costs two to three times Grouper's, in strings the collector
    /// must chase, and it reads Hadoop's LZ4 framing as a raw block (wrong values, silently).
    /// </summary>
    public static bool CanRead(ColumnChunk chunk, int maxDefinitionLevel, Parquet.Meta.Type physical, int fixedLength = 0)
    {
        var m = chunk.MetaData;
        if (m is null || chunk.FilePath is not null || m.Type != physical || WidthOf(physical, fixedLength) == -1 || maxDefinitionLevel > 1) return false;
        if (m.Codec is not (CompressionCodec.SNAPPY or CompressionCodec.UNCOMPRESSED or CompressionCodec.ZSTD or CompressionCodec.GZIP
            or CompressionCodec.LZ4_RAW or CompressionCodec.BROTLI or CompressionCodec.LZ4)) return false;
        // RLE: levels. BIT_PACKED: what parquet-mr (Spark, Hive) lists for the levels of a column that has none
        // of a kind (a page's own level encoding is checked as it is read).
        foreach (var e in m.Encodings ?? [])
            if (e is not (Encoding.PLAIN or Encoding.RLE or Encoding.BIT_PACKED or Encoding.PLAIN_DICTIONARY or Encoding.RLE_DICTIONARY)
                && !Decoded((int)e, WidthOf(physical, fixedLength), physical)) return false;
        return m.TotalCompressedSize is > 0 and <= int.MaxValue;
    }

    /// <summary>
    /// Reads the chunk of <paramref name="column"/> (a flat text column) in this row group if this reader
    /// decodes its pages; false when it does not, and the caller reads it through Parquet.Net.
    /// </summary>
    public bool TryLoad(RowGroupFile file, string column, bool nullable, int rows, Parquet.Meta.Type physical = Parquet.Meta.Type.BYTE_ARRAY, int fixedLength = 0)
    {
        var chunk = Find(file, column);
        _leveled = false;
        if (chunk is null || !CanRead(chunk, nullable ? 1 : 0, physical, fixedLength)) return false;
        _fixedLength = fixedLength;
        try
        {
            Load(file.Handle, file.Path, chunk, rows, nullable);
            return true;
        }
        catch (NotPlainException)
        {
            return false;
        }
    }

    /// <summary>
    /// As <see cref="TryLoad"/>, but a chunk larger than <paramref name="file"/>'s <see cref="RowGroupFile.StreamAbove"/> is not read whole: its
    /// rows are decoded window by window as <see cref="Advance"/> asks for them, with the chunk's dictionary
    /// and the pages of the current window in memory (a source's row group may be hundreds of megabytes).
    /// Its pages' headers are checked first, so that a chunk this reader cannot decode goes to Parquet.Net
    /// whole rather than failing half-way.
    /// </summary>
    public bool TryBegin(RowGroupFile file, string column, bool nullable, int rows, Parquet.Meta.Type physical = Parquet.Meta.Type.BYTE_ARRAY, int fixedLength = 0)
    {
        var chunk = Find(file, column);
        _leveled = false;
        if (chunk is null || !CanRead(chunk, nullable ? 1 : 0, physical, fixedLength)) return false;
        var m = chunk.MetaData!;
        // Read whole, a chunk holds each row's place (8 bytes) beside its values: a row group of millions of short
        // values (a 700 KB file of 10 million rows took 285 MB at a 64 MB budget) is streamed too.
        if (m.TotalUncompressedSize + 8L * rows <= file.StreamAbove && m.TotalCompressedSize <= file.StreamAbove)
        {
            // A chunk's sizes are its pages' as encoded: DELTA_BYTE_ARRAY values that share long prefixes take many
            // times more once read (a 72 KB file held 400 MB of them, and a build of it peaked at 975 MB with a
            // 64 MB budget). Read whole, the values may take what the sizes allow and a little more; past that the
            // chunk is read again, streamed.
            _wholeAtMost = file.StreamAbove + m.TotalUncompressedSize;
            try
            {
                return TryLoad(file, column, nullable, rows, physical, fixedLength);
            }
            catch (LargerThanItsSizesException)
            {
                if (_data.Length > StreamAbove) _data = [];
            }
            finally
            {
                _wholeAtMost = long.MaxValue;
            }
        }
        _fixedLength = fixedLength;
        try
        {
            Begin(file.Handle, file.Path, chunk, rows, nullable);
            return true;
        }
        catch (NotPlainException)
        {
            _streaming = false;
            return false;
        }
    }

    // Bytes of a value of a physical type as it is read: 0 for a byte array (its length comes first), Bits for
    // booleans, -1 for a type not read here (a fixed-length byte array of no length given, or of more than 16).
    private static int WidthOf(Parquet.Meta.Type physical, int fixedLength) => physical switch
    {
        Parquet.Meta.Type.BYTE_ARRAY => 0,
        Parquet.Meta.Type.BOOLEAN => Bits,
        Parquet.Meta.Type.INT32 or Parquet.Meta.Type.FLOAT => 4,
        Parquet.Meta.Type.INT64 or Parquet.Meta.Type.DOUBLE => 8,
        // 12 bytes in the page, 8 once read: Int96AsMicros turns each into the INT64 microseconds it is read as.
        Parquet.Meta.Type.INT96 => 8,
        Parquet.Meta.Type.FIXED_LEN_BYTE_ARRAY when fixedLength is > 0 and <= 16 => fixedLength,
        _ => -1,
    };

    /// <summary>
    /// Reads the chunk of a leaf of a nested column (<paramref name="path"/>, its path in the schema) whole, if this
    /// reader decodes its pages: every entry's repetition and definition levels (<see cref="RepetitionLevels"/>,
    /// <see cref="DefinitionLevels"/>), and the value of each entry whose definition level is
    /// <paramref name="maxDef"/>. False when it does not (pages it does not decode), and the caller
    /// reads the leaf through Parquet.Net. Entries are what <see cref="IsNull"/> and <see cref="GetUtf8"/> count.
    /// </summary>
    public bool TryLoadLeveled(RowGroupFile file, IReadOnlyList<string> path, int maxDef, int maxRep, Parquet.Meta.Type physical, bool mayStream = false)
    {
        ColumnChunk? chunk = null;
        foreach (var c in file.Meta.Columns)
            if (c.MetaData?.PathInSchema is { } p && p.SequenceEqual(path)) chunk = c;
        if (chunk is null || maxDef is < 0 or > 255 || maxRep is < 0 or > 255
            || !CanRead(chunk, 0, physical) || chunk.MetaData!.NumValues is < 0 or > int.MaxValue) return false;
        int entries = (int)chunk.MetaData.NumValues;
        _fixedLength = 0;
        var m = chunk.MetaData;
        // Read whole, each entry holds its place (8 bytes) and its levels (2) beside the values: a row group of
        // tens of millions of list elements is streamed, a window of entries at a time (Advance), when the reader
        // can take it so.
        bool stream = mayStream && (m.TotalUncompressedSize + 10L * entries > file.StreamAbove || m.TotalCompressedSize > file.StreamAbove);
        _leveled = true;
        (_maxDef, _maxRep) = (maxDef, maxRep);
        try
        {
            if (stream)
            {
                Begin(file.Handle, file.Path, chunk, entries, optional: maxDef > 0);
                return true;
            }
            if (_defs.Length < entries) { _defs = new byte[entries]; _reps = new byte[entries]; }
            Load(file.Handle, file.Path, chunk, entries, optional: maxDef > 0);
            return true;
        }
        catch (NotPlainException)
        {
            (_leveled, _streaming) = (false, false);
            return false;
        }
    }

    /// <summary>The entry (of a leaf read by <see cref="TryLoadLeveled"/>) or row whose levels and value are first in the buffers: 0 but for a streamed chunk.</summary>
    internal int First => _first;

    /// <summary>The entries' repetition levels, of a chunk read by <see cref="TryLoadLeveled"/> (its length is the array's; <see cref="Count"/> entries are the chunk's).</summary>
    public byte[] RepetitionLevels => _reps;

    /// <summary>The entries' definition levels, of a chunk read by <see cref="TryLoadLeveled"/>.</summary>
    public byte[] DefinitionLevels => _defs;

    private static ColumnChunk? Find(RowGroupFile file, string column)
    {
        foreach (var c in file.Meta.Columns)
            if (c.MetaData?.PathInSchema is [var name] && name == column) return c;
        return null;
    }

    /// <summary>Reads the chunk's <paramref name="rows"/> values; a page it cannot decode is an error (the file is damaged).</summary>
    public void Load(SafeFileHandle file, string path, ColumnChunk chunk, int rows, bool optional)
    {
        Start(file, path, chunk, rows, optional, streaming: false);
        // The whole chunk in one read: pages are then sliced from memory.
        int size = (int)chunk.MetaData!.TotalCompressedSize;
        if (_raw.Length < size) _raw = new byte[Math.Max(size, _raw.Length * 2)];
        if (RandomAccess.Read(file, _raw.AsSpan(0, size), _next) != size) throw Damaged(path, "its column chunk ends early");
        if (_starts.Length < rows) { _starts = new int[rows]; _lengths = new int[rows]; }
        DecodeTo(rows);
    }

    /// <summary>Streams the chunk (see <see cref="TryBegin"/>): checks its pages' headers; values are read by <see cref="Advance"/>.</summary>
    public void Begin(SafeFileHandle file, string path, ColumnChunk chunk, int rows, bool optional)
    {
        Start(file, path, chunk, rows, optional, streaming: true);
        // Every page's header first: a chunk with pages this reader does not decode is read another way.
        long pos = _next;
        int values = 0;
        while (values < rows)
        {
            if (pos >= _end) throw Damaged(path, $"its column chunk holds {values} of {rows} values");
            var h = HeaderAt(pos);
            if (h.CompressedSize < 0 || pos + h.HeaderLength + h.CompressedSize > _end) throw Damaged(path, "a page runs past its column chunk");
            CheckDecodable(h, _width, _physical, _optional, repeated: _leveled && _maxRep > 0);
            if (h.Type is DataPage or DataPageV2) values += h.Values;
            pos += h.HeaderLength + h.CompressedSize;
        }
    }

    private void Start(SafeFileHandle file, string path, ColumnChunk chunk, int rows, bool optional, bool streaming)
    {
        var m = chunk.MetaData!;
        // The chunk starts with its dictionary page when it has one.
        long offset = m.DictionaryPageOffset is > 0 and var d && d < m.DataPageOffset ? d : m.DataPageOffset;
        (_streaming, _file, _path, _chunkStart, _next, _end) = (streaming, file, path, offset, offset, offset + m.TotalCompressedSize);
        (_rows, _first, _decoded, _optional, _codec) = (rows, 0, 0, optional, m.Codec);
        _width = WidthOf(m.Type, _fixedLength);
        _physical = m.Type;
        _dataUsed = 0;
        _dictCount = -1;
        _dictEnd = 0;
        _pendStart = _pendEnd = 0;
        Count = rows;
    }

    /// <summary>
    /// Makes rows [<paramref name="from"/>, <paramref name="from"/> + <paramref name="count"/>) of a
    /// streamed chunk available, and drops the rows before <paramref name="from"/>: rows are asked for in
    /// order. Nothing to do for a chunk read whole.
    /// </summary>
    public void Advance(int from, int count)
    {
        if (!_streaming) return;
        if (from < _first || from > _decoded || from + count > _rows) throw new ArgumentOutOfRangeException(nameof(from), "Rows of a streamed chunk are asked for in order.");
        Drop(from);
        DecodeTo(from + count);
    }

    // Decodes pages until the rows before `target` are at hand.
    private void DecodeTo(int target)
    {
        while (_decoded < target)
        {
            if (_pendEnd > _decoded)
            {
                _decoded = ReadPending(target);
                continue;
            }
            if (_next >= _end) throw Damaged(_path, $"its column chunk holds {_decoded} of {_rows} values");
            var h = NextPage(out int body);
            CheckDecodable(h, _width, _physical, _optional, _leveled && _maxRep > 0);
            if (h.Type == DictionaryPage)
            {
                if (_dictCount >= 0 || _decoded > 0) throw Damaged(_path, "a dictionary page is not the chunk's first page");
                ReadDictionary(h, body, _codec, _path);
                _dictEnd = _dataUsed; // the dictionary stays at the start of the text buffer for the whole chunk
                continue;
            }
            if (h.Type is not (DataPage or DataPageV2)) continue; // index pages: nothing to read
            if (_decoded + h.Values > _rows) throw Damaged(_path, "its pages hold more values than the row group has rows");
            int need = _decoded - _first + h.Values;
            if (_starts.Length < need)
            {
                Array.Resize(ref _starts, Math.Max(need, _starts.Length * 2));
                Array.Resize(ref _lengths, _starts.Length);
            }
            if (_leveled && _defs.Length < need)
            {
                Array.Resize(ref _defs, Math.Max(need, _defs.Length * 2));
                Array.Resize(ref _reps, _defs.Length);
            }
            _decoded = _leveled ? ReadLeveledPage(h, body, _codec, _decoded, _path) : ReadPage(h, body, _codec, _decoded, _optional, _path);
        }
    }

    // The encodings of values this reader turns into PLAIN ones (AsVersion1): DELTA_BINARY_PACKED integers,
    // BYTE_STREAM_SPLIT fixed-width values, DELTA_LENGTH_BYTE_ARRAY byte arrays, DELTA_BYTE_ARRAY byte arrays and
    // fixed-length ones, and RLE
    // booleans (what parquet-mr and Arrow write in pages of version 2, and what Parquet.Net 6.1 misreads).
    private static bool Decoded(int encoding, int width, Parquet.Meta.Type physical) => encoding switch
    {
        Rle => width == Bits,
        DeltaBinaryPacked => physical is Parquet.Meta.Type.INT32 or Parquet.Meta.Type.INT64,
        ByteStreamSplit => width > 0 && physical != Parquet.Meta.Type.INT96,
        DeltaLengthByteArray => physical == Parquet.Meta.Type.BYTE_ARRAY,
        DeltaByteArray => physical is Parquet.Meta.Type.BYTE_ARRAY or Parquet.Meta.Type.FIXED_LEN_BYTE_ARRAY,
        _ => false,
    };

    // Other encodings (the deprecated BIT_PACKED, of values or of an optional column's definition levels) and
    // repeated values are Parquet.Net's to read.
    private static void CheckDecodable(in PageHeaderInfo h, int width, Parquet.Meta.Type physical, bool optional, bool repeated)
    {
        if (h.Type == DataPage && optional && h.DefinitionLevelEncoding != Rle && h.DefinitionLevelEncoding != -1) throw new NotPlainException();
        if (h.Type == DataPage && repeated && h.RepetitionLevelEncoding != Rle && h.RepetitionLevelEncoding != -1) throw new NotPlainException();
        bool data = h.Type is DataPage or DataPageV2;
        if (h.Type == DataPageV2 && h.RepetitionLength != 0 && !repeated) throw new NotPlainException();
        // Booleans have no dictionaries in the format; their values are PLAIN bits or RLE (Parquet.Net's then).
        if (width == Bits && h.Type is DictionaryPage || width == Bits && data && h.Encoding is not ((int)Encoding.PLAIN or Rle)) throw new NotPlainException();
        if (h.Type == DictionaryPage && h.Encoding is not ((int)Encoding.PLAIN or PlainDictionary)) throw new NotPlainException();
        if (data && h.Encoding is not ((int)Encoding.PLAIN or PlainDictionary or RleDictionary) && !Decoded(h.Encoding, width, physical)) throw new NotPlainException();
    }

    // Forgets the rows before `from`, and the page bytes only they used (the dictionary stays). Moving
    // what is kept costs as much as it keeps, so it waits until at least as many rows can go: each row is
    // then moved about once in all (a writer that puts a whole chunk in one page, as DuckDB does, would
    // otherwise have the rest of its page moved at every window).
    private void Drop(int from)
    {
        int drop = from - _first, keep = _decoded - from;
        if (drop <= 0 || drop < keep) return;
        Array.Copy(_starts, drop, _starts, 0, keep);
        Array.Copy(_lengths, drop, _lengths, 0, keep);
        if (_leveled)
        {
            Array.Copy(_defs, drop, _defs, 0, keep);
            Array.Copy(_reps, drop, _reps, 0, keep);
        }
        _first = from;
        // PLAIN values lie in the buffer in row order after the dictionary: the first one kept marks what can go.
        int lo = _dataUsed;
        for (int i = 0; i < keep; i++)
            if (_lengths[i] >= 0 && _starts[i] >= _dictEnd) { lo = _starts[i]; break; }
        int delta = lo - _dictEnd;
        if (delta <= 0) return;
        Buffer.BlockCopy(_data, lo, _data, _dictEnd, _dataUsed - lo);
        _dataUsed -= delta;
        for (int i = 0; i < keep; i++)
            if (_lengths[i] >= 0 && _starts[i] >= lo) _starts[i] -= delta;
    }

    // The header of the page at `pos` of a streamed chunk: read in a small window first, a larger one if its statistics are long.
    private PageHeaderInfo HeaderAt(long pos)
    {
        for (int size = 4096; ; size *= 4)
        {
            int n = (int)Math.Min(size, _end - pos);
            if (_header.Length < n) _header = new byte[n];
            if (RandomAccess.Read(_file!, _header.AsSpan(0, n), pos) != n) throw Damaged(_path, "its column chunk ends early");
            try { return new PageHeaderInfo(_header.AsSpan(0, n), this, _path); }
            catch (GrouperException) when (n < _end - pos) { /* cut short by the window: read more */ }
        }
    }

    // The next page, and where its (compressed) body starts in _raw: in the chunk read whole, or read from the file.
    private PageHeaderInfo NextPage(out int body)
    {
        PageHeaderInfo h;
        if (_streaming) h = HeaderAt(_next);
        else h = new PageHeaderInfo(_raw.AsSpan((int)(_next - _chunkStart), (int)(_end - _next)), this, _path);
        long at = _next + h.HeaderLength;
        if (h.CompressedSize < 0 || at + h.CompressedSize > _end) throw Damaged(_path, "a page runs past its column chunk");
        if (_streaming)
        {
            if (_raw.Length < h.CompressedSize) _raw = new byte[Math.Max(h.CompressedSize, _raw.Length * 2)];
            if (RandomAccess.Read(_file!, _raw.AsSpan(0, h.CompressedSize), at) != h.CompressedSize) throw Damaged(_path, "its column chunk ends early");
            body = 0;
        }
        else body = (int)(at - _chunkStart);
        _next = at + h.CompressedSize;
        return h;
    }

    /// <summary>The chunk has pages this reader does not decode: read it another way.</summary>
    public sealed class NotPlainException : Exception;

    // A chunk read whole whose values came to more than TryBegin allowed: it is streamed instead.
    private sealed class LargerThanItsSizesException : Exception;

    // A page decompressed into the scratch buffer (or copied there: its bytes are written to below).
    private Span<byte> Decompress(scoped in PageHeaderInfo h, int body, CompressionCodec codec, string path)
    {
        int size = PageSize(h, path);
        if (_page.Length < size) _page = new byte[Math.Max(size, _page.Length * 2)];
        Expand(h, body, _page, 0, size, codec, path);
        return _page.AsSpan(0, size);
    }

    // A page decompressed into the chunk's text buffer after what is there; its position there.
    private Span<byte> PageIntoData(scoped in PageHeaderInfo h, int body, CompressionCodec codec, string path, out int at)
    {
        int size = PageSize(h, path);
        if (_data.Length < _dataUsed + size) Array.Resize(ref _data, Math.Max(_dataUsed + size, _data.Length * 2));
        at = _dataUsed;
        Expand(h, body, _data, at, size, codec, path);
        _dataUsed += size;
        return _data.AsSpan(at, size);
    }

    // An uncompressed page's two sizes must agree: Expand checks that, for pages of either version.
    private int PageSize(in PageHeaderInfo h, string path)
    {
        int size = h.UncompressedSize;
        if (size < 0) throw Damaged(path, "a page's size is wrong");
        return size;
    }

    private readonly SnappyInto _snappy = new();

    // The page's body (at `body` in _raw) decompressed, or copied, into dest[at .. at + size).
    private void Expand(scoped in PageHeaderInfo h, int body, byte[] dest, int at, int size, CompressionCodec codec, string path) =>
        Expand(body, h.CompressedSize, dest, at, size, codec, path);

    // _raw[from .. from + length) decompressed, or copied, into dest[at .. at + size).
    private void Expand(int from, int length, byte[] dest, int at, int size, CompressionCodec codec, string path)
    {
        if (length < 0 || from + (long)length > _raw.Length) throw Damaged(path, "a page runs past its chunk");
        if (length == 0 && size == 0) return; // a page of version 2 whose values are all null: nothing was compressed
        if (codec == CompressionCodec.UNCOMPRESSED)
        {
            if (length != size) throw Damaged(path, "an uncompressed page has the wrong size");
            Buffer.BlockCopy(_raw, from, dest, at, size);
            return;
        }
        if (codec != CompressionCodec.SNAPPY)
        {
            ExpandOther(from, length, dest, at, size, codec, path);
            return;
        }
        if (!_snappy.TryDecompress(_raw, from, length, dest, at, size, out bool wrongSize))
            throw Damaged(path, wrongSize ? "a page decompresses to the wrong size" : "a page does not decompress");
    }


    // Zstd (frames), Gzip (RFC 1952 members, as Parquet's GZIP codec is), LZ4_RAW (an LZ4 block), LZ4 and
    // Brotli (a stream): exactly `size` bytes, or the page is damaged.
    private void ExpandOther(int from, int length, byte[] dest, int at, int size, CompressionCodec codec, string path)
    {
        var source = _raw.AsSpan(from, length);
        var target = dest.AsSpan(at, size);
        bool exact;
        try
        {
            switch (codec)
            {
                case CompressionCodec.ZSTD:
                    exact = ZstdInto.TryDecompress(source, target);
                    break;
                case CompressionCodec.LZ4_RAW:
                    // The spill's LZ4 block format (the system's liblz4 where it loads): a block that would
                    // overrun the target is refused, never written past it.
                    exact = Writer.SpillCodec.Preferred.Decompress(source, target) == size;
                    break;
                case CompressionCodec.LZ4:
                    // The deprecated codec: Hadoop's framing (parquet-mr's), or a raw block (older Arrow and
                    // Parquet.Net), told apart as Arrow's reader does, by trying the framing first.
                    exact = Lz4HadoopFrames(source, target) || Writer.SpillCodec.Preferred.Decompress(source, target) == size;
                    break;
                case CompressionCodec.BROTLI:
                    // Fails when the stream holds more than `size` bytes or is cut short.
                    exact = System.IO.Compression.BrotliDecoder.TryDecompress(source, target, out int brotli) && brotli == size;
                    break;
                case CompressionCodec.GZIP:
                {
                    using var gzip = new System.IO.Compression.GZipStream(new MemoryStream(_raw, from, length, writable: false), System.IO.Compression.CompressionMode.Decompress);
                    exact = gzip.ReadAtLeast(target, size, throwOnEndOfStream: false) == size && gzip.ReadByte() < 0
                        && GzipTrailerHolds(source, target);
                    break;
                }
                default:
                    throw new NotPlainException(); // CanRead takes no other codec
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or ArgumentException)
        {
            throw Damaged(path, "a page does not decompress");
        }
        if (!exact) throw Damaged(path, "a page decompresses to the wrong size");
    }

    // Hadoop's LZ4 framing: frames of a 4-byte big-endian decompressed length, a 4-byte big-endian compressed
    // length and an LZ4 block, which together fill the target exactly.
    private static bool Lz4HadoopFrames(ReadOnlySpan<byte> source, Span<byte> target)
    {
        int done = 0;
        while (source.Length >= 8)
        {
            uint expanded = BinaryPrimitives.ReadUInt32BigEndian(source), compressed = BinaryPrimitives.ReadUInt32BigEndian(source[4..]);
            source = source[8..];
            if (compressed > (uint)source.Length || expanded > (uint)(target.Length - done)) return false;
            if (Writer.SpillCodec.Preferred.Decompress(source[..(int)compressed], target.Slice(done, (int)expanded)) != (int)expanded) return false;
            source = source[(int)compressed..];
            done += (int)expanded;
        }
        return source.IsEmpty && done == target.Length;
    }

    // .NET's GZipStream checks a member's trailer (the CRC-32 and the length of what it holds) only when it is
    // there: a page cut there alone decompresses whole. The page's last 8 bytes must then be its last member's
    // trailer: the CRC-32 and length of the end of what the page holds. Writers make a page one member
    // (Parquet.Net, Arrow); a page of several members holds too, as GZipStream checked the others' trailers.
    internal static bool GzipTrailerHolds(ReadOnlySpan<byte> page, ReadOnlySpan<byte> content)
    {
        if (page.Length < 18) return false; // a 10-byte header and the 8-byte trailer at least
        uint last = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(page[^4..]);
        return last <= (uint)content.Length
            && System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(page[^8..]) == System.IO.Hashing.Crc32.HashToUInt32(content[^(int)last..]);
    }

    private void ReadDictionary(in PageHeaderInfo h, int body, CompressionCodec codec, string path)
    {
        var page = PageIntoData(h, body, codec, path, out int at);
        if (_physical == Parquet.Meta.Type.INT96) page = page[..Int96AsMicros(page)];
        if (_dictStarts.Length < h.Values) { _dictStarts = new int[h.Values]; _dictLengths = new int[h.Values]; }
        int p = 0;
        for (int i = 0; i < h.Values; i++) p = Value(page, p, at, out _dictStarts[i], out _dictLengths[i], path);
        if (_width == 0) CheckText(page[..p], path);
        _dictCount = h.Values;
    }

    [System.Runtime.CompilerServices.MethodImpl(Util.Hot.Path)]
    private int ReadPage(scoped in PageHeaderInfo h, int body, CompressionCodec codec, int row, bool optional, string path)
    {
        // PLAIN values are handed out where they lie: the page is decompressed into the chunk's text buffer
        // (the slices of every page stay valid together). Dictionary indexes are read from a scratch buffer.
        bool plain = h.Encoding == (int)Encoding.PLAIN;
        int at = 0;
        Span<byte> page;
        bool decoded = Decoded(h.Encoding, _width, _physical); // CheckDecodable took no other page
        if (h.Type == DataPageV2 || decoded)
        {
            // Laid out as a page of version 1 with PLAIN or dictionary-index values, which the rest reads.
            page = AsVersion1(h, body, codec, optional, path, out at);
            if (at < 0)
            {
                // Too large to lay out whole: its rows are read as they are asked for (ReadPending).
                (_pendStart, _pendEnd) = (row, row + h.Values);
                return row;
            }
            plain |= decoded;
        }
        else if (plain) page = PageIntoData(h, body, codec, path, out at);
        else page = Decompress(h, body, codec, path);
        int p = 0;
        int end = row + h.Values;
        scoped HybridInts defined = default;
        if (optional)
        {
            // 4-byte length, then the definition levels, inside the decompressed page.
            if (page.Length < 4) throw Damaged(path, "a page ends in its levels");
            int len = BinaryPrimitives.ReadInt32LittleEndian(page);
            if (len < 0 || 4 + len > page.Length) throw Damaged(path, "a page's definition levels are too long");
            defined = new HybridInts(page.Slice(4, len), 1, this, path);
            p = 4 + len;
        }
        if (plain && _physical == Parquet.Meta.Type.INT96) page = page[..(p + Int96AsMicros(page[p..]))];
        if (plain && _width == Bits)
        {
            int bit = 0;
            for (int r = row - _first; r < end - _first; r++)
            {
                if (optional && defined.Next() == 0) { _lengths[r] = -1; _starts[r] = 0; continue; }
                int at8 = p + (bit >> 3);
                if (at8 >= page.Length) throw Damaged(path, "a page holds fewer values than its header says");
                _starts[r] = at + at8;
                _lengths[r] = 1 + (bit & 7);
                bit++;
            }
        }
        else if (plain)
        {
            int first = p;
            for (int r = row - _first; r < end - _first; r++)
            {
                if (optional && defined.Next() == 0) { _lengths[r] = -1; _starts[r] = 0; continue; }
                p = Value(page, p, at, out _starts[r], out _lengths[r], path);
            }
            if (_width == 0) CheckText(page[first..p], path);
        }
        else
        {
            // Dictionary indexes: a byte with their bit width, then the RLE/bit-packed hybrid encoding.
            if (_dictCount < 0) throw Damaged(path, "a dictionary-encoded page without a dictionary");
            if (p >= page.Length) throw Damaged(path, "a page ends before its dictionary indexes");
            int width = page[p];
            if (width > 32) throw Damaged(path, "dictionary indexes wider than 32 bits");
            var indexes = new HybridInts(page[(p + 1)..], width, this, path);
            for (int r = row - _first; r < end - _first; r++)
            {
                if (optional && defined.Next() == 0) { _lengths[r] = -1; _starts[r] = 0; continue; }
                int i = indexes.Next();
                if ((uint)i >= (uint)_dictCount) throw Damaged(path, "a dictionary index is out of range");
                _starts[r] = _dictStarts[i];
                _lengths[r] = _dictLengths[i];
            }
        }
        return end;
    }

    // A page of a nested column's leaf (TryLoadLeveled): each entry's repetition and definition levels, then the
    // values of the entries defined to the leaf, as ReadPage reads them (PLAIN where they lie, or dictionary
    // indexes). Rows are entries here, and the chunk is read whole.
    private int ReadLeveledPage(scoped in PageHeaderInfo h, int body, CompressionCodec codec, int row, string path)
    {
        bool plain = h.Encoding == (int)Encoding.PLAIN;
        int at = 0;
        Span<byte> page;
        bool decoded = Decoded(h.Encoding, _width, _physical);
        if (h.Type == DataPageV2 || decoded)
        {
            page = AsVersion1(h, body, codec, _optional, path, out at);
            plain |= decoded;
        }
        else if (plain) page = PageIntoData(h, body, codec, path, out at);
        else page = Decompress(h, body, codec, path);
        // Entries are counted in the chunk; the buffers hold them from _first (a streamed chunk's window).
        int end = row + h.Values, p = 0;
        p = ReadLevels(page, p, _reps, row - _first, end - _first, _maxRep, path);
        p = ReadLevels(page, p, _defs, row - _first, end - _first, _maxDef, path);
        if (plain && _width == Bits)
        {
            // Booleans: a bit for each entry defined to the leaf, as a flat column's (ReadPage).
            int bit = 0;
            for (int r = row - _first; r < end - _first; r++)
            {
                if (_defs[r] < _maxDef) { _lengths[r] = -1; _starts[r] = 0; continue; }
                int at8 = p + (bit >> 3);
                if (at8 >= page.Length) throw Damaged(path, "a page holds fewer values than its header says");
                _starts[r] = at + at8;
                _lengths[r] = 1 + (bit & 7);
                bit++;
            }
            return end;
        }
        if (plain)
        {
            int first = p;
            for (int r = row - _first; r < end - _first; r++)
            {
                if (_defs[r] < _maxDef) { _lengths[r] = -1; _starts[r] = 0; continue; }
                p = Value(page, p, at, out _starts[r], out _lengths[r], path);
            }
            if (_width == 0) CheckText(page[first..p], path);
            return end;
        }
        if (_dictCount < 0) throw Damaged(path, "a dictionary-encoded page without a dictionary");
        if (p >= page.Length) throw Damaged(path, "a page ends before its dictionary indexes");
        int width = page[p];
        if (width > 32) throw Damaged(path, "dictionary indexes wider than 32 bits");
        var indexes = new HybridInts(page[(p + 1)..], width, this, path);
        for (int r = row - _first; r < end - _first; r++)
        {
            if (_defs[r] < _maxDef) { _lengths[r] = -1; _starts[r] = 0; continue; }
            int i = indexes.Next();
            if ((uint)i >= (uint)_dictCount) throw Damaged(path, "a dictionary index is out of range");
            _starts[r] = _dictStarts[i];
            _lengths[r] = _dictLengths[i];
        }
        return end;
    }

    // One kind of levels of entries [from, end) at p (after their 4-byte length), into `into`; all 0 when the
    // leaf's maximum is 0 (the page has none). Where the page's values start.
    private int ReadLevels(ReadOnlySpan<byte> page, int p, byte[] into, int from, int end, int max, string path)
    {
        if (max == 0)
        {
            into.AsSpan(from, end - from).Clear();
            return p;
        }
        var bytes = LevelsAt(page, ref p, path);
        var levels = new HybridInts(bytes, 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)max), this, path);
        for (int r = from; r < end; r++)
        {
            int v = levels.Next();
            if ((uint)v > (uint)max) throw Damaged(path, "a level is above its column's deepest");
            into[r] = (byte)v;
        }
        return p;
    }

    // INT96 timestamps (the deprecated type Spark, Hive and Impala write): 8 bytes of nanoseconds within the
    // day, then 4 of the Julian day, little-endian. Each is rewritten in place, in the order they lie, as the
    // INT64 microseconds since the Unix epoch the column is read as (Kind Timestamp, of microseconds, UTC: the
    // column Parquet.Net's reading gives, so that a file reads the same either way). Rounded as Parquet.Net's
    // reading and the shard's writing round: nanoseconds to ticks toward zero, ticks to microseconds down. A
    // day outside .NET's years 1-9999 becomes long.MinValue, which reading the timestamp refuses as out of
    // range (Parquet.Net's reading moves a year before 1 to year 1). Returns the bytes the values now take.
    internal static int Int96AsMicros(Span<byte> values)
    {
        const int JulianDayOfEpoch = 2_440_588, FirstJulianDay = 1_721_426, LastJulianDay = 5_373_484; // 1970-01-01, 0001-01-01, 9999-12-31
        int n = values.Length / 12;
        for (int i = 0; i < n; i++)
        {
            // Read whole before the 8 bytes are written: they overlap this value only for the first two.
            long nanos = BinaryPrimitives.ReadInt64LittleEndian(values[(12 * i)..]);
            int day = BinaryPrimitives.ReadInt32LittleEndian(values[(12 * i + 8)..]);
            long micros = long.MinValue;
            if (day is >= FirstJulianDay and <= LastJulianDay)
            {
                long ticks = (day - JulianDayOfEpoch) * TimeSpan.TicksPerDay + nanos / 100; // days of years 1-9999: no overflow
                micros = ticks / 10 - (ticks % 10 < 0 ? 1 : 0);
            }
            BinaryPrimitives.WriteInt64LittleEndian(values[(8 * i)..], micros);
        }
        return 8 * n;
    }

    // A page of version 2 (levels uncompressed before the values, the values compressed alone, or not at all)
    // or of values of another encoding (Decoded), written as the page of version 1 it stands for: the
    // definition levels after their 4-byte length (for an optional column), then the values, PLAIN (decoded)
    // or dictionary indexes as they were. PLAIN values go into the text buffer, as PageIntoData's do.
    private Span<byte> AsVersion1(scoped in PageHeaderInfo h, int body, CompressionCodec codec, bool optional, string path, out int at)
    {
        bool decoded = Decoded(h.Encoding, _width, _physical);
        bool repeated = _leveled && _maxRep > 0; // repetition levels before the definition levels
        ReadOnlySpan<byte> levels, repLevels = default;
        int valuesSize, valuesFrom = 0; // the values' bytes in _page
        if (h.Type == DataPageV2)
        {
            int rep = h.RepetitionLength, def = h.DefinitionLength;
            if (rep < 0 || def < 0 || rep + (long)def > Math.Min(h.CompressedSize, h.UncompressedSize)) throw Damaged(path, "a page's levels are longer than the page");
            if (!optional && def != 0) throw Damaged(path, "a page of a required column has definition levels");
            levels = _raw.AsSpan(body + rep, def);
            repLevels = _raw.AsSpan(body, rep);
            valuesSize = h.UncompressedSize - rep - def;
            int from = body + rep + def, length = h.CompressedSize - rep - def;
            var compression = h.ValuesCompressed ? codec : CompressionCodec.UNCOMPRESSED;
            if (!decoded)
            {
                // Into place: levels, then the values decompressed after them.
                int prefix = (repeated ? 4 + rep : 0) + (optional ? 4 + def : 0);
                byte[] dest;
                if (h.Encoding == (int)Encoding.PLAIN)
                {
                    if (_data.Length < _dataUsed + prefix + valuesSize) Array.Resize(ref _data, Math.Max(_dataUsed + prefix + valuesSize, _data.Length * 2));
                    (dest, at) = (_data, _dataUsed);
                    _dataUsed += prefix + valuesSize;
                }
                else
                {
                    if (_page.Length < prefix + valuesSize) _page = new byte[Math.Max(prefix + valuesSize, _page.Length * 2)];
                    (dest, at) = (_page, 0);
                }
                WriteLevels(dest.AsSpan(at, prefix), repeated, repLevels, optional, levels);
                Expand(from, length, dest, at + prefix, valuesSize, compression, path);
                return dest.AsSpan(at, prefix + valuesSize);
            }
            if (_page.Length < valuesSize) _page = new byte[Math.Max(valuesSize, _page.Length * 2)];
            Expand(from, length, _page, 0, valuesSize, compression, path);
        }
        else
        {
            // Version 1: the whole page compressed, levels inside it.
            var whole = Decompress(h, body, codec, path);
            int skip = 0;
            if (repeated) repLevels = LevelsAt(whole, ref skip, path);
            levels = optional ? LevelsAt(whole, ref skip, path) : default;
            valuesSize = whole.Length - skip;
            valuesFrom = skip;
        }
        var src = _page.AsSpan(valuesFrom, valuesSize);
        int head = (repeated ? 4 + repLevels.Length : 0) + (optional ? 4 + levels.Length : 0);
        // The PLAIN values' size, and what must be read before they can be written.
        int count, consumed = 0;
        long size;
        switch (h.Encoding)
        {
            case Rle:
                // Booleans: a 4-byte length, then runs of bit width 1 (RLE or bit-packed), decoded below.
                count = 0;
                size = (h.Values + 7) / 8;
                break;
            case DeltaBinaryPacked:
                DecodeDeltas(src, h.Values, path, out count);
                size = (long)count * _width;
                break;
            case ByteStreamSplit:
                // Each value's first bytes, then their second bytes, and so on: as many values as the page holds.
                if (valuesSize % _width != 0 || valuesSize / _width > h.Values) throw Damaged(path, "a page's BYTE_STREAM_SPLIT values do not fill it");
                count = valuesSize / _width;
                size = valuesSize;
                break;
            case DeltaLengthByteArray:
                // The lengths (DELTA_BINARY_PACKED), then the values' bytes one after the other.
                consumed = DecodeDeltas(src, h.Values, path, out count);
                size = 4L * count + ByteArrayLengths(count, src.Length - consumed, path);
                break;
            default: // DeltaByteArray
            {
                // The lengths of the prefixes each value shares with the value before, then the suffixes as
                // DELTA_LENGTH_BYTE_ARRAY.
                consumed = DecodeDeltas(src, h.Values, path, out count);
                if (_prefixes.Length < count) _prefixes = new int[Math.Max(count, _prefixes.Length * 2)];
                long total = 0;
                for (int i = 0; i < count; i++)
                {
                    long prefix = _longs[i];
                    if (prefix is < 0 or > int.MaxValue) throw Damaged(path, "a page's DELTA_BYTE_ARRAY prefix is longer than the value before");
                    _prefixes[i] = (int)prefix;
                    total += prefix;
                }
                consumed += DecodeDeltas(src[consumed..], h.Values, path, out int suffixCount);
                if (suffixCount != count) throw Damaged(path, "a page's DELTA_BYTE_ARRAY prefixes and suffixes differ in number");
                long suffixes = ByteArrayLengths(count, src.Length - consumed, path);
                // A prefix is at most the value before, whole (its prefix and its suffix); the first has none. A
                // fixed-length value is its type's length, and PLAIN has no length before it.
                for (int i = 0; i < count; i++)
                {
                    if (_prefixes[i] > (i == 0 ? 0 : _prefixes[i - 1] + _longs[i - 1])) throw Damaged(path, "a page's DELTA_BYTE_ARRAY prefix is longer than the value before");
                    if (_width > 0 && _prefixes[i] + _longs[i] != _width) throw Damaged(path, "a page's DELTA_BYTE_ARRAY value is not its column's length");
                }
                size = (_width > 0 ? 0 : 4L * count) + total + suffixes;
                if (_streaming && !_leveled && _width == 0 && size > PendingAbove)
                {
                    BeginPending(h.Values, count, optional, levels, src.Slice(consumed, (int)suffixes), path);
                    at = -1;
                    return default;
                }
                break;
            }
        }
        long room = head + size;
        // Only values decoded here take more than the chunk's sizes say (PLAIN pages and dictionaries take what they
        // are): a chunk read whole stops before writing them out past what TryBegin allowed.
        if (!_streaming && _dataUsed + room > _wholeAtMost) throw new LargerThanItsSizesException();
        if (room > int.MaxValue - _dataUsed) throw Damaged(path, "a page's values are too large");
        if (_data.Length < _dataUsed + room) Array.Resize(ref _data, (int)Math.Min(int.MaxValue, Math.Max(_dataUsed + room, _data.Length * 2L)));
        at = _dataUsed;
        var outPage = _data.AsSpan(at, (int)room);
        WriteLevels(outPage[..head], repeated, repLevels, optional, levels);
        var values = outPage[head..];
        switch (h.Encoding)
        {
            case Rle:
            {
                // As PLAIN bits, the first in the lowest bit of the first byte: as many as the runs hold, at
                // most the page's values (a bit-packed run fills its last group of eight).
                values.Clear();
                int bits = BooleanRuns(src, values, h.Values, path);
                int used = head + (bits + 7) / 8;
                _dataUsed += used;
                return outPage[..used];
            }
            case DeltaBinaryPacked:
                for (int i = 0; i < count; i++) Put(values, i, _longs[i]);
                break;
            case ByteStreamSplit:
                for (int k = 0; k < _width; k++)
                {
                    var stream = src.Slice(k * count, count);
                    for (int i = 0; i < count; i++) values[i * _width + k] = stream[i];
                }
                break;
            case DeltaLengthByteArray:
            {
                int from = consumed, p = 0;
                for (int i = 0; i < count; i++)
                {
                    int len = (int)_longs[i];
                    BinaryPrimitives.WriteInt32LittleEndian(values[p..], len);
                    src.Slice(from, len).CopyTo(values[(p + 4)..]);
                    from += len;
                    p += 4 + len;
                }
                break;
            }
            default: // DeltaByteArray: each value its predecessor's first bytes, then its own suffix
            {
                int from = consumed, p = 0, before = 0, lengthBytes = _width > 0 ? 0 : 4;
                for (int i = 0; i < count; i++)
                {
                    int prefix = _prefixes[i], suffix = (int)_longs[i];
                    if (lengthBytes > 0) BinaryPrimitives.WriteInt32LittleEndian(values[p..], prefix + suffix);
                    values.Slice(before, prefix).CopyTo(values[(p + lengthBytes)..]);
                    src.Slice(from, suffix).CopyTo(values[(p + lengthBytes + prefix)..]);
                    from += suffix;
                    before = p + lengthBytes;
                    p += lengthBytes + prefix + suffix;
                }
                break;
            }
        }
        _dataUsed += (int)room;
        return outPage;
    }

    // Keeps what a DELTA_BYTE_ARRAY page's values are made of (AsVersion1 checked the prefixes against the values
    // before them and the suffixes' lengths against their bytes): written out by ReadPending.
    private void BeginPending(int rows, int values, bool optional, ReadOnlySpan<byte> levels, ReadOnlySpan<byte> suffixes, string path)
    {
        if (optional)
        {
            if (_pendDefs.Length < rows) _pendDefs = new byte[rows];
            var defined = new HybridInts(levels, 1, this, path);
            for (int i = 0; i < rows; i++) _pendDefs[i] = (byte)defined.Next();
        }
        if (_pendSuffixes.Length < suffixes.Length) _pendSuffixes = new byte[suffixes.Length];
        suffixes.CopyTo(_pendSuffixes);
        if (_pendPrefixes.Length < values) { _pendPrefixes = new int[values]; _pendLengths = new int[values]; }
        _prefixes.AsSpan(0, values).CopyTo(_pendPrefixes);
        for (int i = 0; i < values; i++) _pendLengths[i] = (int)_longs[i];
        (_pendValues, _pendValue, _pendFrom, _pendOptional) = (values, 0, 0, optional);
    }

    // Writes the pending page's rows up to `target` (or its end) into the text buffer, as a PLAIN page's lie.
    private int ReadPending(int target)
    {
        int end = Math.Min(target, _pendEnd), written = _dataUsed;
        for (int row = _decoded; row < end; row++)
        {
            int r = row - _first;
            if (_pendOptional && _pendDefs[row - _pendStart] == 0) { _lengths[r] = -1; _starts[r] = 0; continue; }
            if (_pendValue >= _pendValues) throw Damaged(_path, "a page holds fewer values than its header says");
            int prefix = _pendPrefixes[_pendValue], suffix = _pendLengths[_pendValue++], length = prefix + suffix;
            if ((long)_dataUsed + length > int.MaxValue) throw Damaged(_path, "a page's values are too large");
            if (_data.Length < _dataUsed + length) Array.Resize(ref _data, (int)Math.Min(int.MaxValue, Math.Max(_dataUsed + (long)length, _data.Length * 2L)));
            if (_pendLast.Length < length) Array.Resize(ref _pendLast, Math.Max(length, _pendLast.Length * 2));
            // The value before, cut to this one's prefix, then its own suffix.
            _pendSuffixes.AsSpan(_pendFrom, suffix).CopyTo(_pendLast.AsSpan(prefix));
            _pendFrom += suffix;
            _pendLast.AsSpan(0, length).CopyTo(_data.AsSpan(_dataUsed));
            (_starts[r], _lengths[r]) = (_dataUsed, length);
            _dataUsed += length;
        }
        CheckText(_data.AsSpan(written, _dataUsed - written), _path);
        return end;
    }

    // Levels of a page of version 1 at `at`: their 4-byte length, then their bytes (moved past).
    private ReadOnlySpan<byte> LevelsAt(ReadOnlySpan<byte> page, scoped ref int at, string path)
    {
        if (page.Length - at < 4) throw Damaged(path, "a page ends in its levels");
        int len = BinaryPrimitives.ReadInt32LittleEndian(page[at..]);
        if (len < 0 || len > page.Length - at - 4) throw Damaged(path, "a page's levels are too long");
        at += 4 + len;
        return page.Slice(at - len, len);
    }

    // Levels laid out as a page of version 1 has them: the repetition levels (of a repeated leaf), then the
    // definition levels (of an optional one), each after its 4-byte length.
    private static void WriteLevels(Span<byte> into, bool repeated, ReadOnlySpan<byte> repLevels, bool optional, ReadOnlySpan<byte> defLevels)
    {
        if (repeated)
        {
            BinaryPrimitives.WriteInt32LittleEndian(into, repLevels.Length);
            repLevels.CopyTo(into[4..]);
            into = into[(4 + repLevels.Length)..];
        }
        if (optional)
        {
            BinaryPrimitives.WriteInt32LittleEndian(into, defLevels.Length);
            defLevels.CopyTo(into[4..]);
        }
    }

    // RLE booleans (a 4-byte length, then the RLE/bit-packed hybrid of bit width 1) into bits; how many.
    private int BooleanRuns(ReadOnlySpan<byte> src, Span<byte> bits, int most, string path)
    {
        if (src.Length < 4) throw Damaged(path, "a page's RLE booleans end early");
        int len = BinaryPrimitives.ReadInt32LittleEndian(src);
        if (len < 0 || 4 + len > src.Length) throw Damaged(path, "a page's RLE booleans run past it");
        var data = src.Slice(4, len);
        int pos = 0, n = 0;
        while (pos < data.Length && n < most)
        {
            ulong header = 0;
            for (int shift = 0; ; shift += 7)
            {
                if (pos >= data.Length || shift > 35) throw Damaged(path, "a page's RLE booleans end early");
                byte b = data[pos++];
                header |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) break;
            }
            if ((header & 1) == 0)
            {
                // A run of one value, in one byte.
                if (pos >= data.Length) throw Damaged(path, "a page's RLE booleans end early");
                bool one = (data[pos++] & 1) != 0;
                long run = (long)(header >> 1);
                for (long k = 0; k < run && n < most; k++, n++)
                    if (one) bits[n >> 3] |= (byte)(1 << (n & 7));
            }
            else
            {
                // Groups of eight values, a byte each, the first in the lowest bit.
                long groups = (long)(header >> 1);
                if (pos + groups > data.Length) throw Damaged(path, "a page's RLE booleans end early");
                for (long g = 0; g < groups; g++)
                {
                    byte b = data[pos++];
                    for (int k = 0; k < 8 && n < most; k++, n++)
                        if ((b >> k & 1) != 0) bits[n >> 3] |= (byte)(1 << (n & 7));
                }
            }
        }
        return n;
    }

    // The byte arrays' lengths, in _longs[0 .. count): each one non-negative, all together within `available` bytes. Their sum.
    private long ByteArrayLengths(int count, int available, string path)
    {
        long sum = 0;
        for (int i = 0; i < count; i++)
        {
            long len = _longs[i];
            if (len < 0 || (sum += len) > available) throw Damaged(path, "a page's byte arrays run past it");
        }
        return sum;
    }

    // DELTA_BINARY_PACKED integers (the format's encoding of INT32 and INT64, and of byte arrays' lengths:
    // blocks of miniblocks of bit-packed deltas from a block's minimum) into _longs[0 .. count). Arithmetic
    // wraps, as the format says; an INT32 column's values are the low 32 bits. The bytes read.
    private int DecodeDeltas(ReadOnlySpan<byte> src, int most, string path, out int count)
    {
        int pos = 0;
        ulong blockSize = Uleb(src, ref pos, path), miniblocks = Uleb(src, ref pos, path), total = Uleb(src, ref pos, path);
        long value = Zigzag(Uleb(src, ref pos, path));
        if (blockSize == 0 || blockSize % 128 != 0 || blockSize > 1 << 20 || miniblocks == 0 || blockSize % miniblocks != 0 || blockSize / miniblocks % 32 != 0)
            throw Damaged(path, "a page's DELTA_BINARY_PACKED header is wrong");
        if (total > (ulong)most) throw Damaged(path, "a page holds more values than its header says");
        count = (int)total;
        int perMini = (int)(blockSize / miniblocks), minis = (int)miniblocks;
        if (count == 0) return pos;
        if (_longs.Length < count) _longs = new long[Math.Max(count, _longs.Length * 2)];
        _longs[0] = value;
        int n = 1;
        while (n < count)
        {
            long minDelta = Zigzag(Uleb(src, ref pos, path));
            if (pos + minis > src.Length) throw Damaged(path, "a page's DELTA_BINARY_PACKED values end early");
            var widths = src.Slice(pos, minis);
            pos += minis;
            for (int m = 0; m < minis && n < count; m++)
            {
                int w = widths[m];
                if (w > 64) throw Damaged(path, "a page's DELTA_BINARY_PACKED bit width is over 64");
                int take = Math.Min(perMini, count - n);
                // A miniblock's bits: all of it, or (the last one) at least the bits of the values it holds.
                long bits = (long)take * w;
                if (pos + ((bits + 7) >> 3) > src.Length) throw Damaged(path, "a page's DELTA_BINARY_PACKED values end early");
                var packed = src[pos..];
                for (int i = 0; i < take; i++)
                {
                    value = unchecked(value + minDelta + (long)ReadBits(packed, (long)i * w, w));
                    _longs[n++] = value;
                }
                pos = (int)Math.Min(src.Length, pos + (long)perMini * w / 8);
            }
        }
        return pos;
    }

    private void Put(Span<byte> dest, int i, long value)
    {
        if (_width == 4) BinaryPrimitives.WriteInt32LittleEndian(dest[(i * 4)..], unchecked((int)value));
        else BinaryPrimitives.WriteInt64LittleEndian(dest[(i * 8)..], value);
    }

    // `width` bits (0 to 64) from bit `at` of `s`, the first in the lowest bit of the first byte.
    private static ulong ReadBits(ReadOnlySpan<byte> s, long at, int width)
    {
        if (width == 0) return 0;
        int b = (int)(at >> 3), shift = (int)(at & 7);
        ulong v = 0;
        int bytes = Math.Min(8, s.Length - b);
        for (int k = 0; k < bytes; k++) v |= (ulong)s[b + k] << (8 * k);
        v >>= shift;
        if (shift + width > 64 && b + 8 < s.Length) v |= (ulong)s[b + 8] << (64 - shift);
        return width == 64 ? v : v & ((1UL << width) - 1);
    }

    private ulong Uleb(ReadOnlySpan<byte> s, ref int pos, string path)
    {
        ulong v = 0;
        for (int shift = 0; ; shift += 7)
        {
            if (pos >= s.Length || shift > 63) throw Damaged(path, "a page's DELTA_BINARY_PACKED values end early");
            byte b = s[pos++];
            v |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return v;
        }
    }

    private static long Zigzag(ulong u) => (long)(u >> 1) ^ -(long)(u & 1);

    // Text handed out must be UTF-8 and the bytes come from a file. Value has overwritten each value's
    // length with ASCII spaces, so the page's values are checked in one pass: a space cannot continue a
    // character, so the run is valid exactly when every value is valid on its own.
    private void CheckText(ReadOnlySpan<byte> values, string path)
    {
        if (Utf8Only && !Utf8.IsValid(values)) throw Damaged(path, "a text value is not valid UTF-8");
    }

    /// <summary>Whether byte arrays are text, checked as UTF-8 (the default); false for a binary column's bytes.</summary>
    public bool Utf8Only { get; set; } = true;

    // A PLAIN value at p of a page that lies at `at` in the text buffer: its 4-byte length, then its bytes.
    [System.Runtime.CompilerServices.MethodImpl(Util.Hot.Path)]
    private int Value(Span<byte> page, int p, int at, out int start, out int length, string path)
    {
        if (_width > 0)
        {
            // A number: its bytes as they lie.
            if (p + _width > page.Length) throw Damaged(path, "a page holds fewer values than its header says");
            start = at + p;
            length = _width;
            return p + _width;
        }
        if (p + 4 > page.Length) throw Damaged(path, "a page holds fewer values than its header says");
        int len = BinaryPrimitives.ReadInt32LittleEndian(page[p..]);
        // Four spaces as one store: Span.Fill is generic code no ReadyToRun image holds, and a short scan
        // ran it unoptimised (2.5% of a 1 GB scan).
        BinaryPrimitives.WriteUInt32LittleEndian(page[p..], 0x20202020);
        p += 4;
        if ((uint)len > (uint)(page.Length - p)) throw Damaged(path, "a value runs past its page");
        start = at + p;
        length = len;
        return p + len;
    }

    public bool IsNull(int row) => _lengths[row - _first] < 0;

    /// <summary><see cref="IsNull"/> and <see cref="GetUtf8"/> at once: false for null, else the value's UTF-8.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public bool TryGetValue(int row, out ReadOnlySpan<byte> utf8)
    {
        int i = row - _first;
        int len = _lengths[i];
        utf8 = len <= 0 ? default : _data.AsSpan(_starts[i], len);
        return len >= 0;
    }

    /// <summary>A boolean's value (false for null).</summary>
    public bool GetBoolean(int row)
    {
        int bit = _lengths[row - _first] - 1;
        return bit >= 0 && (_data[_starts[row - _first]] >> bit & 1) != 0;
    }

    /// <summary>The value's UTF-8 (empty for null).</summary>
    [System.Runtime.CompilerServices.MethodImpl(Util.Hot.Path)]
    public ReadOnlySpan<byte> GetUtf8(int row)
    {
        int len = _lengths[row - _first];
        return len <= 0 ? default : _data.AsSpan(_starts[row - _first], len);
    }

    private GrouperException Damaged(string path, string what) => new(errorKind, $"{path} is damaged: {what}.", path);

    /// <summary>The fields of a page header that reading these pages needs (Thrift compact, parsed by hand).</summary>
    private readonly ref struct PageHeaderInfo
    {
        public readonly int Type, UncompressedSize, CompressedSize, Values, Encoding, HeaderLength;
        // A page of version 2: its levels' lengths (before the values, never compressed), and whether its values are compressed.
        public readonly int DefinitionLength, RepetitionLength;
        // A page of version 1: its definition and repetition levels' encodings (-1 when the header does not say).
        public readonly int DefinitionLevelEncoding, RepetitionLevelEncoding;
        public readonly bool ValuesCompressed;

        public PageHeaderInfo(ReadOnlySpan<byte> data, PlainTextChunk owner, string path)
        {
            Type = -1; Encoding = -1; ValuesCompressed = true; DefinitionLevelEncoding = -1; RepetitionLevelEncoding = -1;
            try
            {
                var r = new ThriftCompact.Reader(data);
                short last = 0;
                while (r.ReadFieldHeader(ref last, out short id, out byte type))
                {
                    switch (id)
                    {
                        case 1: Type = (int)r.ReadI64(); break;
                        case 2: UncompressedSize = (int)r.ReadI64(); break;
                        case 3: CompressedSize = (int)r.ReadI64(); break;
                        case 5 or 7 when type == ThriftCompact.Struct:
                            // DataPageHeader and DictionaryPageHeader: 1 num_values, 2 encoding (of the values);
                            // DataPageHeader: 3 definition_level_encoding, 4 repetition_level_encoding.
                            short inner = 0;
                            while (r.ReadFieldHeader(ref inner, out short f, out byte t))
                            {
                                if (f == 1) Values = (int)r.ReadI64();
                                else if (f == 2) Encoding = (int)r.ReadI64();
                                else if (f == 3 && id == 5) DefinitionLevelEncoding = (int)r.ReadI64();
                                else if (f == 4 && id == 5) RepetitionLevelEncoding = (int)r.ReadI64();
                                else r.Skip(t);
                            }
                            break;
                        case 8 when type == ThriftCompact.Struct:
                            // DataPageHeaderV2: 1 num_values, 4 encoding, 5 and 6 the levels' byte lengths, 7 is_compressed.
                            short v2 = 0;
                            while (r.ReadFieldHeader(ref v2, out short f, out byte t))
                            {
                                if (f == 1) Values = (int)r.ReadI64();
                                else if (f == 4) Encoding = (int)r.ReadI64();
                                else if (f == 5) DefinitionLength = (int)r.ReadI64();
                                else if (f == 6) RepetitionLength = (int)r.ReadI64();
                                else if (f == 7 && t is ThriftCompact.True or ThriftCompact.False) ValuesCompressed = t == ThriftCompact.True;
                                else r.Skip(t);
                            }
                            break;
                        default: r.Skip(type); break;
                    }
                }
                HeaderLength = r.Position;
            }
            catch (InvalidDataException) { throw owner.Damaged(path, "a page header cannot be read"); }
            if (Type < 0 || Values < 0) throw owner.Damaged(path, "a page header has no type or a negative value count");
        }
    }

    /// <summary>
    /// Integers of a fixed bit width (0 to 32) in the RLE/bit-packed hybrid encoding: definition levels
    /// (width 1) and dictionary indexes.
    /// </summary>
    private ref struct HybridInts(ReadOnlySpan<byte> data, int width, PlainTextChunk owner, string path)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _pos;
        private int _run;        // values left in the current run
        private bool _rle;
        private int _value;      // an RLE run's value
        private ulong _bits;     // a bit-packed run: bits read and not yet used
        private int _bitCount;

        [System.Runtime.CompilerServices.MethodImpl(Util.Hot.Path)]
        public int Next()
        {
            if (_run == 0) Start();
            _run--;
            if (_rle) return _value;
            while (_bitCount < width)
            {
                if (_pos >= _data.Length) throw owner.Damaged(path, "levels or dictionary indexes end early");
                _bits |= (ulong)_data[_pos++] << _bitCount;
                _bitCount += 8;
            }
            int v = (int)(_bits & ((1UL << width) - 1));
            _bits >>= width;
            _bitCount -= width;
            return v;
        }

        private void Start()
        {
            ulong header = 0;
            for (int shift = 0; ; shift += 7)
            {
                if (_pos >= _data.Length || shift > 35) throw owner.Damaged(path, "levels or dictionary indexes end early");
                byte b = _data[_pos++];
                header |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) break;
            }
            _rle = (header & 1) == 0;
            if (_rle)
            {
                _run = checked((int)(header >> 1));
                int bytes = (width + 7) / 8;
                if (_pos + bytes > _data.Length) throw owner.Damaged(path, "levels or dictionary indexes end early");
                _value = 0;
                for (int i = 0; i < bytes; i++) _value |= _data[_pos++] << (8 * i);
            }
            else
            {
                _run = checked((int)(header >> 1) * 8); // groups of eight values
                _bits = 0;
                _bitCount = 0;
            }
            if (_run == 0) throw owner.Damaged(path, "levels or dictionary indexes have an empty run");
        }
    }
}
