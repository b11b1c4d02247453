using System.Buffers.Binary;
using Grouper.Schema;
using Grouper.Format;
using Parquet;
using Parquet.Schema;

namespace Grouper.Reading;

/// <summary>One column of one row group of a shard, read whole and handed out value by value.</summary>
internal abstract class ShardColumn
{
    /// <summary>Reads the column's <paramref name="count"/> values of the row group at <paramref name="file"/>.</summary>
    /// <param name="rg">Parquet.Net's reader of the row group, opened by the first column that needs it (text the shard writer wrote is read without it).</param>
    /// <param name="file">Where the row group lies.</param>
    /// <param name="count">Its rows.</param>
    /// <param name="ct">Stops a long read.</param>
    public abstract void Load(Func<ParquetRowGroupReader> rg, RowGroupFile file, int count, CancellationToken ct);
    public abstract object? Get(int row);
    public virtual bool IsNull(int row) => Get(row) is null;
    /// <summary>A text value without making a string of it (empty for null).</summary>
    public virtual ReadOnlySpan<char> GetChars(int row) => throw new InvalidCastException("The column does not hold text.");
    /// <summary>A text value's UTF-8 without making a string of it (empty for null).</summary>
    public virtual ReadOnlySpan<byte> GetUtf8(int row) => throw new InvalidCastException("The column does not hold text.");

    /// <summary>A flat text column read without Parquet.Net: <paramref name="field"/> gives Parquet.Net's field if a chunk needs it.</summary>
    public static ShardColumn FlatText(string name, bool nullable, Func<DataField> field) => new Strings(new TextColumn(name, nullable, field, GrouperErrorKind.InvalidDataset));

    /// <summary>
    /// A column of numbers, dates or timestamps read without Parquet.Net (<paramref name="leaf"/>, the shard's, has
    /// the manifest's kind: <see cref="ReadsOwn"/>); <paramref name="field"/> gives Parquet.Net's field if a chunk needs it.
    /// </summary>
    public static ShardColumn Numbers(ColumnSpec spec, ParquetLeaf leaf, Func<DataField> field) => new FixedWidth(spec, leaf.Nullable, leaf.Physical, leaf.FixedLength, field);

    /// <summary>Whether <see cref="Numbers"/> reads a shard's column <paramref name="leaf"/> as the manifest's <paramref name="spec"/> declares it.</summary>
    public static bool ReadsOwn(ColumnSpec spec, ParquetLeaf leaf) =>
        leaf.Kind == spec.Kind && spec.Kind is ValueKind.Int8 or ValueKind.Int16 or ValueKind.Int32 or ValueKind.Int64 or ValueKind.UInt8 or ValueKind.UInt16
            or ValueKind.UInt32 or ValueKind.UInt64 or ValueKind.Float or ValueKind.Double or ValueKind.Date or ValueKind.Boolean
            || spec.Kind == ValueKind.Time && leaf.Kind == ValueKind.Time && leaf.Unit == spec.Unit
            || spec.Kind == ValueKind.Decimal && leaf.Kind == ValueKind.Decimal && leaf.Precision == spec.Precision && leaf.Scale == spec.Scale
            || spec.Kind == ValueKind.Timestamp && leaf.Kind == ValueKind.Timestamp && leaf.Unit == spec.Unit && leaf.AdjustedToUtc == spec.AdjustedToUtc;

