using System.Globalization;
using System.Text;
using Grouper.Schema;
using Grouper.Sources;

namespace Grouper.Keys;

/// <summary>What to do with a record whose key (or one of its key columns) is null or empty.</summary>
public enum NullKeyPolicy
{
    /// <summary>Stop the build with an error naming the file and row (the default).</summary>
    Error,
    /// <summary>Put such records in the group named by <see cref="KeySpec.NullGroupName"/>.</summary>
    Group,
}

/// <summary>
/// How a record's group key is made. The key is a string: for one column, the value's canonical text
/// (<see cref="KeyText.Format(object)"/>); for several columns, the canonical texts joined by '|' with
/// '\' and '|' inside each part escaped as "\\" and "\|".
/// </summary>
public abstract class KeySpec
{
    public NullKeyPolicy NullPolicy { get; init; } = NullKeyPolicy.Error;
    public string NullGroupName { get; init; } = "__null__";

    /// <summary>A description recorded in the manifest (e.g. "columns: user_id").</summary>
    public abstract string Describe();

    /// <summary>The kind recorded in the manifest: "columns", "function" or a scheme's name.</summary>
    public abstract string KindName { get; }

    /// <summary>Key columns, if the key is made of columns; else empty.</summary>
    public virtual IReadOnlyList<string> Columns => Array.Empty<string>();

    /// <summary>Parameters recorded in the manifest (a scheme's seed, group count…), or null.</summary>
    public virtual IReadOnlyDictionary<string, string>? Parameters => null;

    /// <summary>
    /// When above 0, consecutive keys (in storage order) are merged into groups of this many keys, named by
    /// their 0-based group number (GroupedNaturalId). Applied when the sorted records are written.
    /// </summary>
    public virtual int MergeKeys => 0;

    /// <summary>Called once before a build or preview starts: schemes restart their record count here.</summary>
    public virtual void Reset() { }

    /// <summary>Makes the extractor for the records of one reader. Called again whenever the reader's schema changes.</summary>
    public abstract KeyExtractor Bind(RecordReader reader);

    public static KeySpec FromColumns(params string[] columns) => new ColumnKeySpec(columns);

    public static KeySpec FromFunction(Func<RecordReader, object?> function, string description = "function") =>
        new FunctionKeySpec(function, description);

    /// <summary>Applies the null policy to one part; returns null when the part is acceptable as is.</summary>
    internal string? NullPart(RecordReader reader, string what)
    {
        if (NullPolicy == NullKeyPolicy.Group) return NullGroupName;
        throw new GrouperException(GrouperErrorKind.InvalidKey,
            $"The group key is null or empty ({what}) in {reader.Location}. Put such records in a group of their own (New-GroupedDataset -NullKeyGroup NAME; in .NET the key's NullPolicy and NullGroupName; Import-GroupedDataset has no such choice), or leave them out of the input.",
            reader.SourceName, reader.RowNumber);
    }
}

/// <summary>Computes the key of the reader's current record.</summary>
public abstract class KeyExtractor
{
    /// <summary>Appends the key of the current record to <paramref name="sb"/> (cleared first).</summary>
    public abstract void GetKey(RecordReader reader, StringBuilder sb);

    /// <summary>
    /// The key's UTF-8 when it is a source's own text as it stands (one text column, not empty, the source
    /// holding it as valid UTF-8): the same bytes <see cref="GetKey"/> would give once encoded, without
    /// decoding them to characters and back. False when the key must be made by <see cref="GetKey"/>.
    /// </summary>
    internal virtual bool TryGetUtf8(RecordReader reader, out ReadOnlySpan<byte> key)
    {
        key = default;
        return false;
    }

    /// <summary>
    /// The source column whose value a key from <see cref="TryGetUtf8"/> is, byte for byte; -1 for none. When it
    /// is a column, <see cref="TryGetUtf8"/> succeeds exactly when that column's value is text and not empty
    /// (the builder's paths for its own readers, <c>AddOwn</c>, take the key from the column itself on that promise).
    /// </summary>
    internal virtual int DirectOrdinal => -1;
}

