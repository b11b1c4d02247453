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
        ValueKind.Timestamp => new Values<DateTime>(field, spec.Nullable),
        ValueKind.Date => new Values<DateOnly>(field, spec.Nullable),
        ValueKind.Time => spec.Unit switch
        {
            TimeUnit.Millis => new Converted<int>(new Values<int>(field, spec.Nullable), v => TimeSpan.FromTicks(v * TimeSpan.TicksPerMillisecond)),
            TimeUnit.Nanos => new Converted<long>(new Values<long>(field, spec.Nullable), v => TimeSpan.FromTicks(v / 100)),
            _ => new Converted<long>(new Values<long>(field, spec.Nullable), v => TimeSpan.FromTicks(v * 10)),
        },
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

    private sealed class Converted<T>(ShardColumn raw, Func<T, object> convert) : ShardColumn where T : struct
    {
        public override void Load(Func<ParquetRowGroupReader> rg, RowGroupFile file, int count, CancellationToken ct) => raw.Load(rg, file, count, ct);
        public override object? Get(int row) => raw.Get(row) is T v ? convert(v) : null;
        public override bool IsNull(int row) => raw.IsNull(row);
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
