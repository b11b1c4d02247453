using Grouper.Schema;
using Parquet.Meta;
using TimeUnit = Grouper.Schema.TimeUnit;

namespace Grouper.Format;

/// <summary>A top-level column of a Parquet schema, as far as Grouper's own reading of a file needs it.</summary>
/// <param name="Name">The column's name.</param>
/// <param name="Nullable">OPTIONAL rather than REQUIRED.</param>
/// <param name="Kind">
/// The kind Grouper reads the column as without Parquet.Net, the one Parquet.Net's field gives too: text for a
/// BYTE_ARRAY annotated UTF8 or STRING; Int32, Int64, Float or Double for INT32, INT64, FLOAT or DOUBLE with
/// no annotation but a signed integer of their own width; the integer kind an INTEGER annotation (or its
/// converted type) gives an INT32 or INT64 otherwise (Int8, UInt32, UInt64...); a timestamp for an INT64 with a
/// TIMESTAMP logical type, or an INT96 (Spark's and Impala's legacy timestamp, of microseconds and UTC as Parquet.Net
/// reads it); a date for an INT32 annotated DATE; a time for an INT32 or INT64 annotated TIME (of
/// milliseconds, or micro- or nanoseconds); a boolean for a BOOLEAN; a decimal for an INT32,
/// INT64 or FIXED_LEN_BYTE_ARRAY (of up to 16 bytes) annotated DECIMAL of a precision .NET's decimal can hold
/// some values of (up to 38 digits, scale up to 28). Null for any other column (Parquet.Net's to read).
/// </param>
/// <param name="Physical">Its physical type.</param>
internal sealed record ParquetLeaf(string Name, bool Nullable, ValueKind? Kind, Parquet.Meta.Type Physical)
{
    /// <summary>A timestamp's unit and whether it is UTC (what <see cref="ColumnSpec"/> says of a timestamp column).</summary>
    public TimeUnit Unit { get; init; } = TimeUnit.Micros;
    public bool AdjustedToUtc { get; init; } = true;

    /// <summary>A decimal's precision and scale, and a fixed-length byte array's length (0 for other types).</summary>
    public int Precision { get; init; }
    public int Scale { get; init; }
    public int FixedLength { get; init; }

    /// <summary>A nested column (a group, or a repeated field) of a schema that has some (<see cref="ParquetLayout.Mixed"/>): read as JSON text, by its schema as Parquet.Net gives it (NestedJsonColumn).</summary>
    public bool Nested { get; init; }

    /// <summary>A flat UTF-8 text column.</summary>
    public bool FlatText => Kind == ValueKind.String;

    /// <summary>The column as a source read without Parquet.Net declares it (a column with a <see cref="Kind"/>).</summary>
    public ColumnSpec ToSpec()
    {
        var spec = new ColumnSpec(Name, Kind!.Value, Nullable);
        return Kind switch
        {
            ValueKind.Timestamp => spec with { Unit = Unit, AdjustedToUtc = AdjustedToUtc },
            ValueKind.Decimal => spec with { Precision = Precision, Scale = Scale },
            ValueKind.Time => spec with { Unit = Unit },
            _ => spec,
        };
    }
}

/// <summary>
/// What a Parquet footer says about the file's rows and where its column chunks lie, read by Grouper
/// (<see cref="ParquetFooter.ReadLayout"/>): the row count, the row groups with their chunks (as Parquet.Net's
/// metadata types, which <see cref="PlainTextChunk"/> reads), and the top-level columns. A source whose columns
/// all have a <see cref="ParquetLeaf.Kind"/> is read without Parquet.Net; any other is Parquet.Net's.
/// </summary>
internal sealed class ParquetLayout
{
    public long NumRows { get; private set; }

    /// <summary>The writer the footer names (created_by), or null.</summary>
    public string? CreatedBy { get; private set; }
    public List<RowGroup> RowGroups { get; } = new();

    /// <summary>The schema's top-level columns, in order; empty when the schema has nested groups (never flat).</summary>
    public List<ParquetLeaf> Columns { get; } = new();