public sealed class ColumnKeySpec : KeySpec
{
    private readonly string[] _columns;

    public ColumnKeySpec(IEnumerable<string> columns)
    {
        _columns = columns.ToArray();
        if (_columns.Length == 0) throw new ArgumentException("At least one key column is needed.", nameof(columns));
        if (_columns.Any(string.IsNullOrEmpty)) throw new ArgumentException("Key column names must not be empty.", nameof(columns));
    }

    // The columns as the input spells them, once a reader has them all: a name given in another case (-GroupBy userid
    // for UserId) is recorded in the manifest as the shards' column is named, so readers and checks find it exactly.
    private string[]? _bound;

    public override IReadOnlyList<string> Columns => _bound ?? _columns;
    public override string KindName => "columns";
    public override string Describe() => "columns: " + string.Join(", ", Columns);
    public override void Reset() => _bound = null;

    public override KeyExtractor Bind(RecordReader reader)
    {
        var ordinals = new int[_columns.Length];
        for (int i = 0; i < _columns.Length; i++)
        {
            ordinals[i] = reader.FindOrdinal(_columns[i]);
            if (ordinals[i] < 0 && !reader.IsSchemaFlexible)
            {
                var have = string.Join(", ", Enumerable.Range(0, reader.FieldCount).Select(reader.GetName));
                throw new GrouperException(GrouperErrorKind.MissingColumn,
                    $"The key column '{_columns[i]}' is not in {reader.SourceName} (columns: {have}).", reader.SourceName, reader.RowNumber);
            }
        }
        if (_bound is null && ordinals.All(o => o >= 0))
            Interlocked.CompareExchange(ref _bound, ordinals.Select(reader.GetName).ToArray(), null);
        return new Extractor(this, ordinals);
    }

    private sealed class Extractor(ColumnKeySpec spec, int[] ordinals) : KeyExtractor
    {
        internal override int DirectOrdinal => ordinals.Length == 1 ? ordinals[0] : -1;

        internal override bool TryGetUtf8(RecordReader reader, out ReadOnlySpan<byte> key)
        {
            key = default;
            if (ordinals.Length != 1) return false;
            int o = ordinals[0];
            return o >= 0 && reader.GetKind(o) == ValueKind.String && reader.TryGetUtf8(o, out key) && !key.IsEmpty;
        }

        public override void GetKey(RecordReader reader, StringBuilder sb)
        {
            sb.Clear();
            for (int i = 0; i < ordinals.Length; i++)
            {
                if (i > 0) sb.Append('|');
                int o = ordinals[i];
                if (o < 0)
                {
                    // A flexible source has not seen the column yet; for this record it is absent.
                    if (reader.IsSchemaFlexible && reader.FindOrdinal(spec._columns[i]) is var late && late >= 0) { ordinals[i] = o = late; }
                    else
                    {
                        AppendPart(sb, spec.NullPart(reader, $"column '{spec._columns[i]}' is missing")!, ordinals.Length > 1);
                        continue;
                    }
                }
                int start = sb.Length;
                KeyText.Append(reader, o, sb, ordinals.Length > 1);
                if (sb.Length == start)
                    AppendPart(sb, spec.NullPart(reader, $"column '{spec._columns[i]}'")!, ordinals.Length > 1);
            }
        }

        private static void AppendPart(StringBuilder sb, string part, bool escape)
        {
            if (escape) KeyText.AppendEscaped(sb, part.AsSpan()); else sb.Append(part);
        }
    }
}

public sealed class FunctionKeySpec(Func<RecordReader, object?> function, string description) : KeySpec
{
    internal Func<RecordReader, object?> Function { get; } = function;

    public override string KindName => "function";
    public override string Describe() => description;

    public override KeyExtractor Bind(RecordReader reader) => new Extractor(this);

