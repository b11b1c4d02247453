using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;
using Grouper.Schema;
using Grouper.Util;

namespace Grouper.Sources;

/// <summary>How a delimited text file's quotes are read.</summary>
public enum CsvQuoting
{
    /// <summary>RFC 4180: a field that starts with a quote is quoted (delimiters, doubled quotes and line breaks inside).</summary>
    Standard,
    /// <summary>Quotes are ordinary characters everywhere, and a record is one line (DuckDB's <c>quote=''</c>, pandas' QUOTE_NONE): IMDb's TSV files.</summary>
    None,
}

/// <summary>
/// CSV and TSV, or text with any ASCII delimiter (RFC 4180: header row, quoted fields with delimiters, doubled
/// quotes and line breaks inside; records end at LF, CRLF or a lone CR). Every value is a string; an empty field
/// is the empty string. Blank lines are skipped. A quote inside an unquoted field is an ordinary character;
/// anything but a delimiter or a line break after a closing quote is an error, as is a quote left open at the end
/// of the file. With <see cref="CsvQuoting.None"/> every quote is an ordinary character and a record is one line.
/// </summary>
/// <remarks>
/// The file is tokenized as UTF-8 bytes and values are handed on as slices of the read buffer
/// (<see cref="TryGetUtf8"/>): the writer stores them without decoding them to characters and encoding
/// them back, which a character-based parser (Sylvan.Data.Csv until 2026-11-25) made it do; that round trip
/// and the parsing were a third of a CSV build's reading thread. Sep, the fastest character-based parser on
/// the package mirror, was measured too: faster than Sylvan, but it still decodes to characters and it
/// reads an unbalanced or stray quote silently. Files with a UTF-16 or UTF-32 byte order mark are
/// transcoded to UTF-8 as they are read.
/// </remarks>
public sealed class CsvRecordReader : RecordReader
{
    /// <summary>Largest record, in bytes of UTF-8, the reader accepts (a longer one is reported, not buffered).</summary>
    public const int MaxRecordBytes = 64 << 20;

    private const byte Quote = (byte)'"', Cr = (byte)'\r', Lf = (byte)'\n';

    private readonly string _path;
    private Stream _stream;
    private readonly Stream? _file; // the file under _stream (under a decompressor or transcoder): progress
    private readonly byte _delimiter;
    private readonly bool _quotes;  // CsvQuoting.Standard: a field that starts with a quote is quoted
    private readonly string[] _names;

    private byte[] _buffer = new byte[1 << 17];
    private int _recordStart;       // where the unread records begin in _buffer
    private int _end;               // bytes of _buffer holding data
    private bool _eof;
    private Utf8Lookahead _utf8 = new();

    // The current record's fields: ranges of _buffer, valid until the next Read.
    private int[] _starts = new int[16];
    private int[] _lengths = new int[16];
    private bool[] _escaped = new bool[16];
    private int _fieldCount;

    // Characters of the current record, decoded only when a caller asks for characters.
    private char[] _chars = [];
    private int[] _charStarts = new int[16];
    private long _charsOfRecord = -1;
    private long _records;

    private long _line = 1;          // line where the current record starts
    private long _nextLine = 1;      // line where the next record starts

    public CsvRecordReader(string path, Stream stream, char delimiter, CsvQuoting quoting = CsvQuoting.Standard)
    {
        if (!IsValidDelimiter(delimiter))
            throw new ArgumentOutOfRangeException(nameof(delimiter), delimiter, "The delimiter must be an ASCII character other than a quote or a line break.");
        if (quoting is not (CsvQuoting.Standard or CsvQuoting.None)) throw new ArgumentOutOfRangeException(nameof(quoting), quoting, null);
        _path = path;
        _stream = stream;
        _file = PositionOf(stream);
        _delimiter = (byte)delimiter;
        _quotes = quoting == CsvQuoting.Standard;
        try
        {
            SkipByteOrderMark();
            // Blank lines before the header are skipped as blank lines between records are (the first was taken for
            // a header of one column without a name).
            bool blank = true, any = false;
            while (blank && (any = ParseRecord(out blank))) { }
            if (!any)
                throw new GrouperException(GrouperErrorKind.InvalidData,
                    $"{path} is empty{(stream is System.IO.Compression.GZipStream ? " once decompressed (a damaged gzip file decompresses to nothing)" : "")}: a CSV file needs a header row.", path, 1);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
        _names = new string[_fieldCount];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < _names.Length; i++)
        {
            _names[i] = Encoding.UTF8.GetString(FieldUtf8(i));
            if (_names[i].Length == 0)
                throw new GrouperException(GrouperErrorKind.InvalidData, $"Column {i + 1} of the header of {path} (line {_line}) has no name.", path, _line);
            if (!seen.Add(_names[i]))
                throw new GrouperException(GrouperErrorKind.InvalidData, $"The header of {path} (line {_line}) names column '{_names[i]}' twice.", path, _line);
        }
    }