    /// <summary>True when every column has a <see cref="ParquetLeaf.Kind"/> and a name of its own, and the row groups have a chunk for each.</summary>
    public bool ReadableByGrouper { get; private set; }

    /// <summary>
    /// A schema with nested columns: its top-level columns, in order, flat ones as <see cref="Columns"/> would
    /// have them and nested ones marked <see cref="ParquetLeaf.Nested"/>; empty for a flat schema.
    /// </summary>
    public List<ParquetLeaf> Mixed { get; } = new();

    /// <summary>
    /// True when the schema has nested columns and every other has a <see cref="ParquetLeaf.Kind"/>, each top-level
    /// column a name of its own: the flat ones are read as in a flat file, the nested ones as JSON text by the
    /// schema Parquet.Net gives them.
    /// </summary>
    public bool ReadableBesideNested { get; private set; }

    // parquet.thrift's numbers for the few values read here.
    private const int BooleanType = 0, Int32Type = 1, Int64Type = 2, Int96Type = 3, FloatType = 4, DoubleType = 5, ByteArray = 6, FixedLenByteArray = 7,
        Required = 0, Optional = 1, Repeated = 2,
        Utf8 = 0, DecimalConverted = 5, DateConverted = 6, TimeMillisConverted = 7, TimeMicrosConverted = 8, Int32Converted = 17, Int64Converted = 18,
        TimestampMillisConverted = 9, TimestampMicrosConverted = 10,
        StringLogical = 1, DecimalLogical = 5, DateLogical = 6, TimeLogical = 7, TimestampLogical = 8, IntLogical = 10;

    // Classes and loops rather than tuples, structs in lists and LINQ: each generic instantiation over a value
    // type is compiled when first used, and this runs once at the start of a build, where such compiling
    // took 8-10 ms.
    private sealed class SchemaEntry
    {
        public string Name = "";
        public int Type = -1, Repetition = -1, Children, Converted = -1;
        public int Logical;               // the logical type union's member, 0 for none
        public int IntBits;               // of an IntType logical type
        public bool IntSigned;
        public bool TimestampUtc;         // of a TimestampType logical type
        public int TimestampUnit = -1;    // its TimeUnit union's member: 1 millis, 2 micros, 3 nanos
        public int TypeLength, Precision = -1, Scale = -1;        // the element's, for fixed-length arrays and decimals
        public int LogicalPrecision = -1, LogicalScale = -1;      // of a DecimalType logical type

        public ValueKind? Kind()
        {
            if (Repetition is not (Required or Optional)) return null;
            // A signed integer of the column's own width, by either annotation, is the unannotated column.
            bool PlainInt(int bits, int converted) =>
                (Converted == -1 || Converted == converted) && (Logical == 0 || Logical == IntLogical && IntBits == bits && IntSigned);
            return Type switch
            {
                ByteArray when Converted == Utf8 || Logical == StringLogical => ValueKind.String,
                Int32Type when PlainInt(32, Int32Converted) => ValueKind.Int32,
                // Narrower or unsigned integers, by either annotation (converted INT_8..UINT_64 are 11-18).
                Int32Type or Int64Type when IntKind() is { } k => k,
                // Days since 1970-01-01, by either annotation.
                Int32Type when (Converted == DateConverted || Converted == -1) && (Logical == DateLogical || Logical == 0 && Converted == DateConverted) => ValueKind.Date,
                Int64Type when PlainInt(64, Int64Converted) => ValueKind.Int64,
                FloatType when Converted == -1 && Logical == 0 => ValueKind.Float,
                DoubleType when Converted == -1 && Logical == 0 => ValueKind.Double,
                // A timestamp by its logical type (the converted type, when there is one, must say the same unit);
                // one with a converted type alone is Parquet.Net's (its legacy meanings).
                Int64Type when Logical == TimestampLogical && TimestampUnit is >= 1 and <= 3
                    && (Converted == -1 || Converted == TimestampMillisConverted && TimestampUnit == 1 || Converted == TimestampMicrosConverted && TimestampUnit == 2) => ValueKind.Timestamp,
                // Spark's default for timestamps (spark.sql.parquet.outputTimestampType), Hive's and Impala's.
                Int96Type when Converted == -1 && Logical == 0 => ValueKind.Timestamp,
                BooleanType when Converted == -1 && Logical == 0 => ValueKind.Boolean,
                // A time of day: milliseconds in an INT32, micro- or nanoseconds in an INT64, by the logical type
                // (the converted type, when there is one, saying the same unit) or the converted type alone.
                Int32Type when TimeUnitIs(1, TimeMillisConverted) => ValueKind.Time,
                Int64Type when TimeUnitIs(2, TimeMicrosConverted) || Logical == TimeLogical && TimestampUnit == 3 && Converted == -1 => ValueKind.Time,
                Int32Type or Int64Type or FixedLenByteArray when IsDecimal() => ValueKind.Decimal,
                _ => null,
            };
        }

