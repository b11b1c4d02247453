using System.Buffers;
using System.Collections;
using System.Collections.Specialized;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Grouper.Schema;

namespace Grouper.Sources;

/// <summary>
/// Records supplied as objects by a caller, one at a time (the PowerShell pipeline): call
/// <see cref="SetCurrent"/> with the record's fields, then hand the reader to
/// <see cref="Writer.GroupedDatasetBuilder.Add"/>. <see cref="Read"/> is not used (it returns false).
/// Fields are added as they are first met; a record without a field has null there.
/// CLR values map to kinds: string; bool; sbyte…ulong; float, double; decimal; DateTime (timestamp);
/// DateTimeOffset (timestamp, as UTC); DateOnly (date); TimeSpan and TimeOnly (time); byte[] (binary);
/// null and DBNull (null); dictionaries and lists their JSON text (as a JSON Lines file's nested values are
/// kept); anything else its invariant-culture text.
/// </summary>
public sealed class ObjectRecordReader(string sourceName = "pipeline") : RecordReader
{
    private readonly List<string> _names = new();
    private readonly Dictionary<string, int> _ordinals = new(StringComparer.Ordinal);
    private object?[] _values = new object?[16];
    private ValueKind[] _kinds = new ValueKind[16];
    private int[] _setIn = new int[16]; // the record (by _stamp) that last set each field: a name twice in one record
    private int _stamp;
    private long _row;
    private int _schemaVersion;

    // Set for records of declared columns (a merge's parts, written again under one schema); null for objects.
    private IReadOnlyList<ColumnSpec>? _declared;

    /// <summary>A reader of records whose columns are these, declared as a Parquet file declares its own.</summary>
    internal static ObjectRecordReader Declaring(string sourceName, IReadOnlyList<ColumnSpec> columns)
    {
        var r = new ObjectRecordReader(sourceName) { _declared = columns };
        r.SetCurrent(columns.Select(c => new KeyValuePair<string, object?>(c.Name, null)), 0);
        return r;
    }

    public override ColumnSpec? GetDeclaredColumn(int ordinal) => _declared is { } d && ordinal < d.Count ? d[ordinal] : null;

    public override string SourceName => sourceName;
    public override long RowNumber => _row;
    public override string RowNoun => "object";
    public override bool IsSchemaFlexible => _declared is null;
    public override int SchemaVersion => _schemaVersion;
    public override int FieldCount => _names.Count;
    public override string GetName(int ordinal) => _names[ordinal];
    public override int GetOrdinal(string name) => _ordinals.TryGetValue(name, out var o) ? o : -1;
    public override bool Read() => false;

    /// <summary>Makes these fields the current record; <paramref name="rowNumber"/> is reported in messages (1-based).</summary>
    public void SetCurrent(IEnumerable<KeyValuePair<string, object?>> fields, long rowNumber)
    {
        Array.Clear(_kinds, 0, _names.Count);
        Array.Clear(_values, 0, _names.Count);
        _row = rowNumber;
        if (++_stamp == int.MaxValue) { Array.Clear(_setIn); _stamp = 1; }
        foreach (var (name, value) in fields)
        {
            if (!_ordinals.TryGetValue(name, out var o))
            {
                o = _names.Count;
                _names.Add(name);
                _ordinals.Add(name, o);
                _schemaVersion++;
                if (o == _values.Length)
                {
                    Array.Resize(ref _values, o * 2);
                    Array.Resize(ref _kinds, o * 2);
                    Array.Resize(ref _setIn, o * 2);
                }
            }
            // A hashtable's keys 1 and '1' are one column's name: the second value silently replaced the first.
            if (_setIn[o] == _stamp)
                throw new GrouperException(GrouperErrorKind.InvalidData,
                    $"{Location} has two fields named '{name}' (a dictionary's keys are column names as text).", SourceName, RowNumber);
            _setIn[o] = _stamp;
            (_kinds[o], _values[o]) = Classify(value);
        }
    }

    private static (ValueKind, object?) Classify(object? v) => v switch
    {
        null or DBNull => (ValueKind.Null, null),
        string s => (ValueKind.String, s),
        bool => (ValueKind.Boolean, v),
        sbyte => (ValueKind.Int8, v),
        short => (ValueKind.Int16, v),
        int => (ValueKind.Int32, v),
        long => (ValueKind.Int64, v),
        byte => (ValueKind.UInt8, v),
        ushort => (ValueKind.UInt16, v),
        uint => (ValueKind.UInt32, v),
        ulong => (ValueKind.UInt64, v),
        float => (ValueKind.Float, v),
        double => (ValueKind.Double, v),
        decimal => (ValueKind.Decimal, v),
        DateTime => (ValueKind.Timestamp, v),
        DateTimeOffset o => (ValueKind.Timestamp, o.UtcDateTime),
        DateOnly => (ValueKind.Date, v),
        TimeSpan => (ValueKind.Time, v),
        TimeOnly t => (ValueKind.Time, t.ToTimeSpan()),
        byte[] => (ValueKind.Binary, v),
        IDictionary or IList => (ValueKind.String, NestedJson.Write(v)),
        IFormattable f => (ValueKind.String, f.ToString(null, CultureInfo.InvariantCulture)),
        _ => (ValueKind.String, v.ToString() ?? ""),
    };