    /// <summary>Whether <paramref name="delimiter"/> can separate fields: an ASCII character other than a quote, CR or LF.</summary>
    public static bool IsValidDelimiter(char delimiter) => delimiter < 0x80 && delimiter is not ('"' or '\r' or '\n');

    public override string SourceName => _path;
    public override long BytesConsumed => _file is { CanSeek: true } f ? f.Position : -1;
    public override long RowNumber => _line;
    public override string RowNoun => "line";
    public override int FieldCount => _names.Length;
    public override string GetName(int ordinal) => _names[ordinal];

    public override bool Read()
    {
        while (true)
        {
            if (!ParseRecord(out bool blank)) return false;
            if (blank) continue;
            if (_fieldCount != _names.Length)
                throw new GrouperException(GrouperErrorKind.InvalidData,
                    $"{Location} has {_fieldCount} fields but the header has {_names.Length}.", _path, _line);
            _records++;
            return true;
        }
    }

    public override ValueKind GetKind(int ordinal) => ValueKind.String;

    public override bool TryGetUtf8(int ordinal, out ReadOnlySpan<byte> utf8)
    {
        utf8 = FieldUtf8(ordinal);
        return true;
    }

    public override string GetString(int ordinal) => Encoding.UTF8.GetString(FieldUtf8(ordinal));
    public override object? GetValue(int ordinal) => GetString(ordinal);

    public override ReadOnlySpan<char> GetChars(int ordinal)
    {
        // All fields at once, so that spans of several fields asked for in turn stay valid together.
        if (_charsOfRecord != _records)
        {
            int total = 0;
            for (int i = 0; i < _fieldCount; i++) total += _lengths[i];
            if (_chars.Length < total) _chars = new char[Math.Max(total, _chars.Length * 2)];
            if (_charStarts.Length < _fieldCount + 1) _charStarts = new int[_starts.Length + 1];
            int at = 0;
            for (int i = 0; i < _fieldCount; i++)
            {
                _charStarts[i] = at;
                at += Encoding.UTF8.GetChars(FieldUtf8(i), _chars.AsSpan(at));
            }
            _charStarts[_fieldCount] = at;
            _charsOfRecord = _records;
        }
        return _chars.AsSpan(_charStarts[ordinal], _charStarts[ordinal + 1] - _charStarts[ordinal]);
    }

    /// <summary>The current record's field as it lies in the buffer (every CSV field is text): for the row encoder's CSV path too.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ReadOnlySpan<byte> FieldUtf8(int ordinal) => _buffer.AsSpan(_starts[ordinal], _lengths[ordinal]);

