using System.Buffers;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;
using System.Text.Json;
using Grouper.Schema;
using Grouper.Util;

namespace Grouper.Sources;

/// <summary>
/// JSON Lines: one object per line. Strings, integers (Int64, or UInt64 above 2^63), other numbers
/// (Double), booleans and null keep their JSON types; a nested object or array becomes a string holding its
/// JSON text. Fields are added as they are first met; a record without a field has null there. Blank lines
/// are skipped.
/// </summary>
public sealed class JsonLinesRecordReader : RecordReader
{
    /// <summary>Longest line accepted, in bytes.</summary>
    public const int MaxLineBytes = 256 << 20;

    private struct Field
    {
        public ValueKind Kind;
        public long Long;
        public double Double;
        public int TextStart;   // text values: a range of _text, valid until the next record
        public int TextLength;
        public bool Raw;        // text not yet decoded: Text* is a range of _buffer holding its UTF-8 (no escapes)
        public bool Checked;    // raw text whose UTF-8 was validated
    }

    private readonly string _path;
    private readonly Stream _stream;
    private readonly Stream? _file; // the file under _stream (under a decompressor): progress
    private byte[] _buffer = new byte[1 << 17];
    private int _start, _end;
    private int _lineStart;     // where the current line starts in _buffer
    private bool _eof;
    private long _line;
    private Utf8Lookahead _utf8 = new();
    private bool _lineValid;                 // the current line is valid UTF-8 (known ahead, for the whole buffer)
    private readonly List<string> _names = new();
    private readonly List<byte[]> _nameBytes = new();   // unescaped UTF-8 of each name, to know a field without a string
    private readonly List<byte[]?> _plainNames = new(); // the same where a line writes it as it is (no byte to escape), else null
    private char[] _text = new char[1 << 12];           // the current record's text values, one after the other
    private int _textUsed;
    private readonly Dictionary<string, int> _ordinals = new(StringComparer.Ordinal);
    private Field[] _fields = new Field[16];
    private int[] _seenStamp = new int[16];
    private int _stamp;
    private int _schemaVersion;

    public JsonLinesRecordReader(string path, Stream stream)
    {
        _path = path;
        _stream = stream;
        _file = PositionOf(stream);
    }

    public override long BytesConsumed => _file is { CanSeek: true } f ? f.Position : -1;

    public override string SourceName => _path;
    public override long RowNumber => _line;
    public override string RowNoun => "line";
    public override bool IsSchemaFlexible => true;
    public override int SchemaVersion => _schemaVersion;
    public override int FieldCount => _names.Count;
    public override string GetName(int ordinal) => _names[ordinal];
    public override int GetOrdinal(string name) => _ordinals.TryGetValue(name, out var o) ? o : -1;

    public override bool Read()
    {
        while (NextLine(out var line, out _lineStart))
        {
            if (_line == 1 && line.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) { line = line[3..]; _lineStart += 3; }
            if (line.Length > 0 && line[^1] == '\r') line = line[..^1];
            if (line.IndexOfAnyExcept((byte)' ', (byte)'\t') < 0) continue;
            // A line with a byte that is not UTF-8 has its text values checked one by one, to name the field.
            int lineEnd = _lineStart + line.Length;
            _lineValid = !_utf8.Invalid(_buffer.AsSpan(0, _end), lineEnd, _eof);
            if (!_lineValid) _utf8.Resume(lineEnd);
            Parse(line);
            return true;
        }
        return false;
    }

    private bool NextLine(out ReadOnlySpan<byte> line, out int offset)
    {
        int searchFrom = _start;
        while (true)
        {
            int nl = _buffer.AsSpan(searchFrom, _end - searchFrom).IndexOf((byte)'\n');
            if (nl >= 0)
            {
                line = _buffer.AsSpan(_start, searchFrom + nl - _start);
                offset = _start;
                _start = searchFrom + nl + 1;
                _line++;
                return true;
            }
            if (_eof)
            {
                if (_start < _end)
                {
                    line = _buffer.AsSpan(_start, _end - _start);
                    offset = _start;
                    _start = _end;
                    _line++;
                    return true;
                }
                line = default;
                offset = 0;
                return false;
            }
            searchFrom = _end - _start;
            Fill();
        }
    }

