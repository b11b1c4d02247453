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
        public readonly int Ordinal = ordinal;
        public ValueKind Kind;
        public bool Nullable;
        public bool Declared;
        public int Precision, Scale;
        public TimeUnit Unit = TimeUnit.Micros;
        public bool AdjustedToUtc = true;
        public string FirstSource = "";
        public long FirstRow;
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
                g = _columns.Count;
                var col = new Column(name, g) { FirstSource = reader.SourceName, FirstRow = reader.RowNumber };
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
            if (col.Kind != spec.Kind || col.Precision != spec.Precision || col.Scale != spec.Scale)
                throw new GrouperException(GrouperErrorKind.SchemaMismatch,
                    $"Column '{col.Name}' is {Describe(spec.Kind, spec.Precision, spec.Scale)} in {reader.SourceName} but {Describe(col.Kind, col.Precision, col.Scale)} in {col.FirstSource}.",
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
        col.Nullable |= spec.Nullable;
        col.Precision = spec.Precision;
        col.Scale = spec.Scale;
        col.Unit = spec.Unit;
        col.AdjustedToUtc = spec.AdjustedToUtc;
    }

    private static string Describe(ValueKind k, int p, int s) => k == ValueKind.Decimal ? $"decimal({p},{s})" : k.ToName();

    public void CountRecord() => _recordsSeen++;

    /// <summary>Checks one value against its column; called only when the kinds differ (the rare path).</summary>
    public void Observe(Column col, ValueKind kind, RecordReader reader)
    {
        if (kind == ValueKind.Null) { col.Nullable = true; return; }
        if (col.Kind == ValueKind.Null)
        {
            col.Kind = kind;
            if (kind == ValueKind.Decimal && col.Precision == 0) { col.Precision = 29; col.Scale = 9; }
            return;
        }
        if (!col.Declared && Widen(col.Kind, kind) is { } wider) { col.Kind = wider; return; }
        if (col.Declared && CanConvert(kind, col.Kind)) return;
        throw new GrouperException(GrouperErrorKind.SchemaMismatch,
            $"Column '{col.Name}' holds a {kind.ToName()} value in {reader.Location}, but it held {col.Kind.ToName()} values before (from {col.FirstSource}).",
            reader.SourceName, reader.RowNumber);
    }

    /// <summary>
    /// The type that holds both kinds of numbers without loss where one exists (ints widen to the wider int,
    /// ints and floats to double), for columns whose values bring their own types (JSON, objects).
    /// </summary>
    internal static ValueKind? Widen(ValueKind have, ValueKind got)
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
            return have == ValueKind.UInt64 || got == ValueKind.UInt64 ? ValueKind.Double : ValueKind.Int64;
        }
        if ((haveInt || have.IsFloating()) && (gotInt || got.IsFloating())) return ValueKind.Double;
        return null;
    }

    /// <summary>Values a declared column accepts from other sources without loss.</summary>
    private static bool CanConvert(ValueKind from, ValueKind to) =>
        (to == ValueKind.Double && (from.IsSignedInteger() || from.IsUnsignedInteger() || from == ValueKind.Float))
        || (to == ValueKind.Int64 && (from is ValueKind.Int8 or ValueKind.Int16 or ValueKind.Int32 or ValueKind.UInt8 or ValueKind.UInt16 or ValueKind.UInt32));

    public IReadOnlyList<ColumnSpec> ToSpecs() => _columns.Select(c => new ColumnSpec(c.Name, c.Kind == ValueKind.Null ? ValueKind.String : c.Kind, c.Nullable || c.Kind == ValueKind.Null)
    {
        Precision = c.Kind == ValueKind.Decimal ? c.Precision : 0,
        Scale = c.Kind == ValueKind.Decimal ? c.Scale : 0,
        Unit = c.Unit,
        AdjustedToUtc = c.AdjustedToUtc,
    }).ToList();
}