    /// <summary>
    /// Tokenizes the next record into <see cref="_starts"/>/<see cref="_lengths"/>; false at the end of the
    /// file. Positions are kept relative to the record's start while it is parsed, because reading more
    /// input moves the record to the front of the buffer (or into a larger one).
    /// </summary>
    [MethodImpl(Hot.Path)]
    private bool ParseRecord(out bool blank)
    {
        _line = _nextLine;
        blank = false;
        int p = 0;                                  // the parse position, from _recordStart
        if (_recordStart == _end && !Fill()) return false;
        int fields = 0;
        int terminator = 0;                         // bytes of the line break that ended the record
        bool lastQuoted = false, anyQuoted = false;
        while (true)
        {
            if (fields == _starts.Length) GrowFields();
            if (_recordStart + p < _end || Fill())
            {
                // Quoting off: a quote is checked for once per field that starts with one, never per byte.
                if (_buffer[_recordStart + p] == Quote && _quotes)
                {
                    int q = p + 1;                  // search position inside the quotes
                    bool escaped = false;
                    while (true)
                    {
                        int at = _buffer.AsSpan(_recordStart + q, _end - _recordStart - q).IndexOf(Quote);
                        if (at < 0)
                        {
                            q = _end - _recordStart;
                            if (!Fill()) ThrowUnclosedQuote();
                            continue;
                        }
                        q += at;
                        if (_recordStart + q + 1 == _end) Fill();
                        if (_recordStart + q + 1 < _end && _buffer[_recordStart + q + 1] == Quote)
                        {
                            escaped = true;
                            q += 2;
                            continue;
                        }
                        break;
                    }
                    _starts[fields] = p + 1;
                    _lengths[fields] = q - p - 1;
                    _escaped[fields++] = escaped;
                    lastQuoted = anyQuoted = true;
                    p = q + 1;
                    if (_recordStart + p == _end && !Fill()) break;
                    byte b = _buffer[_recordStart + p];
                    if (b == _delimiter) { p++; continue; }
                    if (b is Cr or Lf) { terminator = LineBreak(p); break; }
                    ThrowAfterClosingQuote(b, fields);
                }
                else
                {
                    int from = p;
                    int at;
                    while ((at = _buffer.AsSpan(_recordStart + p, _end - _recordStart - p).IndexOfAny(_delimiter, Cr, Lf)) < 0)
                    {
                        p = _end - _recordStart;
                        if (!Fill()) break;
                    }
                    if (at >= 0) p += at;
                    _starts[fields] = from;
                    _lengths[fields] = p - from;
                    _escaped[fields++] = false;
                    lastQuoted = false;
                    if (at < 0) break;                                  // the end of the file
                    if (_buffer[_recordStart + p] == _delimiter) { p++; continue; }
                    terminator = LineBreak(p);
                    break;
                }
            }
            else
            {
                // The file ends right after a delimiter: an empty last field.
                _starts[fields] = p;
                _lengths[fields] = 0;
                _escaped[fields++] = false;
                lastQuoted = false;
                break;
            }
        }

        var raw = _buffer.AsSpan(_recordStart, p + terminator);
        int recordEnd = _recordStart + p;
        if (_utf8.Invalid(_buffer.AsSpan(0, _end), recordEnd, _eof))
        {
            CheckUtf8(raw[..p]);    // throws, naming the line
            _utf8.Resume(recordEnd);
        }
        // Only a quoted field holds a line break; otherwise the terminator is the record's one line feed.
        _nextLine += anyQuoted ? raw.Count(Lf) : terminator > 0 && raw[^1] == Lf ? 1 : 0;
        if (terminator == 0 || terminator == 1 && raw[^1] == Cr) _nextLine++;   // no line feed ends this line
        blank = fields == 1 && _lengths[0] == 0 && !lastQuoted;
        for (int i = 0; i < fields; i++)
        {
            _starts[i] += _recordStart;
            if (_escaped[i]) _lengths[i] = Unescape(_buffer.AsSpan(_starts[i], _lengths[i]));
        }
        _fieldCount = fields;
        _recordStart += p + terminator;
        return true;
    }

    // The throws of ParseRecord, out of its body: their messages' formatting, inlined there, made the
    // compiler take 13-15 ms over it as every CSV build starts, on the thread that was to run it.
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowUnclosedQuote() =>
        throw new GrouperException(GrouperErrorKind.InvalidData,
            $"{Location}: a quoted field opened on this line has no closing quote. Is a quote unbalanced?{NoQuotingHint}", _path, _line);

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowAfterClosingQuote(byte b, int field) =>
        throw new GrouperException(GrouperErrorKind.InvalidData,
            $"{Location}: {(b is >= 0x20 and < 0x7F ? $"'{(char)b}'" : $"byte 0x{b:X2}")} follows the closing quote of field {field}, where a delimiter or a line break must be. Is a quote unbalanced?{NoQuotingHint}", _path, _line);

    // The error a file whose quotes are text (IMDb's TSV files: a title "Quoted" title) meets first.
    private const string NoQuotingHint = " If quotes are ordinary characters in this file, read it without quoting (New-GroupedDataset -Quoting None; in .NET CsvQuoting.None).";

    /// <summary>The length of the line break at <paramref name="p"/>: CRLF, or a lone LF or CR.</summary>
    private int LineBreak(int p)
    {
        if (_buffer[_recordStart + p] == Lf) return 1;
        if (_recordStart + p + 1 == _end) Fill();
        return _recordStart + p + 1 < _end && _buffer[_recordStart + p + 1] == Lf ? 2 : 1;
    }

    /// <summary>Turns each doubled quote of a quoted field into one, in place; returns the new length.</summary>
    private static int Unescape(Span<byte> value)
    {
        int w = value.IndexOf(Quote);
        for (int r = w; r < value.Length; r++)
        {
            byte b = value[r];
            value[w++] = b;
            if (b == Quote) r++;   // the quote doubling it
        }
        return w;
    }

