using System.Buffers.Binary;
using System.Text.Unicode;
using Grouper.Format;
using Microsoft.Win32.SafeHandles;
using Parquet.Meta;

namespace Grouper.Reading;

/// <summary>
/// A text column chunk read straight from the shard's bytes when its values are PLAIN byte arrays (what
/// Grouper's shards hold) compressed with Snappy or not at all: its values become slices of the
/// decompressed pages, UTF-8 as stored, with no string or character copy made. Parquet.Net decodes text
/// into UTF-16 on the way, which is what a scan cares least for; a caller that wants characters gets them
/// decoded once per chunk, when first asked. Other chunks (dictionaries, other codecs: shards imported from
/// other engines) are not taken (<see cref="CanRead"/>) and go through Parquet.Net, as do chunks whose
/// pages turn out to be of version 2 (<see cref="NotPlainException"/>; Parquet.Net writes version 1).
/// </summary>
internal sealed class PlainTextChunk
{
    private const int DataPage = 0, DictionaryPage = 2, DataPageV2 = 3;

    private byte[] _raw = [];
    private byte[] _page = [];
    private byte[] _data = [];
    private int _dataUsed;
    private int[] _starts = [];
    private int[] _lengths = []; // -1: null

    public int Count { get; private set; }

    public static bool CanRead(ColumnChunk chunk, int maxDefinitionLevel)
    {
        var m = chunk.MetaData;
        if (m is null || chunk.FilePath is not null || m.Type != Parquet.Meta.Type.BYTE_ARRAY || maxDefinitionLevel > 1) return false;
        if (m.Codec is not (CompressionCodec.SNAPPY or CompressionCodec.UNCOMPRESSED)) return false;
        if (m.DictionaryPageOffset is not null) return false;
        foreach (var e in m.Encodings ?? [])
            if (e is not (Encoding.PLAIN or Encoding.RLE)) return false; // RLE: the definition levels
        return m.TotalCompressedSize is > 0 and <= int.MaxValue;
    }

    /// <summary>Reads the chunk's <paramref name="rows"/> values; a page it cannot decode is an error (the file is damaged).</summary>
    public void Load(SafeFileHandle file, string path, ColumnChunk chunk, int rows, bool optional)
    {
        var m = chunk.MetaData!;
        int size = (int)m.TotalCompressedSize;
        if (_raw.Length < size) _raw = new byte[Math.Max(size, _raw.Length * 2)];
        var raw = _raw.AsSpan(0, size);
        if (RandomAccess.Read(file, raw, m.DataPageOffset) != size) throw Damaged(path, "its column chunk ends early");
        if (_starts.Length < rows) { _starts = new int[rows]; _lengths = new int[rows]; }
        _dataUsed = 0;
        int row = 0, pos = 0;
        while (row < rows)
        {
            if (pos >= raw.Length) throw Damaged(path, $"its column chunk holds {row} of {rows} values");
            var header = new PageHeaderInfo(raw[pos..], path);
            pos += header.HeaderLength;
            if (header.CompressedSize < 0 || pos + header.CompressedSize > raw.Length) throw Damaged(path, "a page runs past its column chunk");
            var page = raw.Slice(pos, header.CompressedSize);
            pos += header.CompressedSize;
            if (header.Type == DictionaryPage) throw Damaged(path, "a dictionary page in a chunk without dictionary");
            if (header.Type == DataPageV2) throw new NotPlainException();
            if (header.Type != DataPage) continue; // index pages: nothing to read
            if (header.Encoding != (int)Encoding.PLAIN) throw Damaged(path, $"a page has encoding {header.Encoding}, not PLAIN");
            if (row + header.Values > rows) throw Damaged(path, "its pages hold more values than the row group has rows");
            row = ReadPage(header, page, m.Codec, row, optional, path);
        }
        Count = rows;
    }

    /// <summary>The chunk has pages this reader does not decode: read it another way.</summary>
    public sealed class NotPlainException : Exception;

    private int ReadPage(in PageHeaderInfo h, ReadOnlySpan<byte> compressed, CompressionCodec codec, int row, bool optional, string path)
    {
        int size = h.UncompressedSize;
        if (size < 0) throw Damaged(path, "a page's size is wrong");
        ReadOnlySpan<byte> page;
        if (codec == CompressionCodec.SNAPPY)
        {
            if (_page.Length < size) _page = new byte[Math.Max(size, _page.Length * 2)];
            page = _page.AsSpan(0, size);
            int n;
            try { n = Snappier.Snappy.Decompress(compressed, _page.AsSpan(0, size)); }
            catch (Exception ex) when (ex is InvalidDataException or ArgumentException) { throw Damaged(path, "a page does not decompress"); }
            if (n != size) throw Damaged(path, "a page decompresses to the wrong size");
        }
        else
        {
            if (compressed.Length != size) throw Damaged(path, "an uncompressed page has the wrong size");
            page = compressed; // read in place
        }
        // The values are copied together into the chunk's text buffer (the slices of every page stay
        // valid together), so that the text can be checked as UTF-8 in one pass.
        if (_data.Length < _dataUsed + size) Array.Resize(ref _data, Math.Max(_dataUsed + size, _data.Length * 2));
        int textStart = _dataUsed;
        int p = 0;
        int end = row + h.Values;
        if (optional)
        {
            // 4-byte length, then the definition levels, inside the decompressed page.
            if (page.Length < 4) throw Damaged(path, "a page ends in its levels");
            int len = BinaryPrimitives.ReadInt32LittleEndian(page);
            if (len < 0 || 4 + len > page.Length) throw Damaged(path, "a page's definition levels are too long");
            var defined = new DefinitionLevels(page.Slice(4, len), path);
            p = 4 + len;
            for (int r = row; r < end; r++)
            {
                if (!defined.Next()) { _lengths[r] = -1; _starts[r] = 0; continue; }
                p = Value(page, p, r, path);
            }
        }
        else
        {
            for (int r = row; r < end; r++) p = Value(page, p, r, path);
        }
        // Text handed out must be UTF-8 and the bytes come from a file. The values together are valid and
        // none starts with a continuation byte (Value checks) exactly when every value is valid on its own.
        if (!Utf8.IsValid(_data.AsSpan(textStart, _dataUsed - textStart))) throw Damaged(path, "a text value is not valid UTF-8");
        return end;
    }