    public static ShardColumn Create(DataField field, ColumnSpec spec) => spec.Kind switch
    {
        ValueKind.Boolean => new Values<bool>(field, spec.Nullable),
        ValueKind.Int8 => new Values<sbyte>(field, spec.Nullable),
        ValueKind.UInt8 => new Values<byte>(field, spec.Nullable),
        ValueKind.Int16 => new Values<short>(field, spec.Nullable),
        ValueKind.UInt16 => new Values<ushort>(field, spec.Nullable),
        ValueKind.Int32 => new Values<int>(field, spec.Nullable),
        ValueKind.UInt32 => new Values<uint>(field, spec.Nullable),
        ValueKind.Int64 => new Values<long>(field, spec.Nullable),
        ValueKind.UInt64 => new Values<ulong>(field, spec.Nullable),
        ValueKind.Float => new Values<float>(field, spec.Nullable),
        ValueKind.Double => new Values<double>(field, spec.Nullable),
        ValueKind.Decimal => new Values<decimal>(field, spec.Nullable),
        // An INT96 (in an imported file of Spark's) as the manifest declares it and Grouper's own reading gives it:
        // UTC (Parquet.Net gives no kind), to the microsecond below (Parquet.Net keeps tenths of one).
        ValueKind.Timestamp when field is DateTimeDataField { DateTimeFormat: DateTimeFormat.Impala } =>
            new Converted<DateTime>(new Values<DateTime>(field, spec.Nullable), static v => new DateTime(v.Ticks - v.Ticks % 10, DateTimeKind.Utc)),
        // A timestamp not adjusted to UTC is a wall clock of no zone: Parquet.Net gives it this machine's (Local).
        ValueKind.Timestamp when !spec.AdjustedToUtc =>
            new Converted<DateTime>(new Values<DateTime>(field, spec.Nullable), static v => DateTime.SpecifyKind(v, DateTimeKind.Unspecified)),
        ValueKind.Timestamp => new Values<DateTime>(field, spec.Nullable),
        ValueKind.Date => new Values<DateOnly>(field, spec.Nullable),
        ValueKind.Time => spec.Unit switch
        {
            TimeUnit.Millis => new Converted<int>(new Values<int>(field, spec.Nullable), v => PlainValues.Time(v, TimeUnit.Millis)),
            TimeUnit.Nanos => new Converted<long>(new Values<long>(field, spec.Nullable), v => PlainValues.Time(v, TimeUnit.Nanos)),
            _ => new Converted<long>(new Values<long>(field, spec.Nullable), v => PlainValues.Time(v, TimeUnit.Micros)),
        },
        // A UUID column of an imported file: its text, as a build from the same file keeps it (Parquet.Net gives Guids,
        // and a text reader over it threw Parquet.Net's ArgumentException).
        ValueKind.String when field.ClrType == typeof(Guid) => new GuidTexts(field),
        ValueKind.String => new Strings(new TextColumn(field, GrouperErrorKind.InvalidDataset)),
        ValueKind.Binary => new Binaries(field),
        _ => throw new GrouperException(GrouperErrorKind.InvalidDataset, $"Column '{spec.Name}' has an unknown type."),
    };

    private sealed class Values<T>(DataField field, bool nullable) : ShardColumn where T : struct
    {
        private T[] _values = [];
        private T?[] _nullable = [];

        public override void Load(Func<ParquetRowGroupReader> rg, RowGroupFile file, int count, CancellationToken ct)
        {
            if (nullable)
            {
                if (_nullable.Length != count) _nullable = new T?[count];
                rg().ReadAsync<T>(field, _nullable.AsMemory(), null, ct).AsTask().GetAwaiter().GetResult();
            }
            else
            {
                if (_values.Length != count) _values = new T[count];
                rg().ReadAsync<T>(field, _values.AsMemory(), null, ct).AsTask().GetAwaiter().GetResult();
            }
        }

        public override object? Get(int row) => nullable ? _nullable[row] : _values[row];
        public override bool IsNull(int row) => nullable && !_nullable[row].HasValue;
    }

    /// <summary>
    /// Fixed-width values read by <see cref="PlainTextChunk"/> as slices, as a source's are (ParquetRecordReader),
    /// and handed out as the values Parquet.Net gives (<see cref="Values{T}"/>): the same .NET type, timestamps of
    /// kind UTC when the column is adjusted to UTC and Local otherwise. A chunk it does not read (LZO pages or
    /// BIT_PACKED levels, in an imported file) goes through Parquet.Net. A scan of a shard of text and numbers then never opens
    /// Parquet.Net, nor compiles its generic reading code for each type (the first fetch of a session).
    /// </summary>
    private sealed class FixedWidth(ColumnSpec spec, bool nullable, Parquet.Meta.Type physical, int fixedLength, Func<DataField> field) : ShardColumn
    {
        private readonly PlainTextChunk _chunk = new(GrouperErrorKind.InvalidDataset);
        private ShardColumn? _parquetNet;
        private bool _own;

        public override void Load(Func<ParquetRowGroupReader> rg, RowGroupFile file, int count, CancellationToken ct)
        {
            _own = _chunk.TryLoad(file, spec.Name, nullable, count, physical, fixedLength);
            if (!_own) (_parquetNet ??= Create(field(), spec)).Load(rg, file, count, ct);
        }

        public override bool IsNull(int row) => _own ? _chunk.IsNull(row) : _parquetNet!.IsNull(row);

        public override object? Get(int row)
        {
            if (!_own) return _parquetNet!.Get(row);
            if (_chunk.IsNull(row)) return null;
            if (spec.Kind == ValueKind.Boolean) return _chunk.GetBoolean(row);
            try { return Value(_chunk.GetUtf8(row)); }
            catch (ArgumentOutOfRangeException) { throw OutOfRange(spec.Kind == ValueKind.Date ? "date" : "timestamp"); }
        }