    /// <summary>Throws for the first byte of <paramref name="record"/> that is not UTF-8, naming its line.</summary>
    private void CheckUtf8(ReadOnlySpan<byte> record)
    {
        if (Utf8.IsValid(record)) return;
        int at = 0;
        while (System.Buffers.OperationStatus.Done == System.Text.Rune.DecodeFromUtf8(record[at..], out _, out int n)) at += n;
        long line = _line + record[..at].Count(Lf);
        throw new GrouperException(GrouperErrorKind.InvalidData,
            $"{_path} is not valid UTF-8 at line {line}: byte 0x{record[at]:X2} cannot be read as text there.", _path, line);
    }

    private void GrowFields()
    {
        int n = _starts.Length * 2;
        Array.Resize(ref _starts, n);
        Array.Resize(ref _lengths, n);
        Array.Resize(ref _escaped, n);
    }

    /// <summary>
    /// Reads more input after the bytes held: the unparsed part moves to the front of the buffer, which grows
    /// when one record fills it. False at the end of the file.
    /// </summary>
    private bool Fill()
    {
        if (_eof) return false;
        int pending = _end - _recordStart;
        if (_recordStart > 0)
        {
            if (pending > 0) Buffer.BlockCopy(_buffer, _recordStart, _buffer, 0, pending);
            _utf8.Shift(_recordStart);
            _recordStart = 0;
            _end = pending;
        }
        if (_buffer.Length - _end < _buffer.Length / 4)
        {
            if (_buffer.Length < MaxRecordBytes) Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, MaxRecordBytes));
            else if (_end == _buffer.Length)
                throw new GrouperException(GrouperErrorKind.InvalidData,
                    $"The record at {Location} is longer than {MaxRecordBytes >> 20} MB. Is a quote unbalanced?", _path, _line);
        }
        else if (_buffer.Length > 1 << 20 && pending < 1 << 16)
        {
            // A long record is behind: give its buffer back.
            var small = new byte[1 << 17];
            _buffer.AsSpan(0, pending).CopyTo(small);
            _buffer = small;
        }
        int n;
        try { n = _stream.Read(_buffer, _end, _buffer.Length - _end); }
        catch (DecoderFallbackException ex)
        {
            throw new GrouperException(GrouperErrorKind.InvalidData, $"{_path} is not valid text in the encoding its byte order mark names, near line {_line}: {ex.Message}", _path, _line, ex);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException)
        {
            throw new GrouperException(GrouperErrorKind.InvalidData, $"Cannot read {_path} near line {_line}: {ex.Message}", _path, _line, ex);
        }
        if (n == 0)
        {
            _eof = true;
            return false;
        }
        _end += n;
        return true;
    }

    /// <summary>
    /// Skips a UTF-8 byte order mark; a UTF-16 or UTF-32 one (Excel's "Unicode text" is UTF-16) puts a
    /// transcoder to UTF-8 between the file and the tokenizer.
    /// </summary>
    private void SkipByteOrderMark()
    {
        while (_end < 4 && Fill()) { }
        var head = _buffer.AsSpan(0, _end);
        Encoding? encoding = null;
        int bom = 0;
        if (head.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) { _recordStart = 3; return; }
        if (head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE, 0, 0])) (encoding, bom) = (new UTF32Encoding(false, false, true), 4);
        else if (head.StartsWith((ReadOnlySpan<byte>)[0, 0, 0xFE, 0xFF])) (encoding, bom) = (new UTF32Encoding(true, false, true), 4);
        else if (head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE])) (encoding, bom) = (new UnicodeEncoding(false, false, true), 2);
        else if (head.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF])) (encoding, bom) = (new UnicodeEncoding(true, false, true), 2);
        if (encoding is null) return;
        var rest = new PrefixedStream(head[bom..].ToArray(), _stream);
        _stream = Encoding.CreateTranscodingStream(rest, encoding, new UTF8Encoding(false, true));
        _recordStart = _end = 0;
        _eof = false;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _stream.Dispose();
    }

    /// <summary>Bytes already read from a stream, then the rest of it.</summary>
    private sealed class PrefixedStream(byte[] prefix, Stream rest) : Stream
    {
        private int _at;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_at < prefix.Length)
            {
                int n = Math.Min(buffer.Length, prefix.Length - _at);
                prefix.AsSpan(_at, n).CopyTo(buffer);
                _at += n;
                return n;
            }
            return rest.Read(buffer);
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) rest.Dispose();
            base.Dispose(disposing);
        }
    }
}
