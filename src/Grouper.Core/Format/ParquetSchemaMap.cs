using Grouper.Schema;
using Parquet.Schema;

namespace Grouper.Format;

/// <summary>How Grouper's column types map to Parquet fields (both ways).</summary>
internal static class ParquetSchemaMap
{
    public static DataField ToField(ColumnSpec c) => c.Kind switch
    {
        ValueKind.Boolean => new DataField<bool>(c.Name, c.Nullable),
        ValueKind.Int8 => new DataField<sbyte>(c.Name, c.Nullable),
        ValueKind.UInt8 => new DataField<byte>(c.Name, c.Nullable),
        ValueKind.Int16 => new DataField<short>(c.Name, c.Nullable),
        ValueKind.UInt16 => new DataField<ushort>(c.Name, c.Nullable),
        ValueKind.Int32 => new DataField<int>(c.Name, c.Nullable),
        ValueKind.UInt32 => new DataField<uint>(c.Name, c.Nullable),
        ValueKind.Int64 => new DataField<long>(c.Name, c.Nullable),
        ValueKind.UInt64 => new DataField<ulong>(c.Name, c.Nullable),
        ValueKind.Float => new DataField<float>(c.Name, c.Nullable),
        ValueKind.Double => new DataField<double>(c.Name, c.Nullable),
        ValueKind.Decimal => new DecimalDataField(c.Name, c.Precision, c.Scale, false, c.Nullable),
        ValueKind.String => new DataField<string>(c.Name, c.Nullable),
        ValueKind.Binary => new DataField<byte[]>(c.Name, c.Nullable),
        ValueKind.Timestamp => new DateTimeDataField(c.Name, DateTimeFormat.Timestamp, c.AdjustedToUtc, ToUnit(c.Unit), c.Nullable),
        ValueKind.Date => new DataField<DateOnly>(c.Name, c.Nullable),
        // A time of day without a zone, as the sources' TIME is (Parquet.Net's default, adjusted to UTC, made DuckDB and
        // Spark read every time column as TIME WITH TIME ZONE).
        ValueKind.Time => new TimeDataField(c.Name, ToPrecision(c.Unit), c.Nullable) { IsAdjustedToUtc = false },
        _ => throw new ArgumentOutOfRangeException(nameof(c), c.Kind, "No Parquet type for this kind."),
    };

    private static DateTimeTimeUnit ToUnit(TimeUnit u) => u switch
    {
        TimeUnit.Millis => DateTimeTimeUnit.Millis,
        TimeUnit.Nanos => DateTimeTimeUnit.Nanos,
        _ => DateTimeTimeUnit.Micros,
    };

    private static TimeUnitPrecision ToPrecision(TimeUnit u) => u switch
    {
        TimeUnit.Millis => TimeUnitPrecision.Millis,
        TimeUnit.Nanos => TimeUnitPrecision.Nanos,
        _ => TimeUnitPrecision.Micros,
    };

    /// <summary>
    /// The schema shards are encoded with: text columns as byte arrays (their UTF-8 goes to Parquet.Net as it
    /// is), <paramref name="textElements"/> the indexes of their schema elements (root first), which the
    /// shard's footer annotates as UTF-8 text, so that the file has the schema docs/format.md gives (the key
    /// column, then every column as <see cref="ToField"/> maps it).
    /// </summary>
    public static ParquetSchema ToEncodingSchema(IReadOnlyList<ColumnSpec> columns, out IReadOnlySet<int> textElements)
    {
        var fields = new List<Field> { new DataField<string>(DatasetManifest.KeyColumnName, false) };
        var text = new HashSet<int>();
        foreach (var c in columns)
        {
            // Flat schema: element 0 is the root, the key column element 1, column i element i + 2.
            if (c.Kind == ValueKind.String) text.Add(fields.Count + 1);
            fields.Add(c.Kind == ValueKind.String ? new DataField<byte[]>(c.Name, c.Nullable) : ToField(c));
        }
        textElements = text;
        return new ParquetSchema(fields);
    }
}
