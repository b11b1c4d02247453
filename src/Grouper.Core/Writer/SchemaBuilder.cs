using System.Globalization;
using System.Runtime.CompilerServices;
using Grouper.Schema;
using Grouper.Sources;

namespace Grouper.Writer;

/// <summary>
/// The dataset's schema as it is discovered while records stream in. Files with a declared schema
/// (CSV headers, Parquet) must agree with each other; flexible sources (JSON Lines, objects) may add
/// columns, and JSON integers widen to double when a column also holds fractions.
/// </summary>
internal sealed class SchemaBuilder
{
    internal sealed class Column(string name, int ordinal)
    {
        public readonly string Name = name;
        /// <summary>The dataset's name for the column: its source's, but for one named as the shards' key column (below).</summary>
        public string OutputName = name;
        public readonly int Ordinal = ordinal;
        public ValueKind Kind;
        public bool Nullable;
        public bool Declared;
        public int Precision, Scale;
        public TimeUnit Unit = TimeUnit.Micros;
        public bool AdjustedToUtc = true;
        public string FirstSource = "";
        public long FirstRow;
        // The first integer of the column that a double cannot hold exactly, and where it was: should the
        // column widen to double, that integer would be rounded, so the build stops instead.
        public string? InexactInteger;
        public string InexactLocation = "";
        // Where the column first held a double (or was declared one): named by that error.
        public string? DoubleLocation;
        // Every signed integer of the column OR-ed together: negative once one was. Until then, integers
        // beyond a long widen it to uint64 rather than double. (Kept by the encoder without a branch: a check of
        // each value's sign, unpredictable in a column of mixed signs, slowed an integer-heavy JSON build by up
        // to 16%; docs/benchmarks.md.)
        public long SignBits;
        // Of a decimal column's values so far: the most digits before the point (precision and scale grow to
        // hold every value exactly).
        public int DecimalIntegerDigits;
    }

    private readonly List<Column> _columns = new();
    private readonly Dictionary<string, int> _byName = new(StringComparer.Ordinal);
    private string? _strictSource;      // the first file with a declared schema
    private bool _sawFlexible;
    private long _recordsSeen;

    public int Count => _columns.Count;
    public Column this[int i] => _columns[i];

    /// <summary>Returns map[global ordinal] = reader ordinal or -1, adding the reader's new columns.</summary>
    public int[] Bind(RecordReader reader)
    {
        if (!reader.IsSchemaFlexible) CheckStrict(reader);
        else _sawFlexible = true;

        for (int i = 0; i < reader.FieldCount; i++)
        {
            var name = reader.GetName(i);
            if (!_byName.TryGetValue(name, out var g))
            {
                // A CSV header's empty name is refused by its reader; JSON allows "" as a name, a column does not.
                if (name.Length == 0)
                    throw new GrouperException(GrouperErrorKind.InvalidData,
                        $"A field in {reader.Location} has an empty name; a dataset's columns need names.", reader.SourceName, reader.RowNumber);
                g = _columns.Count;
                var col = new Column(name, g) { FirstSource = reader.SourceName, FirstRow = reader.RowNumber };
                // An input column named as the shards' key column (a Grouper dataset's shards read again, to group them
                // by another key) made two columns of one name in a shard, and readers took the key's values for the
                // column's: it keeps its values under a name of its own (as does a later column of that name).
                if (name == Format.DatasetManifest.KeyColumnName || _columns.Exists(c => c.OutputName == name)) col.OutputName = FreeName(name, reader);
                // A column first met after records were written is absent (null) in those records.
                col.Nullable = _recordsSeen > 0;
                _columns.Add(col);
                _byName.Add(name, g);
            }
            if (reader.GetDeclaredColumn(i) is { } declared) ApplyDeclared(_columns[g], declared, reader);
        }

        var map = new int[_columns.Count];
        for (int g = 0; g < map.Length; g++)
        {
            map[g] = reader.GetOrdinal(_columns[g].Name);
            if (map[g] < 0) _columns[g].Nullable = true;
        }
        return map;
    }