        private bool TimeUnitIs(int unit, int converted) =>
            Logical == TimeLogical ? TimestampUnit == unit && (Converted == -1 || Converted == converted) : Logical == 0 && Converted == converted;

        // A decimal by its converted type (as Parquet.Net reads one), the logical type, when there is one, saying
        // the same; of a precision its physical type holds, and a fixed length of at most 16 bytes (38 digits).
        private bool IsDecimal() =>
            Converted == DecimalConverted && (Logical == 0 || Logical == DecimalLogical && LogicalPrecision == Precision && LogicalScale == Scale)
            && Precision >= 1 && Scale >= 0 && Scale <= Precision && Scale <= 28
            && Type switch { Int32Type => Precision <= 9, Int64Type => Precision <= 18, _ => Precision <= 38 && TypeLength is >= 1 and <= 16 };

        // The kind of an integer annotation, when it names one a column of this physical type holds.
        private ValueKind? IntKind()
        {
            bool converted = Converted is >= 11 and <= 18;
            if (!(Logical == IntLogical && (Converted == -1 || converted) || Logical == 0 && converted)) return null;
            var (bits, signed) = Logical == IntLogical ? (IntBits, IntSigned) : ConvertedInt(Converted);
            if (Logical == IntLogical && converted && ConvertedInt(Converted) != (bits, signed)) return null; // both annotations must agree
            return (Type, bits, signed) switch
            {
                (Int32Type, 8, true) => ValueKind.Int8,
                (Int32Type, 16, true) => ValueKind.Int16,
                (Int32Type, 8, false) => ValueKind.UInt8,
                (Int32Type, 16, false) => ValueKind.UInt16,
                (Int32Type, 32, false) => ValueKind.UInt32,
                (Int64Type, 64, false) => ValueKind.UInt64,
                _ => null, // the signed integer of the column's own width is PlainInt's
            };
        }

        // UINT_8, UINT_16, UINT_32, UINT_64, INT_8, INT_16, INT_32, INT_64: converted types 11-18.
        private static (int Bits, bool Signed) ConvertedInt(int converted) =>
            (8 << ((converted - 11) % 4), converted >= 15);

        // A timestamp's or a time's unit (a time by its converted type alone: TIME_MILLIS or TIME_MICROS).
        public TimeUnit Unit => TimestampUnit switch
        {
            1 => TimeUnit.Millis,
            3 => TimeUnit.Nanos,
            -1 when Converted == TimeMillisConverted => TimeUnit.Millis,
            _ => TimeUnit.Micros,
        };
    }