    private sealed class Extractor(FunctionKeySpec spec) : KeyExtractor
    {
        public override void GetKey(RecordReader reader, StringBuilder sb)
        {
            sb.Clear();
            object? value;
            try { value = spec.Function(reader); }
            catch (GrouperException) { throw; }
            catch (Exception ex)
            {
                throw new GrouperException(GrouperErrorKind.InvalidKey,
                    $"The key function failed on {reader.Location}: {ex.Message}", reader.SourceName, reader.RowNumber, ex);
            }
            var text = value is null ? null : KeyText.Format(value);
            sb.Append(string.IsNullOrEmpty(text) ? spec.NullPart(reader, "the key function returned nothing") : text);
        }
    }
}

/// <summary>The canonical text of key values.</summary>
public static class KeyText
{
    /// <summary>
    /// Canonical text of one value: strings as they are; numbers in invariant culture, shortest round-trip
    /// form; booleans "true"/"false"; timestamps ISO 8601 ("O"; a local time as its UTC instant, with "Z"); dates "yyyy-MM-dd"; times "c";
    /// binary as lowercase hex.
    /// </summary>
    public static string Format(object value) => value switch
    {
        string s => s,
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        // A local time (PowerShell's Get-Date) is the instant it names, in UTC as a column stores it: with the
        // machine's offset, the same input keyed differently in another time zone.
        DateTime { Kind: DateTimeKind.Local } t => t.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture),
        DateTime t => t.ToString("O", CultureInfo.InvariantCulture),
        DateTimeOffset t => t.ToString("O", CultureInfo.InvariantCulture),
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        TimeSpan t => t.ToString("c", CultureInfo.InvariantCulture),
        byte[] bytes => Convert.ToHexString(bytes).ToLowerInvariant(),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>Joins parts into the canonical composite form.</summary>
    public static string Compose(IEnumerable<string> parts)
    {
        var sb = new StringBuilder();
        bool first = true;
        foreach (var p in parts)
        {
            if (!first) sb.Append('|');
            first = false;
            AppendEscaped(sb, p.AsSpan());
        }
        return sb.ToString();
    }

    internal static void AppendEscaped(StringBuilder sb, ReadOnlySpan<char> part)
    {
        foreach (var c in part)
        {
            if (c is '\\' or '|') sb.Append('\\');
            sb.Append(c);
        }
    }

    /// <summary>Appends the canonical text of a reader's value; appends nothing for null.</summary>
    internal static void Append(RecordReader r, int o, StringBuilder sb, bool escape)
    {
        var kind = r.GetKind(o);
        switch (kind)
        {
            case ValueKind.Null: return;
            case ValueKind.String:
                if (escape) AppendEscaped(sb, r.GetChars(o)); else sb.Append(r.GetChars(o));
                return;
            case ValueKind.Int8 or ValueKind.Int16 or ValueKind.Int32 or ValueKind.Int64:
                sb.Append(r.GetInt64(o).ToString(CultureInfo.InvariantCulture)); return;
            case ValueKind.UInt8 or ValueKind.UInt16 or ValueKind.UInt32 or ValueKind.UInt64:
                sb.Append(r.GetUInt64(o).ToString(CultureInfo.InvariantCulture)); return;
            case ValueKind.Decimal when r.GetDeclaredColumn(o) is { Kind: ValueKind.Decimal, Scale: var scale and >= 0 and <= 28 }:
                // With its column's scale, as the format says (12.50): a wide decimal's values, read by another way,
                // lost their trailing zeros (1.1 beside 2.0000000000 in one column).
                var digits = r.GetDecimal(o).ToString("F" + scale.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
                if (escape) AppendEscaped(sb, digits.AsSpan()); else sb.Append(digits);
                return;
            case ValueKind.Timestamp when r.GetDeclaredColumn(o) is { AdjustedToUtc: false }:
                // A timestamp of no time zone (Parquet's isAdjustedToUTC=false) is a wall-clock time, read with the
                // local kind: its key is that time, without the offset of the machine that builds.
                sb.Append(DateTime.SpecifyKind(r.GetDateTime(o), DateTimeKind.Unspecified).ToString("O", CultureInfo.InvariantCulture));
                return;
            default:
                var text = Format(r.GetValue(o)!);
                if (escape) AppendEscaped(sb, text.AsSpan()); else sb.Append(text);
                return;
        }
    }
}