    // NAME_1, NAME_2, …: the first that neither a column nor the reader's fields are named.
    private string FreeName(string name, RecordReader reader)
    {
        var taken = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).Concat(_columns.Select(c => c.OutputName)).ToHashSet(StringComparer.Ordinal);
        for (int n = 1; ; n++)
            if (!taken.Contains($"{name}_{n}")) return $"{name}_{n}";
    }

    private void CheckStrict(RecordReader reader)
    {
        if (_strictSource is null || _sawFlexible)
        {
            _strictSource ??= reader.SourceName;
            return;
        }
        var theirs = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToHashSet(StringComparer.Ordinal);
        var missing = _columns.Where(c => !theirs.Contains(c.Name)).Select(c => c.Name).ToList();
        var extra = theirs.Where(n => !_byName.ContainsKey(n)).OrderBy(n => n, StringComparer.Ordinal).ToList();
        if (missing.Count > 0 || extra.Count > 0)
        {
            var what = new List<string>();
            if (missing.Count > 0) what.Add("it lacks " + string.Join(", ", missing.Select(n => $"'{n}'")));
            if (extra.Count > 0) what.Add("it has " + string.Join(", ", extra.Select(n => $"'{n}'")) + " in addition");
            throw new GrouperException(GrouperErrorKind.SchemaMismatch,
                $"The columns of {reader.SourceName} disagree with those of {_strictSource}: {string.Join("; ", what)}.",
                reader.SourceName, reader.RowNumber);
        }
    }

    private static void ApplyDeclared(Column col, ColumnSpec spec, RecordReader reader)
    {
        if (col.Declared)
        {
            // Times of another unit or zone were taken as the first file's: microseconds cut to its milliseconds, a UTC
            // instant stored as a wall-clock time, without a word (as int32 against int64 is refused).
            bool timeDiffers = spec.Kind is ValueKind.Timestamp or ValueKind.Time && (col.Unit != spec.Unit || spec.Kind == ValueKind.Timestamp && col.AdjustedToUtc != spec.AdjustedToUtc);
            if (col.Kind != spec.Kind || col.Precision != spec.Precision || col.Scale != spec.Scale || timeDiffers)
                throw new GrouperException(GrouperErrorKind.SchemaMismatch,
                    $"Column '{col.Name}' is {Describe(spec)} in {reader.SourceName} but {Describe(col.Kind, col.Precision, col.Scale, col.Unit, col.AdjustedToUtc)} in {col.FirstSource}.",
                    reader.SourceName, reader.RowNumber);
            col.Nullable |= spec.Nullable;
            return;
        }
        if (col.Kind != ValueKind.Null && col.Kind != spec.Kind)
            throw new GrouperException(GrouperErrorKind.SchemaMismatch,
                $"Column '{col.Name}' is {spec.Kind.ToName()} in {reader.SourceName} but held {col.Kind.ToName()} values in {col.FirstSource}.",
                reader.SourceName, reader.RowNumber);
        col.Declared = true;
        col.Kind = spec.Kind;
        if (spec.Kind is ValueKind.Double or ValueKind.Float) col.DoubleLocation ??= $"a {spec.Kind.ToName()} column in {reader.SourceName}";
        col.Nullable |= spec.Nullable;
        col.Precision = spec.Precision;
        col.Scale = spec.Scale;
        col.Unit = spec.Unit;
        col.AdjustedToUtc = spec.AdjustedToUtc;
    }

    private static string Describe(ValueKind k, int p, int s, TimeUnit unit = TimeUnit.Micros, bool utc = true) => k switch
    {
        ValueKind.Decimal => $"decimal({p},{s})",
        ValueKind.Timestamp => $"a timestamp in {unit.ToString().ToLowerInvariant()}{(utc ? " (UTC)" : " (no time zone)")}",
        ValueKind.Time => $"a time in {unit.ToString().ToLowerInvariant()}",
        _ => k.ToName(),
    };

    private static string Describe(ColumnSpec c) => Describe(c.Kind, c.Precision, c.Scale, c.Unit, c.AdjustedToUtc);

    public void CountRecord() => _recordsSeen++;

    /// <summary>Checks one value against its column; called only when the kinds differ (the rare path).</summary>
    public void Observe(Column col, ValueKind kind, RecordReader reader)
    {
        if (kind == ValueKind.Null) { col.Nullable = true; return; }
        if (kind is ValueKind.Double or ValueKind.Float) col.DoubleLocation ??= reader.Location;
        if (col.Kind == ValueKind.Null)
        {
            col.Kind = kind;
            if (kind == ValueKind.Decimal && col.Precision == 0) { col.Precision = 29; col.Scale = 9; }
            return;
        }
        if (!col.Declared && Widen(col.Kind, kind, col.SignBits < 0) is { } wider)
        {
            col.Kind = wider;
            if (col.InexactInteger is not null && wider is ValueKind.Double) throw Inexact(col, col.InexactInteger, col.InexactLocation, reader);
            return;
        }
        if (col.Declared && CanConvert(kind, col.Kind)) return;
        throw new GrouperException(GrouperErrorKind.SchemaMismatch,
            $"Column '{col.Name}' holds a {kind.ToName()} value in {reader.Location}, but it held {col.Kind.ToName()} values before (from {col.FirstSource}).",
            reader.SourceName, reader.RowNumber);
    }

    /// <summary>
    /// Called for an integer that a double cannot hold exactly (beyond 2^53, unless a multiple of a power of
    /// two that it holds): an error when its column is of doubles, noted for later when the column may still
    /// widen to them.
    /// </summary>
    public void ObserveInexactInteger(Column col, string value, RecordReader reader)
    {
        if (col.Kind is ValueKind.Double or ValueKind.Float) throw Inexact(col, value, reader.Location, reader);
        if (col.InexactInteger is not null) return;
        col.InexactInteger = value;
        col.InexactLocation = reader.Location;
    }

    private static GrouperException Inexact(Column col, string value, string where, RecordReader? reader) => new(GrouperErrorKind.SchemaMismatch,
        col.DoubleLocation is null && col.SignBits < 0
            ? $"Column '{col.Name}' holds both negative integers and integers beyond a long, which no integer type holds together, " +
              $"so it is written as double, which cannot hold the integer {value} ({where}) exactly; the build stops rather than round it. Write such integers as text in the source."
            : $"Column '{col.Name}' holds both integers and fractions (its first at {col.DoubleLocation ?? reader?.Location}), so it is written as double, " +
              $"which cannot hold the integer {value} ({where}) exactly; the build stops rather than round it. Write such integers as text in the source, or the fractions in another column.",
        reader?.SourceName, reader?.RowNumber ?? 0);

    /// <summary>
    /// Settles what could only be known at the end: a column that became uint64 (integers beyond a long) and
    /// then met negative integers is of doubles, which stops the build if one of its integers is beyond what
    /// a double holds exactly. Call it once all records are in, before <see cref="ToSpecs"/>.
    /// </summary>
    public void Settle()
    {
        foreach (var col in _columns)
        {
            if (col.Kind != ValueKind.UInt64 || col.SignBits >= 0) continue;
            if (col.Declared)
                throw new GrouperException(GrouperErrorKind.SchemaMismatch,
                    $"Column '{col.Name}' is uint64 (from {col.FirstSource}), but other sources gave it negative integers, which it cannot hold; the build stops rather than wrap them.",
                    col.FirstSource);
            col.Kind = ValueKind.Double;
            if (col.InexactInteger is not null) throw Inexact(col, col.InexactInteger, col.InexactLocation, null);
        }
    }

    /// <summary>
    /// Called for each decimal value: an undeclared column's scale grows to the value's (trailing zeros aside)
    /// and its precision to hold the most digits before the point with that scale, from decimal(29, 9); a
    /// declared column must hold the value as it is. Where no Parquet decimal (38 digits at most) holds every
    /// value exactly, the build stops rather than round them.
    /// </summary>
    public void ObserveDecimal(Column col, decimal value, RecordReader reader)
    {
        int integerDigits = Math.Max(0, MantissaDigits(value) - value.Scale);
        if (value.Scale <= col.Scale && integerDigits <= (col.Declared ? col.Precision - col.Scale : col.DecimalIntegerDigits)) return;
        // Dividing by one with 28 zeros drops trailing zeros: 1.50m needs scale 1.
        int scale = (value / 1.0000000000000000000000000000m).Scale;
        if (col.Declared)
        {
            if (scale <= col.Scale && integerDigits <= col.Precision - col.Scale) return;
            throw new GrouperException(GrouperErrorKind.SchemaMismatch,
                $"Column '{col.Name}' is decimal({col.Precision},{col.Scale}) (from {col.FirstSource}), which cannot hold {value.ToString(CultureInfo.InvariantCulture)} ({reader.Location}) exactly; the build stops rather than round it.",
                reader.SourceName, reader.RowNumber);
        }
        if (scale <= col.Scale && integerDigits <= col.DecimalIntegerDigits) return;
        col.Scale = Math.Max(col.Scale, scale);
        col.DecimalIntegerDigits = Math.Max(col.DecimalIntegerDigits, integerDigits);
        col.Precision = Math.Max(col.Precision, col.DecimalIntegerDigits + col.Scale);
        if (col.Precision > 38)
            throw new GrouperException(GrouperErrorKind.SchemaMismatch,
                $"Column '{col.Name}' holds decimals with up to {col.DecimalIntegerDigits} digits before the point and {col.Scale} after it ({value.ToString(CultureInfo.InvariantCulture)} in {reader.Location}): " +
                "more than the 38 a Parquet decimal holds; the build stops rather than round them. Write such values as text in the source.",
                reader.SourceName, reader.RowNumber);
    }

    private static readonly UInt128[] PowersOfTen = Enumerable.Range(0, 30).Select(i => Enumerable.Repeat((UInt128)10, i).Aggregate((UInt128)1, (a, b) => a * b)).ToArray();

    /// <summary>The digits of a decimal's 96-bit integer mantissa (its value times 10^scale).</summary>
    private static int MantissaDigits(decimal value)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value, bits);
        var mantissa = ((UInt128)(uint)bits[2] << 64) | ((UInt128)(uint)bits[1] << 32) | (uint)bits[0];
        int digits = 0;
        while (digits < PowersOfTen.Length && mantissa >= PowersOfTen[digits]) digits++;
        return digits;
    }

    /// <summary>Whether a double holds <paramref name="v"/> exactly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool FitsDouble(long v) => (ulong)(v + (1L << 53)) <= 1UL << 54 || ((double)v < 9223372036854775808.0 && (long)(double)v == v);

    /// <inheritdoc cref="FitsDouble(long)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool FitsDouble(ulong v) => v <= 1UL << 53 || ((double)v < 18446744073709551616.0 && (ulong)(double)v == v);

    /// <summary>
    /// The type that holds both kinds of numbers without loss where one exists (ints widen to the wider int,
    /// signed ints and uint64 to uint64 while none of the column's ints was negative, ints and floats to
    /// double, where an integer beyond a double's 53 bits stops the build: <see cref="ObserveInexactInteger"/>),
    /// for columns whose values bring their own types (JSON, objects). A signed value into a uint64 column
    /// keeps it uint64 until the end, where a negative one makes it double (<see cref="Settle"/>).
    /// </summary>
    internal static ValueKind? Widen(ValueKind have, ValueKind got, bool negatives = true)
    {
        if (have == got) return have;
        static int Rank(ValueKind k) => k switch
        {
            ValueKind.Int8 or ValueKind.UInt8 => 1,
            ValueKind.Int16 or ValueKind.UInt16 => 2,
            ValueKind.Int32 or ValueKind.UInt32 => 3,
            _ => 4,
        };
        bool haveInt = have.IsSignedInteger() || have.IsUnsignedInteger(), gotInt = got.IsSignedInteger() || got.IsUnsignedInteger();
        if (haveInt && gotInt)
        {
            if (have.IsSignedInteger() == got.IsSignedInteger()) return Rank(have) >= Rank(got) ? have : got;
            if (have == ValueKind.UInt64) return ValueKind.UInt64;
            if (got == ValueKind.UInt64) return negatives ? ValueKind.Double : ValueKind.UInt64;
            return ValueKind.Int64;
        }
        if ((haveInt || have.IsFloating()) && (gotInt || got.IsFloating())) return ValueKind.Double;
        return null;
    }

    /// <summary>Values a declared column accepts from other sources without loss.</summary>
    private static bool CanConvert(ValueKind from, ValueKind to) =>
        (to == ValueKind.Double && (from.IsSignedInteger() || from.IsUnsignedInteger() || from == ValueKind.Float))
        || (to == ValueKind.Int64 && (from is ValueKind.Int8 or ValueKind.Int16 or ValueKind.Int32 or ValueKind.UInt8 or ValueKind.UInt16 or ValueKind.UInt32))
        // Signed integers into uint64 while none is negative: Settle stops the build at the first that was.
        || (to == ValueKind.UInt64 && (from.IsUnsignedInteger() || from.IsSignedInteger()));

    public IReadOnlyList<ColumnSpec> ToSpecs() => _columns.Select(c => new ColumnSpec(c.OutputName, c.Kind == ValueKind.Null ? ValueKind.String : c.Kind, c.Nullable || c.Kind == ValueKind.Null)
    {
        Precision = c.Kind == ValueKind.Decimal ? c.Precision : 0,
        Scale = c.Kind == ValueKind.Decimal ? c.Scale : 0,
        Unit = c.Unit,
        AdjustedToUtc = c.AdjustedToUtc,
    }).ToList();
}