    /// <summary>Reads the footer's Thrift (already checked well-formed by <see cref="ParquetFooter"/>).</summary>
    public static ParquetLayout Parse(ReadOnlySpan<byte> footer)
    {
        var layout = new ParquetLayout();
        var r = new ThriftCompact.Reader(footer);
        var schema = new List<SchemaEntry>();
        short last = 0;
        while (r.ReadFieldHeader(ref last, out short id, out byte type))
        {
            switch (id)
            {
                case 2 when type == ThriftCompact.List:
                    r.ReadListHeader(out _, out int n);
                    for (int i = 0; i < n; i++) schema.Add(ReadSchemaElement(ref r));
                    break;
                case 3 when type == ThriftCompact.I64: layout.NumRows = r.ReadI64(); break;
                case 6 when type == ThriftCompact.Binary: layout.CreatedBy = System.Text.Encoding.UTF8.GetString(r.ReadBinary()); break;
                case 4 when type == ThriftCompact.List:
                    r.ReadListHeader(out _, out int groups);
                    for (int i = 0; i < groups; i++) layout.RowGroups.Add(ReadRowGroup(ref r));
                    break;
                default: r.Skip(type); break;
            }
        }

        // The root, then its children; a child with children of its own is a nested group.
        bool flat = schema.Count > 1 && schema[0].Children == schema.Count - 1;
        for (int i = 1; flat && i < schema.Count; i++) flat = schema[i].Children == 0;
        if (!flat)
        {
            ReadMixed(layout, schema);
            return layout;
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        bool readable = true;
        for (int i = 1; i < schema.Count; i++)
        {
            var e = schema[i];
            var leaf = Leaf(e);
            layout.Columns.Add(leaf);
            readable &= leaf.Kind is not null && names.Add(e.Name);
        }
        // Each row group has a chunk for each column, in order, by name: as PlainTextChunk looks them up.
        foreach (var g in layout.RowGroups)
        {
            readable &= g.Columns.Count == layout.Columns.Count;
            for (int i = 0; readable && i < g.Columns.Count; i++)
                readable = g.Columns[i].MetaData?.PathInSchema is [var p] && p == layout.Columns[i].Name;
        }
        layout.ReadableByGrouper = readable;
        return layout;
    }

    // A flat column.
    private static ParquetLeaf Leaf(SchemaEntry e)
    {
        var kind = e.Kind();
        return new ParquetLeaf(e.Name, e.Repetition == Optional, kind, (Parquet.Meta.Type)e.Type)
        {
            Unit = e.Unit,
            AdjustedToUtc = kind != ValueKind.Timestamp || e.TimestampUtc || e.Type == Int96Type,
            Precision = kind == ValueKind.Decimal ? e.Precision : 0,
            Scale = kind == ValueKind.Decimal ? e.Scale : 0,
            FixedLength = e.Type == FixedLenByteArray ? e.TypeLength : 0,
        };
    }

    // The top-level columns of a schema with nested ones: a group or a repeated field is nested (its subtree
    // skipped, by its elements' child counts); any other is a flat column.
    private static void ReadMixed(ParquetLayout layout, List<SchemaEntry> schema)
    {
        if (schema.Count < 2) return;
        var names = new HashSet<string>(StringComparer.Ordinal);
        bool readable = true, nested = false;
        int i = 1;
        while (i < schema.Count)
        {
            var e = schema[i];
            if (e.Children > 0 || e.Repetition == Repeated)
            {
                // The subtree's elements follow it: each element counts as one and adds its children.
                int pending = 1;
                for (; pending > 0; i++)
                {
                    if (i >= schema.Count || schema[i].Children < 0) { layout.Mixed.Clear(); return; }
                    pending += schema[i].Children - 1;
                }
                layout.Mixed.Add(new ParquetLeaf(e.Name, true, null, (Parquet.Meta.Type)e.Type) { Nested = true });
                nested = true;
            }
            else
            {
                var leaf = Leaf(e);
                layout.Mixed.Add(leaf);
                readable &= leaf.Kind is not null;
                i++;
            }
            readable &= names.Add(e.Name);
        }
        if (layout.Mixed.Count != schema[0].Children) { layout.Mixed.Clear(); return; }
        layout.ReadableBesideNested = readable && nested;
    }

    private static SchemaEntry ReadSchemaElement(ref ThriftCompact.Reader r)
    {
        var e = new SchemaEntry();
        short last = 0;
        while (r.ReadFieldHeader(ref last, out short id, out byte type))
        {
            switch (id)
            {
                case 1 when type == ThriftCompact.I32: e.Type = (int)r.ReadI64(); break;
                case 2 when type == ThriftCompact.I32: e.TypeLength = (int)r.ReadI64(); break;
                case 3 when type == ThriftCompact.I32: e.Repetition = (int)r.ReadI64(); break;
                case 4 when type == ThriftCompact.Binary: e.Name = System.Text.Encoding.UTF8.GetString(r.ReadBinary()); break;
                case 5 when type == ThriftCompact.I32: e.Children = (int)r.ReadI64(); break;
                case 6 when type == ThriftCompact.I32: e.Converted = (int)r.ReadI64(); break;
                case 7 when type == ThriftCompact.I32: e.Scale = (int)r.ReadI64(); break;
                case 8 when type == ThriftCompact.I32: e.Precision = (int)r.ReadI64(); break;
                case 10 when type == ThriftCompact.Struct:
                    // A union: the one field that is set says which logical type.
                    short inner = 0;
                    while (r.ReadFieldHeader(ref inner, out short kind, out byte t))
                    {
                        e.Logical = kind;
                        if (kind == IntLogical && t == ThriftCompact.Struct) ReadIntType(ref r, e);
                        else if (kind == TimestampLogical && t == ThriftCompact.Struct) ReadTimestampType(ref r, e);
                        else if (kind == DecimalLogical && t == ThriftCompact.Struct) ReadDecimalType(ref r, e);
                        else if (kind == TimeLogical && t == ThriftCompact.Struct) ReadTimestampType(ref r, e); // the same fields: isAdjustedToUTC, unit
                        else r.Skip(t);
                    }
                    break;
                default: r.Skip(type); break;
            }
        }
        return e;
    }

    // IntType: bitWidth (i8), isSigned (bool, its value the field's type in the compact protocol).
    private static void ReadIntType(ref ThriftCompact.Reader r, SchemaEntry e)
    {
        short last = 0;
        while (r.ReadFieldHeader(ref last, out short id, out byte type))
        {
            if (id == 1 && type == ThriftCompact.Byte) e.IntBits = (sbyte)r.ReadByte();
            else if (id == 2 && type is ThriftCompact.True or ThriftCompact.False) e.IntSigned = type == ThriftCompact.True;
            else r.Skip(type);
        }
    }

    // DecimalType: 1 scale, 2 precision (i32s).
    private static void ReadDecimalType(ref ThriftCompact.Reader r, SchemaEntry e)
    {
        short last = 0;
        while (r.ReadFieldHeader(ref last, out short id, out byte type))
        {
            if (id == 1 && type == ThriftCompact.I32) e.LogicalScale = (int)r.ReadI64();
            else if (id == 2 && type == ThriftCompact.I32) e.LogicalPrecision = (int)r.ReadI64();
            else r.Skip(type);
        }
    }

    // TimestampType: isAdjustedToUTC (bool), unit (a TimeUnit union of empty structs: 1 millis, 2 micros, 3 nanos).
    private static void ReadTimestampType(ref ThriftCompact.Reader r, SchemaEntry e)
    {
        short last = 0;
        while (r.ReadFieldHeader(ref last, out short id, out byte type))
        {
            if (id == 1 && type is ThriftCompact.True or ThriftCompact.False) e.TimestampUtc = type == ThriftCompact.True;
            else if (id == 2 && type == ThriftCompact.Struct)
            {
                short inner = 0;
                while (r.ReadFieldHeader(ref inner, out short unit, out byte t))
                {
                    e.TimestampUnit = unit;
                    r.Skip(t);
                }
            }
            else r.Skip(type);
        }
    }

    private static RowGroup ReadRowGroup(ref ThriftCompact.Reader r)
    {
        var g = new RowGroup { Columns = new List<ColumnChunk>() };
        short last = 0;
        while (r.ReadFieldHeader(ref last, out short id, out byte type))
        {
            switch (id)
            {
                case 1 when type == ThriftCompact.List:
                    r.ReadListHeader(out _, out int n);
                    for (int i = 0; i < n; i++) g.Columns.Add(ReadColumnChunk(ref r));
                    break;
                case 2 when type == ThriftCompact.I64: g.TotalByteSize = r.ReadI64(); break;
                case 3 when type == ThriftCompact.I64: g.NumRows = r.ReadI64(); break;
                default: r.Skip(type); break;
            }
        }
        return g;
    }

    private static ColumnChunk ReadColumnChunk(ref ThriftCompact.Reader r)
    {
        var c = new ColumnChunk();
        short last = 0;
        while (r.ReadFieldHeader(ref last, out short id, out byte type))
        {
            switch (id)
            {
                case 1 when type == ThriftCompact.Binary: c.FilePath = System.Text.Encoding.UTF8.GetString(r.ReadBinary()); break;
                case 2 when type == ThriftCompact.I64: c.FileOffset = r.ReadI64(); break;
                case 3 when type == ThriftCompact.Struct: c.MetaData = ReadColumnMetaData(ref r); break;
                default: r.Skip(type); break;
            }
        }
        return c;
    }

    private static ColumnMetaData ReadColumnMetaData(ref ThriftCompact.Reader r)
    {
        var m = new ColumnMetaData { Encodings = new List<Parquet.Meta.Encoding>(), PathInSchema = new List<string>() };
        short last = 0;
        while (r.ReadFieldHeader(ref last, out short id, out byte type))
        {
            switch (id)
            {
                case 1 when type == ThriftCompact.I32: m.Type = (Parquet.Meta.Type)r.ReadI64(); break;
                case 2 when type == ThriftCompact.List:
                    r.ReadListHeader(out _, out int encodings);
                    for (int i = 0; i < encodings; i++) m.Encodings.Add((Parquet.Meta.Encoding)r.ReadI64());
                    break;
                case 3 when type == ThriftCompact.List:
                    r.ReadListHeader(out _, out int parts);
                    for (int i = 0; i < parts; i++) m.PathInSchema.Add(System.Text.Encoding.UTF8.GetString(r.ReadBinary()));
                    break;
                case 4 when type == ThriftCompact.I32: m.Codec = (CompressionCodec)r.ReadI64(); break;
                case 5 when type == ThriftCompact.I64: m.NumValues = r.ReadI64(); break;
                case 6 when type == ThriftCompact.I64: m.TotalUncompressedSize = r.ReadI64(); break;
                case 7 when type == ThriftCompact.I64: m.TotalCompressedSize = r.ReadI64(); break;
                case 9 when type == ThriftCompact.I64: m.DataPageOffset = r.ReadI64(); break;
                case 10 when type == ThriftCompact.I64: m.IndexPageOffset = r.ReadI64(); break;
                case 11 when type == ThriftCompact.I64: m.DictionaryPageOffset = r.ReadI64(); break;
                case 12 when type == ThriftCompact.Struct: m.Statistics = ReadMinMax(ref r); break;
                default: r.Skip(type); break;
            }
        }
        return m;
    }

    // Statistics: only whether a chunk has min and max values, and which (1 max, 2 min, 5 max_value, 6 min_value);
    // null when it has none. The verifier asks (DatasetVerifier); reading needs none.
    private static Statistics? ReadMinMax(ref ThriftCompact.Reader r)
    {
        Statistics? st = null;
        short last = 0;
        while (r.ReadFieldHeader(ref last, out short id, out byte type))
        {
            if (id is 1 or 2 or 5 or 6 && type == ThriftCompact.Binary)
            {
                var value = r.ReadBinary().ToArray();
                st ??= new Statistics();
                switch (id)
                {
                    case 1: st.Max = value; break;
                    case 2: st.Min = value; break;
                    case 5: st.MaxValue = value; break;
                    default: st.MinValue = value; break;
                }
            }
            else r.Skip(type);
        }
        return st;
    }
}
