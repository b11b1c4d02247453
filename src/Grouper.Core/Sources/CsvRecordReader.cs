using System.Text;
using Grouper.Schema;
using Grouper.Util;
using Sylvan.Data.Csv;

namespace Grouper.Sources;

/// <summary>
/// CSV and TSV (RFC 4180: header row, quoted fields with delimiters, quotes and newlines inside) through
/// Sylvan.Data.Csv. Every value is a string; an empty field is the empty string. Blank lines are skipped.
/// </summary>
public sealed class CsvRecordReader : RecordReader
{
    /// <summary>Largest record, in characters, the reader accepts (a longer one is reported, not buffered).</summary>
    public const int MaxRecordChars = 64 << 20;

    private readonly string _path;
    private readonly CsvDataReader _csv;
    private readonly string[] _names;
    private long _line = 1;          // line where the current record starts
    private long _nextLine;          // line where the next record starts

    public CsvRecordReader(string path, Stream stream, char delimiter)
    {
        _path = path;
        var text = new StreamReader(stream, StrictUtf8.Encoding, detectEncodingFromByteOrderMarks: true, 1 << 16);
        try
        {
            _csv = CsvDataReader.Create(text, new CsvDataReaderOptions
            {
                HasHeaders = true,
                Delimiter = delimiter,
                ResultSetMode = ResultSetMode.SingleResult,
                BufferSize = 1 << 16,
                MaxBufferSize = MaxRecordChars,
                OwnsReader = true,
            });
        }
        catch (Exception ex) when (ex is CsvFormatException or IOException or InvalidDataException or DecoderFallbackException)
        {
            text.Dispose();
            throw new GrouperException(GrouperErrorKind.InvalidData, ex is DecoderFallbackException
                ? $"{path} is not valid UTF-8 (within its first {1 << 16} characters): {ex.Message}"
                : $"Cannot read the header of {path}: {ex.Message}", path, 1, ex);
        }
        _names = new string[_csv.FieldCount];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < _names.Length; i++)
        {
            _names[i] = _csv.GetName(i);
            if (_names[i].Length == 0)
                throw new GrouperException(GrouperErrorKind.InvalidData, $"Column {i + 1} of the header of {path} has no name.", path, 1);
            if (!seen.Add(_names[i]))
                throw new GrouperException(GrouperErrorKind.InvalidData, $"The header of {path} names column '{_names[i]}' twice.", path, 1);
        }
        if (_names.Length == 0)
            throw new GrouperException(GrouperErrorKind.InvalidData, $"{path} is empty: a CSV file needs a header row.", path, 1);
        _nextLine = 2;
    }

    public override string SourceName => _path;
    public override long RowNumber => _line;
    public override string RowNoun => "line";
    public override int FieldCount => _names.Length;
    public override string GetName(int ordinal) => _names[ordinal];

    public override bool Read()
    {
        while (true)
        {
            _line = _nextLine;
            bool ok;
            try { ok = _csv.Read(); }
            catch (CsvRecordTooLargeException ex)
            {
                throw new GrouperException(GrouperErrorKind.InvalidData, $"The record at {Location} is longer than {MaxRecordChars} characters (an unbalanced quote?).", _path, _line, ex);
            }
            catch (CsvFormatException ex)
            {
                throw new GrouperException(GrouperErrorKind.InvalidData, $"{Location}: {ex.Message} Is a quote unbalanced?", _path, _line, ex);
            }
            catch (DecoderFallbackException ex)
            {
                // The decoder runs ahead of the parser by up to one buffer: the line is where reading stood.
                throw new GrouperException(GrouperErrorKind.InvalidData, $"{_path} is not valid UTF-8 at or after line {_line}: {ex.Message}", _path, _line, ex);
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException)
            {
                throw new GrouperException(GrouperErrorKind.InvalidData, $"Cannot read {_path} near line {_line}: {ex.Message}", _path, _line, ex);
            }
            if (!ok) return false;
            var raw = _csv.GetRawRecordSpan();
            _nextLine += raw.Count('\n');
            if (raw.IndexOfAnyExcept('\r', '\n') < 0 && _csv.RowFieldCount <= 1) continue; // a blank line
            if (!raw.IsEmpty && raw[^1] != '\n' && raw[^1] != '\r') _nextLine++;           // the last line has no newline
            if (_csv.RowFieldCount != _names.Length)
                throw new GrouperException(GrouperErrorKind.InvalidData,
                    $"{Location} has {_csv.RowFieldCount} fields but the header has {_names.Length}.", _path, _line);
            return true;
        }
    }

    public override ValueKind GetKind(int ordinal) => ValueKind.String;
    public override ReadOnlySpan<char> GetChars(int ordinal) => _csv.GetFieldSpan(ordinal);
    public override string GetString(int ordinal) => _csv.GetString(ordinal);
    public override object? GetValue(int ordinal) => _csv.GetString(ordinal);

    protected override void Dispose(bool disposing)
    {
        if (disposing) _csv.Dispose();
    }
}