    public override ValueKind GetKind(int o) => o < _names.Count ? _kinds[o] : ValueKind.Null;
    public override string GetString(int o) => (string)_values[o]!;
    public override long GetInt64(int o) => Convert.ToInt64(_values[o], CultureInfo.InvariantCulture);
    public override ulong GetUInt64(int o) => Convert.ToUInt64(_values[o], CultureInfo.InvariantCulture);
    public override double GetDouble(int o) => Convert.ToDouble(_values[o], CultureInfo.InvariantCulture);
    public override bool GetBoolean(int o) => (bool)_values[o]!;
    public override decimal GetDecimal(int o) => (decimal)_values[o]!;
    public override DateTime GetDateTime(int o) => (DateTime)_values[o]!;
    public override DateOnly GetDate(int o) => (DateOnly)_values[o]!;
    public override TimeSpan GetTime(int o) => (TimeSpan)_values[o]!;
    public override ReadOnlySpan<byte> GetBytes(int o) => (byte[])_values[o]!;
    public override object? GetValue(int o) => GetKind(o) == ValueKind.Null ? null : _values[o];

    /// <summary>
    /// A dictionary's entries, keys as text, in an order the same input always gives: its own where it keeps one
    /// (an ordered dictionary), else by key (a Hashtable's order follows string hashes, which differ from process
    /// to process). For a record given as a dictionary, and for nested ones.
    /// </summary>
    public static IEnumerable<KeyValuePair<string, object?>> StableEntries(IDictionary dict)
    {
        var entries = Entries(dict).Select(e => new KeyValuePair<string, object?>(Convert.ToString(e.Key, CultureInfo.InvariantCulture) ?? "", e.Value));
        return dict is IOrderedDictionary ? entries : entries.OrderBy(e => e.Key, StringComparer.Ordinal);

        // The dictionary's own enumerator: a generic dictionary enumerated as IEnumerable gives KeyValuePairs, not
        // DictionaryEntry (a Dictionary[string,object] stopped a build with an InvalidCastException).
        static IEnumerable<DictionaryEntry> Entries(IDictionary dict)
        {
            var e = dict.GetEnumerator();
            while (e.MoveNext()) yield return e.Entry;
        }
    }
}

/// <summary>
/// A nested value (a dictionary, a list) as compact JSON text: its type's ToString ("System.Object[]") kept
/// nothing of it. Dictionaries' keys in <see cref="ObjectRecordReader.StableEntries"/>' order.
/// </summary>
internal static class NestedJson
{
    // Deeper than this (a cycle, most likely) a value is its text.
    private const int MaxDepth = 32;

    internal static readonly JsonWriterOptions Options = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // é stays é: text for people and engines, not for HTML
        SkipValidation = true,
    };

    public static string Write(object value)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, Options)) Write(w, value, 0);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>A number, or its text where JSON has none (NaN, infinities).</summary>
    internal static void WriteDouble(Utf8JsonWriter w, double d)
    {
        if (double.IsFinite(d)) w.WriteNumberValue(d);
        else w.WriteStringValue(d.ToString(CultureInfo.InvariantCulture));
    }

    internal static void Write(Utf8JsonWriter w, object? v, int depth)
    {
        switch (v)
        {
            case null or DBNull: w.WriteNullValue(); break;
            case string s: w.WriteStringValue(s); break;
            case bool b: w.WriteBooleanValue(b); break;
            case sbyte or short or int or long: w.WriteNumberValue(Convert.ToInt64(v, CultureInfo.InvariantCulture)); break;
            case byte or ushort or uint or ulong: w.WriteNumberValue(Convert.ToUInt64(v, CultureInfo.InvariantCulture)); break;
            case decimal m: w.WriteNumberValue(m); break;
            case double or float: WriteDouble(w, Convert.ToDouble(v, CultureInfo.InvariantCulture)); break;
            case DateTime t: w.WriteStringValue(t); break;
            case DateTimeOffset t: w.WriteStringValue(t); break;
            // ISO 8601, as DuckDB's to_json and Spark's to_json write them (IFormattable's invariant text is 01/31/2024).
            case DateOnly day: w.WriteStringValue(day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)); break;
            case TimeOnly time: w.WriteStringValue(time.ToString("HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture)); break;
            case TimeSpan span when span >= TimeSpan.Zero && span < TimeSpan.FromDays(1):
                w.WriteStringValue(TimeOnly.FromTimeSpan(span).ToString("HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture));
                break;
            case Guid id: w.WriteStringValue(id.ToString("D")); break;
            case byte[] bytes: w.WriteBase64StringValue(bytes); break;
            case IDictionary dict when depth < MaxDepth:
                w.WriteStartObject();
                foreach (var (key, value) in ObjectRecordReader.StableEntries(dict))
                {
                    w.WritePropertyName(key);
                    Write(w, value, depth + 1);
                }
                w.WriteEndObject();
                break;
            // Lists only: other enumerables (an XML node's children, a lazy query) keep their text, as before.
            case IList list when depth < MaxDepth:
                w.WriteStartArray();
                foreach (var item in list) Write(w, item, depth + 1);
                w.WriteEndArray();
                break;
            case IFormattable f: w.WriteStringValue(f.ToString(null, CultureInfo.InvariantCulture)); break;
            default: w.WriteStringValue(v.ToString() ?? ""); break;
        }
    }
}