    private int Value(ReadOnlySpan<byte> page, int p, int r, string path)
    {
        if (p + 4 > page.Length) throw Damaged(path, "a page holds fewer values than its header says");
        int len = BinaryPrimitives.ReadInt32LittleEndian(page[p..]);
        p += 4;
        if ((uint)len > (uint)(page.Length - p)) throw Damaged(path, "a value runs past its page");
        if (len > 0)
        {
            var value = page.Slice(p, len);
            if ((value[0] & 0xC0) == 0x80) throw Damaged(path, "a text value is not valid UTF-8");
            value.CopyTo(_data.AsSpan(_dataUsed));
        }
        _starts[r] = _dataUsed;
        _lengths[r] = len;
        _dataUsed += len;
        return p + len;
    }

    public bool IsNull(int row) => _lengths[row] < 0;

    /// <summary>The value's UTF-8 (empty for null).</summary>
    public ReadOnlySpan<byte> GetUtf8(int row)
    {
        int len = _lengths[row];
        return len <= 0 ? default : _data.AsSpan(_starts[row], len);
    }

    private static GrouperException Damaged(string path, string what) =>
        new(GrouperErrorKind.InvalidDataset, $"The shard {path} is damaged: {what}.", path);

    /// <summary>The fields of a page header that reading PLAIN values needs (Thrift compact, parsed by hand).</summary>
    private readonly ref struct PageHeaderInfo
    {
        public readonly int Type, UncompressedSize, CompressedSize, Values, Encoding, HeaderLength;

        public PageHeaderInfo(ReadOnlySpan<byte> data, string path)
        {
            Type = -1; Encoding = -1;
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
                        case 5 when type == ThriftCompact.Struct:
                            short inner = 0;
                            while (r.ReadFieldHeader(ref inner, out short f, out byte t))
                            {
                                // DataPageHeader: 1 num_values, 2 encoding (of the values).
                                if (f == 1) Values = (int)r.ReadI64();
                                else if (f == 2) Encoding = (int)r.ReadI64();
                                else r.Skip(t);
                            }
                            break;
                        default: r.Skip(type); break;
                    }
                }
                HeaderLength = r.Position;
            }
            catch (InvalidDataException) { throw Damaged(path, "a page header cannot be read"); }
            if (Type < 0 || Values < 0) throw Damaged(path, "a page header has no type or a negative value count");
        }
    }

    /// <summary>Definition levels of bit width 1 in the RLE/bit-packed hybrid encoding.</summary>
    private ref struct DefinitionLevels(ReadOnlySpan<byte> data, string path)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _pos;
        private int _run;        // values left in the current run
        private bool _rle;
        private bool _value;     // an RLE run's value
        private int _bits;       // a bit-packed run: the byte being read and how many of its bits are left
        private int _bitsLeft;

        public bool Next()
        {
            if (_run == 0) Start();
            _run--;
            if (_rle) return _value;
            if (_bitsLeft == 0)
            {
                if (_pos >= _data.Length) throw Damaged(path, "definition levels end early");
                _bits = _data[_pos++];
                _bitsLeft = 8;
            }
            bool v = (_bits & 1) != 0;
            _bits >>= 1;
            _bitsLeft--;
            return v;
        }

        private void Start()
        {
            ulong header = 0;
            for (int shift = 0; ; shift += 7)
            {
                if (_pos >= _data.Length || shift > 35) throw Damaged(path, "definition levels end early");
                byte b = _data[_pos++];
                header |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) break;
            }
            _rle = (header & 1) == 0;
            if (_rle)
            {
                _run = checked((int)(header >> 1));
                if (_pos >= _data.Length) throw Damaged(path, "definition levels end early");
                _value = _data[_pos++] != 0;
            }
            else
            {
                _run = checked((int)(header >> 1) * 8); // groups of eight values, one byte each at width 1
                _bitsLeft = 0;
            }
            if (_run == 0) throw Damaged(path, "definition levels have an empty run");
        }
    }
}