        private object Value(ReadOnlySpan<byte> v) =>
            spec.Kind switch
            {
                ValueKind.Int8 => (sbyte)BinaryPrimitives.ReadInt32LittleEndian(v),
                ValueKind.Int16 => (short)BinaryPrimitives.ReadInt32LittleEndian(v),
                ValueKind.Int32 => BinaryPrimitives.ReadInt32LittleEndian(v),
                ValueKind.UInt8 => (byte)BinaryPrimitives.ReadUInt32LittleEndian(v),
                ValueKind.UInt16 => (ushort)BinaryPrimitives.ReadUInt32LittleEndian(v),
                ValueKind.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(v),
                ValueKind.Int64 => BinaryPrimitives.ReadInt64LittleEndian(v),
                ValueKind.UInt64 => BinaryPrimitives.ReadUInt64LittleEndian(v),
                ValueKind.Float => BinaryPrimitives.ReadSingleLittleEndian(v),
                ValueKind.Double => BinaryPrimitives.ReadDoubleLittleEndian(v),
                ValueKind.Date => PlainValues.Date(BinaryPrimitives.ReadInt32LittleEndian(v)),
                ValueKind.Time => PlainValues.Time(physical == Parquet.Meta.Type.INT32 ? BinaryPrimitives.ReadInt32LittleEndian(v) : BinaryPrimitives.ReadInt64LittleEndian(v), spec.Unit),
                ValueKind.Decimal => PlainValues.TryReadDecimal(v, physical, spec.Scale, out var d) ? d
                    : throw new GrouperException(GrouperErrorKind.InvalidDataset, $"Column '{spec.Name}' of a shard holds a decimal of more digits than .NET's decimal holds (28-29)."),
                _ => PlainValues.Timestamp(BinaryPrimitives.ReadInt64LittleEndian(v), spec.Unit, spec.AdjustedToUtc),
            };

        private GrouperException OutOfRange(string what) => new(GrouperErrorKind.InvalidDataset,
            $"Column '{spec.Name}' of a shard holds a {what} outside the years .NET can hold (1-9999).");
    }

    private sealed class Converted<T>(ShardColumn raw, Func<T, object> convert) : ShardColumn where T : struct
    {
        public override void Load(Func<ParquetRowGroupReader> rg, RowGroupFile file, int count, CancellationToken ct) => raw.Load(rg, file, count, ct);
        public override object? Get(int row) => raw.Get(row) is T v ? convert(v) : null;
        public override bool IsNull(int row) => raw.IsNull(row);
    }

    private sealed class GuidTexts(DataField field) : ShardColumn
    {
        private Guid?[] _values = [];
        private string?[] _texts = [];

        public override void Load(Func<ParquetRowGroupReader> rg, RowGroupFile file, int count, CancellationToken ct)
        {
            if (_values.Length != count) (_values, _texts) = (new Guid?[count], new string?[count]);
            rg().ReadAsync<Guid>(field, _values.AsMemory(), null, ct).AsTask().GetAwaiter().GetResult();
            for (int i = 0; i < count; i++) _texts[i] = _values[i]?.ToString();
        }

        public override object? Get(int row) => _texts[row];
        public override bool IsNull(int row) => _texts[row] is null;
        public override ReadOnlySpan<char> GetChars(int row) => _texts[row];
        public override ReadOnlySpan<byte> GetUtf8(int row) => System.Text.Encoding.UTF8.GetBytes(_texts[row]!);
    }

    private sealed class Strings(TextColumn text) : ShardColumn
    {
        private readonly TextColumn _text = text;

        public override void Load(Func<ParquetRowGroupReader> rg, RowGroupFile file, int count, CancellationToken ct) => _text.Load(rg, file, count, ct);
        public override bool IsNull(int row) => _text.IsNull(row);
        public override object? Get(int row) => _text.GetString(row);
        public override ReadOnlySpan<char> GetChars(int row) => _text.GetChars(row);
        [System.Runtime.CompilerServices.MethodImpl(Util.Hot.Path)]
        public override ReadOnlySpan<byte> GetUtf8(int row) => _text.GetUtf8(row);
    }

    private sealed class Binaries(DataField field) : ShardColumn
    {
        private byte[]?[] _values = [];

        public override void Load(Func<ParquetRowGroupReader> rg, RowGroupFile file, int count, CancellationToken ct)
        {
            if (_values.Length != count) _values = new byte[]?[count];
            rg().ReadAsync(field, _values.AsMemory(), null, ct).AsTask().GetAwaiter().GetResult();
        }

        public override object? Get(int row) => _values[row];
        public override bool IsNull(int row) => _values[row] is null;
    }
}