    private void Fill()
    {
        // Move the partial line to the front; grow when one line fills the buffer.
        int pending = _end - _start;
        if (pending > 0 && _start > 0) Buffer.BlockCopy(_buffer, _start, _buffer, 0, pending);
        _utf8.Shift(_start);
        _start = 0;
        _end = pending;
        if (_end == _buffer.Length)
        {
            if (_buffer.Length >= MaxLineBytes)
                throw new GrouperException(GrouperErrorKind.InvalidData, $"Line {_line + 1} of {_path} is longer than {MaxLineBytes} bytes.", _path, _line + 1);
            Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, MaxLineBytes));
        }
        int n;
        try { n = _stream.Read(_buffer, _end, _buffer.Length - _end); }
        catch (InvalidDataException ex)
        {
            throw new GrouperException(GrouperErrorKind.InvalidData, $"Cannot read {_path} near line {_line + 1}: {ex.Message}", _path, _line + 1, ex);
        }
        if (n == 0) _eof = true;
        _end += n;
    }

    /// <summary>Lines of one flat object of known names are parsed by <see cref="TryParseFlat"/> (tests turn it off to compare).</summary>
    internal bool FlatPath { get; set; } = true;
    internal long FlatLines { get; private set; }

    private void Parse(ReadOnlySpan<byte> line)
    {
        _stamp++;
        _textUsed = 0;
        if (FlatPath && TryParseFlat(line)) { FlatLines++; return; }
        _stamp++;           // a fresh stamp: the one-pass parse may have marked fields before it gave up
        _textUsed = 0;
        try
        {
            var json = new Utf8JsonReader(line, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            if (!json.Read() || json.TokenType != JsonTokenType.StartObject)
                throw Bad("the line is not a JSON object");
            int position = 0;
            while (json.Read() && json.TokenType == JsonTokenType.PropertyName)
            {
                // A name already known is found by its bytes, so no string is made for it.
                int o = -1;
                if (!json.ValueIsEscaped) o = KnownName(json.ValueSpan, position);
                position++;
                string name = o >= 0 ? _names[o] : json.GetString()!;
                if (o < 0 && !_ordinals.TryGetValue(name, out o))
                {
                    o = _names.Count;
                    _names.Add(name);
                    var bytes = Encoding.UTF8.GetBytes(name);
                    _nameBytes.Add(bytes);
                    _plainNames.Add(bytes.AsSpan().IndexOfAny(StringStops) < 0 ? bytes : null);
                    _ordinals.Add(name, o);
                    _schemaVersion++;
                    if (o == _fields.Length)
                    {
                        Array.Resize(ref _fields, o * 2);
                        Array.Resize(ref _seenStamp, o * 2);
                    }
                }
                if (_seenStamp[o] == _stamp) throw Bad($"the field '{name}' appears twice");
                _seenStamp[o] = _stamp;
                json.Read();
                ref var f = ref _fields[o];
                f.Raw = false;
                switch (json.TokenType)
                {
                    case JsonTokenType.String:
                        f.Kind = ValueKind.String;
                        if (!json.ValueIsEscaped)
                        {
                            // Kept as the line's UTF-8: the writer stores it as it is, and characters are
                            // made only when asked for (a key column).
                            f.Raw = true;
                            f.Checked = false;
                            f.TextStart = _lineStart + (int)json.TokenStartIndex + 1;
                            f.TextLength = json.ValueSpan.Length;
                            break;
                        }
                        // Unescaped text never has more UTF-16 characters than its JSON bytes.
                        var into = Reserve(json.ValueSpan.Length);
                        f.Raw = false;
                        f.TextStart = _textUsed;
                        f.TextLength = json.CopyString(into);
                        _textUsed += f.TextLength;
                        break;
                    case JsonTokenType.True: f.Kind = ValueKind.Boolean; f.Long = 1; break;
                    case JsonTokenType.False: f.Kind = ValueKind.Boolean; f.Long = 0; break;
                    case JsonTokenType.Null: f.Kind = ValueKind.Null; break;
                    case JsonTokenType.Number:
                        var raw = json.ValueSpan;
                        if (raw.IndexOfAny(".eE"u8) >= 0) { f.Kind = ValueKind.Double; f.Double = Finite(raw, name, json.GetDouble()); }
                        else if (json.TryGetInt64(out var l)) { f.Kind = ValueKind.Int64; f.Long = l; }
                        // Integers to 2^64 exactly; beyond, a double where it holds the integer, else a refusal
                        // (a double would round it, as an integer in a column of doubles is not rounded either).
                        else if (json.TryGetUInt64(out var u)) { f.Kind = ValueKind.UInt64; f.Long = unchecked((long)u); }
                        else { f.Kind = ValueKind.Double; f.Double = WholeBeyond64Bits(raw, name, json.GetDouble()); }
                        break;
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        long begin = json.TokenStartIndex;
                        json.Skip();
                        f.Kind = ValueKind.String;
                        f.Raw = false;
                        var nested = line[(int)begin..(int)(json.TokenStartIndex + 1)];
                        f.TextStart = _textUsed;
                        f.TextLength = StrictUtf8.Encoding.GetChars(nested, Reserve(nested.Length));
                        _textUsed += f.TextLength;
                        break;
                    default: throw Bad($"unexpected {json.TokenType}");
                }
            }
            if (json.TokenType != JsonTokenType.EndObject) throw Bad("the object is not closed");
            if (json.Read()) throw Bad("there is more after the object");
        }
        catch (JsonException ex)
        {
            // Its message ends "LineNumber: 0 | BytePositionInLine: 7.": the reader sees one line at a time, so its line
            // number is always 0; the byte is told as the line's.
            var why = Util.JsonMessages.Plain(ex);
            throw Bad(ex.BytePositionInLine is long at ? $"{why} (at byte {at + 1} of the line)" : why, ex);
        }
        catch (InvalidOperationException ex)
        {
            throw Bad(ex.Message, ex);
        }
        catch (DecoderFallbackException ex)
        {
            throw Bad($"a nested value is not valid UTF-8 ({ex.Message})", ex);
        }
    }

    /// <summary>
    /// The common line, read in one pass without <see cref="Utf8JsonReader"/> (which was a quarter of a JSON
    /// Lines build's reading thread): one object, every name already known and written without escapes,
    /// values that are strings without escapes, numbers, true, false or null. False for anything else
    /// (a new name, an escape, a nested value, a syntax error), and the full parse reads the line again: it
    /// alone names what is wrong. What this sets is what the full parse sets for the same line.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(Hot.Path)]
    private bool TryParseFlat(ReadOnlySpan<byte> line)
    {
        int p = SkipSpace(line, 0);
        if (p == line.Length || line[p] != (byte)'{') return false;
        p = SkipSpace(line, p + 1);
        int position = 0;
        while (true)
        {
            if (p == line.Length || line[p] != (byte)'"') return false;
            int o, nameEnd;
            // Lines usually list their fields in one order: the name at this position last time is compared
            // where it lies, with its closing quote, before the name is searched for its end and looked up.
            if (position < _plainNames.Count && _plainNames[position] is { } expected
                && line.Length - (p + 1) > expected.Length && line[p + 1 + expected.Length] == (byte)'"'
                && Bytes.Equal(line.Slice(p + 1, expected.Length), expected))
            {
                o = position;
                nameEnd = p + 1 + expected.Length;
            }
            else
            {
                nameEnd = StringEnd(line, p + 1);
                if (nameEnd < 0) return false;
                o = KnownName(line[(p + 1)..nameEnd], position);
                if (o < 0) return false;
            }
            position++;
            p = SkipSpace(line, nameEnd + 1);
            if (p == line.Length || line[p] != (byte)':') return false;
            p = SkipSpace(line, p + 1);
            if (p == line.Length) return false;
            if (_seenStamp[o] == _stamp) throw Twice(o);
            ref var f = ref _fields[o];
            byte c = line[p];
            if (c == (byte)'"')
            {
                int end = StringEnd(line, p + 1);
                if (end < 0) return false;
                f.Kind = ValueKind.String;
                f.Raw = true;
                f.Checked = false;
                f.TextStart = _lineStart + p + 1;
                f.TextLength = end - p - 1;
                p = end + 1;
            }
            else if (c == (byte)'-' || (uint)(c - '0') <= 9)
            {
                int end = NumberEnd(line, p);
                if (end < 0) return false;
                var raw = line[p..end];
                bool whole = raw.IndexOfAny(".eE"u8) < 0;
                if (whole && System.Buffers.Text.Utf8Parser.TryParse(raw, out long l, out int used) && used == raw.Length)
                {
                    f.Kind = ValueKind.Int64;
                    f.Long = l;
                }
                else if (whole) return false; // beyond a long: the full parse reads it (ulong, or a double that holds it)
                else if (System.Buffers.Text.Utf8Parser.TryParse(raw, out double d, out used) && used == raw.Length && double.IsFinite(d))
                {
                    f.Kind = ValueKind.Double;
                    f.Double = d;
                }
                else return false;
                f.Raw = false;
                p = end;
            }
            else if (line[p..].StartsWith("true"u8)) { f.Kind = ValueKind.Boolean; f.Long = 1; f.Raw = false; p += 4; }
            else if (line[p..].StartsWith("false"u8)) { f.Kind = ValueKind.Boolean; f.Long = 0; f.Raw = false; p += 5; }
            else if (line[p..].StartsWith("null"u8)) { f.Kind = ValueKind.Null; f.Raw = false; p += 4; }
            else return false;
            _seenStamp[o] = _stamp;
            p = SkipSpace(line, p);
            if (p == line.Length) return false;
            if (line[p] == (byte)',') { p = SkipSpace(line, p + 1); continue; }
            if (line[p] != (byte)'}') return false;
            return SkipSpace(line, p + 1) == line.Length;
        }
    }

    /// <summary>
    /// The ordinal of a field named by these unescaped bytes, or -1 for a new name. Lines usually list their
    /// fields in one order: the field at this position last time is tried first.
    /// </summary>
    private int KnownName(ReadOnlySpan<byte> name, int position)
    {
        if (position < _nameBytes.Count && name.SequenceEqual(_nameBytes[position])) return position;
        for (int i = 0; i < _nameBytes.Count; i++)
            if (name.SequenceEqual(_nameBytes[i])) return i;
        return -1;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static int SkipSpace(ReadOnlySpan<byte> line, int p)
    {
        while (p < line.Length && line[p] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') p++;
        return p;
    }

    // What ends the fast parse's view of a string: its closing quote, an escape, or a control character
    // (not allowed in JSON strings; the full parse reports them). One pass over the string, not two.
    private static readonly SearchValues<byte> StringStops = SearchValues.Create(
        [(byte)'"', (byte)'\\', .. Enumerable.Range(0, 0x20).Select(b => (byte)b)]);

    /// <summary>The closing quote of a string starting at <paramref name="from"/>; -1 if it has an escape or a control character, or no end.</summary>
    /// <remarks>
    /// Most strings of a line are a few bytes long, and <c>IndexOfAny</c> over a set of 34 bytes, a call with
    /// its own set-up each time, was a sixth of a JSON Lines build's reading thread: here 32 bytes are classed
    /// at a time inline, and the line's last 32 bytes are read again rather than a tail byte by byte.
    /// </remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static int StringEnd(ReadOnlySpan<byte> line, int from)
    {
        if (!Vector256.IsHardwareAccelerated || line.Length < Vector256<byte>.Count)
        {
            int found = line[from..].IndexOfAny(StringStops);
            return found < 0 || line[from + found] != (byte)'"' ? -1 : from + found;
        }
        ref byte start = ref MemoryMarshal.GetReference(line);
        int last = line.Length - Vector256<byte>.Count;
        int i = from;
        while (i < line.Length)
        {
            int at = Math.Min(i, last);
            // Bits for the bytes before i (a line's last vector read again) are shifted out.
            uint stops = StopBits(Vector256.LoadUnsafe(ref start, (nuint)at)) >> (i - at);
            if (stops != 0)
            {
                int end = i + System.Numerics.BitOperations.TrailingZeroCount(stops);
                return line[end] == (byte)'"' ? end : -1;
            }
            i = at + Vector256<byte>.Count;
        }
        return -1;
    }

    // A bit for each quote, backslash or control character: the bytes in StringStops.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static uint StopBits(Vector256<byte> v) =>
        (Vector256.Equals(v, Vector256.Create((byte)'"')) | Vector256.Equals(v, Vector256.Create((byte)'\\'))
            | Vector256.LessThan(v, Vector256.Create((byte)0x20))).ExtractMostSignificantBits();

    /// <summary>Where a JSON number (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?) starting at <paramref name="p"/> ends; -1 if it is not one.</summary>
    private static int NumberEnd(ReadOnlySpan<byte> line, int p)
    {
        if (line[p] == (byte)'-' && ++p == line.Length) return -1;
        if (line[p] == (byte)'0') p++;
        else
        {
            int digits = Digits(line, p);
            if (digits == 0) return -1;
            p += digits;
        }
        if (p < line.Length && line[p] == (byte)'.')
        {
            int digits = Digits(line, p + 1);
            if (digits == 0) return -1;
            p += 1 + digits;
        }
        if (p < line.Length && (line[p] | 0x20) == (byte)'e')
        {
            p++;
            if (p < line.Length && line[p] is (byte)'+' or (byte)'-') p++;
            int digits = Digits(line, p);
            if (digits == 0) return -1;
            p += digits;
        }
        return p;
    }

    private static int Digits(ReadOnlySpan<byte> line, int p)
    {
        int n = 0;
        while (p + n < line.Length && (uint)(line[p + n] - '0') <= 9) n++;
        return n;
    }

    // 1e400 parses as infinity: refused as an integer a double would round is (the one-pass parse leaves it here).
    private double Finite(ReadOnlySpan<byte> raw, string name, double value) => double.IsFinite(value) ? value
        : throw Bad($"the number {System.Text.Encoding.ASCII.GetString(raw)} of '{name}' is beyond a double's range; write it as text");

    private double WholeBeyond64Bits(ReadOnlySpan<byte> raw, string name, double value)
    {
        var text = System.Text.Encoding.ASCII.GetString(raw);
        if (double.IsFinite(value) && new System.Numerics.BigInteger(value) == System.Numerics.BigInteger.Parse(text, System.Globalization.CultureInfo.InvariantCulture))
            return value;
        throw Bad($"the integer {text} of '{name}' is beyond 64 bits, and a double would round it; write it as text");
    }

    // Out of TryParseFlat: the message's formatting, inlined there, lengthened its compiling as a build starts.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private GrouperException Twice(int ordinal) => Bad($"the field '{_names[ordinal]}' appears twice");

    private GrouperException Bad(string why, Exception? inner = null) =>
        new(GrouperErrorKind.InvalidData, $"{_path}, line {_line}: not valid JSON Lines: {why.TrimEnd('.', ' ')}.", _path, _line, inner);

    private Span<char> Reserve(int chars)
    {
        if (_textUsed + chars > _text.Length) Array.Resize(ref _text, Math.Max(_text.Length * 2, _textUsed + chars));
        return _text.AsSpan(_textUsed, chars);
    }

    private ref Field At(int ordinal) => ref _fields[ordinal];

    public override ValueKind GetKind(int ordinal) => _seenStamp[ordinal] == _stamp ? _fields[ordinal].Kind : ValueKind.Null;
    public override ReadOnlySpan<char> GetChars(int ordinal)
    {
        ref var f = ref At(ordinal);
        if (f.Raw)
        {
            var utf8 = _buffer.AsSpan(f.TextStart, f.TextLength);
            int start = _textUsed;
            int n;
            try { n = StrictUtf8.Encoding.GetChars(utf8, Reserve(utf8.Length)); }
            catch (DecoderFallbackException ex) { throw Bad($"the value of '{_names[ordinal]}' is not valid UTF-8", ex); }
            _textUsed += n;
            f.Raw = false;
            f.TextStart = start;
            f.TextLength = n;
        }
        return _text.AsSpan(f.TextStart, f.TextLength);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public override bool TryGetUtf8(int ordinal, out ReadOnlySpan<byte> utf8)
    {
        ref var f = ref At(ordinal);
        if (!f.Raw) { utf8 = default; return false; }
        utf8 = _buffer.AsSpan(f.TextStart, f.TextLength);
        if (!f.Checked)
        {
            if (!_lineValid && !System.Text.Unicode.Utf8.IsValid(utf8)) throw Bad($"the value of '{_names[ordinal]}' is not valid UTF-8");
            f.Checked = true;
        }
        return true;
    }
    public override string GetString(int ordinal) => GetChars(ordinal).ToString();
    public override long GetInt64(int ordinal) => At(ordinal).Long;
    public override ulong GetUInt64(int ordinal) => unchecked((ulong)At(ordinal).Long);
    public override double GetDouble(int ordinal) => At(ordinal).Double;
    public override bool GetBoolean(int ordinal) => At(ordinal).Long != 0;

    protected override void Dispose(bool disposing)
    {
        if (disposing) _stream.Dispose();
    }
}
