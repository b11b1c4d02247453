using System.Text;
using Grouper.Schema;
using Grouper.Writer;
using Parquet;
using Parquet.Schema;

namespace Grouper.Format;

/// <summary>One decoded fixed-width value of the row encoding, before conversion to its column's type.</summary>
internal struct Scalar
{
    public long L;       // signed integers, booleans, date day numbers, time and timestamp ticks
    public ulong U;      // unsigned integers
    public double D;     // float and double
    public decimal M;
    public DateTimeKind TimestampKind;
}

/// <summary>Collects one column's values of a row group, as the shard writer decodes its rows.</summary>
internal abstract class ColumnSink(DataField field)
{
    public DataField Field { get; } = field;

    /// <summary>A new row group: rows are appended from 0 again; <paramref name="capacity"/> rows are likely (more may come).</summary>
    public abstract void Reset(int capacity);

    /// <summary>Stores a row's value, growing the array by half when it is full: a row group's length is known only at its end.</summary>
    protected static void Set<TValue>(ref TValue[] values, int row, TValue value)
    {
        if (row >= values.Length) Grow(ref values, row);
        values[row] = value;
    }

    protected static void Grow<TValue>(ref TValue[] values, int row) =>
        Array.Resize(ref values, Math.Max(row + 1, Math.Max(64, values.Length + values.Length / 2)));
    public abstract void AppendNull(int row);
    public abstract void AppendScalar(int row, in Scalar s, ValueKind tag);
    public virtual void AppendBytes(int row, ReadOnlySpan<byte> bytes, ValueKind tag) =>
        throw new InvalidDataException($"Column '{Field.Name}' cannot hold a {tag.ToName()} value.");
}

/// <summary>A column whose values Parquet.Net encodes.</summary>
internal abstract class LibrarySink(DataField field) : ColumnSink(field)
{
    public abstract Task WriteAsync(ParquetRowGroupWriter rg, int count, CancellationToken ct);

    /// <summary>
    /// A sink for column <paramref name="c"/> writing to <paramref name="f"/>, a field of the schema Parquet.Net encodes with.
    /// Timestamps reach Parquet.Net as UTC values of the ticks the column holds (<see cref="FixedWidthChunk.ColumnTicks"/>),
    /// which it writes as they are: it would turn local time into UTC by its own rules (<see cref="FixedWidthChunk"/>).
    /// </summary>
    public static LibrarySink Create(ColumnSpec c, DataField f, TimeZoneInfo? localZone = null)
    {
        var zone = localZone ?? TimeZoneInfo.Local;
        return c.Kind switch
        {
            ValueKind.Boolean => new ValueSink<bool>(f, c.Nullable, static (in Scalar s, ValueKind _) => s.L != 0),
            ValueKind.Int8 => new ValueSink<sbyte>(f, c.Nullable, static (in Scalar s, ValueKind _) => (sbyte)s.L),
            ValueKind.UInt8 => new ValueSink<byte>(f, c.Nullable, static (in Scalar s, ValueKind _) => (byte)s.U),
            ValueKind.Int16 => new ValueSink<short>(f, c.Nullable, static (in Scalar s, ValueKind _) => (short)s.L),
            ValueKind.UInt16 => new ValueSink<ushort>(f, c.Nullable, static (in Scalar s, ValueKind _) => (ushort)s.U),
            ValueKind.Int32 => new ValueSink<int>(f, c.Nullable, static (in Scalar s, ValueKind _) => (int)s.L),
            ValueKind.UInt32 => new ValueSink<uint>(f, c.Nullable, static (in Scalar s, ValueKind _) => (uint)s.U),
            ValueKind.Int64 => new ValueSink<long>(f, c.Nullable, static (in Scalar s, ValueKind t) => t.IsUnsignedInteger() ? (long)s.U : s.L),
            ValueKind.UInt64 => new ValueSink<ulong>(f, c.Nullable, static (in Scalar s, ValueKind t) => t.IsSignedInteger() ? (ulong)s.L : s.U),
            ValueKind.Float => new ValueSink<float>(f, c.Nullable, static (in Scalar s, ValueKind _) => (float)s.D),
            ValueKind.Double => new ValueSink<double>(f, c.Nullable, static (in Scalar s, ValueKind t) =>
                t.IsSignedInteger() ? s.L : t.IsUnsignedInteger() ? s.U : s.D),
            // Checked as Grouper's own chunks check them (DecimalChunk, FixedWidthChunk): Parquet.Net writes a
            // decimal its column cannot hold changed, and nanoseconds beyond their years overflowed.
            ValueKind.Decimal => DecimalSink(c, f),
            ValueKind.Timestamp => new ValueSink<DateTime>(f, c.Nullable, (in Scalar s, ValueKind _) =>
            {
                long ticks = FixedWidthChunk.ColumnTicks(s.L, s.TimestampKind, c.AdjustedToUtc, zone);
                if (c.Unit == TimeUnit.Nanos) FixedWidthChunk.Nanos(ticks, c.Name);
                return new DateTime(ticks, DateTimeKind.Utc);
            }),
            ValueKind.Date => new ValueSink<DateOnly>(f, c.Nullable, static (in Scalar s, ValueKind _) => DateOnly.FromDayNumber((int)s.L)),
            // Parquet.Net writes TIME as raw integers since midnight: int milliseconds, long micro- or nanoseconds.
            ValueKind.Time => c.Unit switch
            {
                TimeUnit.Millis => new ValueSink<int>(f, c.Nullable, static (in Scalar s, ValueKind _) => (int)(s.L / TimeSpan.TicksPerMillisecond)),
                TimeUnit.Nanos => new ValueSink<long>(f, c.Nullable, static (in Scalar s, ValueKind _) => s.L * 100),
                _ => new ValueSink<long>(f, c.Nullable, static (in Scalar s, ValueKind _) => s.L / 10),
            },
            ValueKind.String => new BytesSink(f, c.Nullable, text: true),
            ValueKind.Binary => new BytesSink(f, c.Nullable, text: false),
            _ => throw new ArgumentOutOfRangeException(nameof(c)),
        };
    }

    private static ValueSink<decimal> DecimalSink(ColumnSpec c, DataField f)
    {
        var limit = DecimalChunk.Limit(c.Precision);
        return new ValueSink<decimal>(f, c.Nullable, (in Scalar s, ValueKind _) =>
        {
            DecimalChunk.Unscaled(s.M, c.Scale, limit, c.Name);
            return s.M;
        });
    }
}

internal delegate T ScalarConverter<T>(in Scalar s, ValueKind tag);

internal sealed class ValueSink<T>(DataField field, bool nullable, ScalarConverter<T> convert) : LibrarySink(field) where T : struct
{
    private T[] _values = [];
    private T?[] _nullableValues = [];

    public override void Reset(int capacity)
    {
        if (nullable) { if (_nullableValues.Length < capacity) _nullableValues = new T?[capacity]; }
        else if (_values.Length < capacity) _values = new T[capacity];
    }

    public override void AppendNull(int row)
    {
        if (!nullable) throw new InvalidDataException($"Column '{Field.Name}' is not nullable but a record has no value for it.");
        Set(ref _nullableValues, row, null);
    }

    public override void AppendScalar(int row, in Scalar s, ValueKind tag)
    {
        var v = convert(in s, tag);
        if (nullable) Set(ref _nullableValues, row, v); else Set(ref _values, row, v);
    }

    public override Task WriteAsync(ParquetRowGroupWriter rg, int count, CancellationToken ct) => nullable
        ? rg.WriteAsync<T>(Field, _nullableValues.AsMemory(0, count), null, null, ct)
        : rg.WriteAsync<T>(Field, _values.AsMemory(0, count), null, null, ct);
}

/// <summary>
/// Text and binary values are kept as the row encoding's own bytes (text is UTF-8, validated when it was
/// read), copied into one arena per row group and handed to Parquet.Net as slices: no object per value and
/// no round trip through UTF-16 (decoding to characters and Parquet.Net encoding them back was a tenth of a
/// build's time). Text columns are written as plain byte arrays and annotated as UTF-8 text in the shard's
/// footer (<see cref="StitchedParquetFile"/>): Parquet.Net takes byte slices only for binary fields.
/// Used where Parquet.Net encodes every column (Zstd and Gzip shards); otherwise <see cref="ByteArrayChunk"/>.
/// </summary>
internal sealed class BytesSink(DataField field, bool nullable, bool text) : LibrarySink(field)
{
    private ReadOnlyMemory<byte>[] _values = [];
    private ReadOnlyMemory<byte>?[] _nullableValues = [];
    private byte[] _arena = new byte[1 << 16];
    private int _used;

    public override void Reset(int capacity)
    {
        if (nullable) { if (_nullableValues.Length < capacity) _nullableValues = new ReadOnlyMemory<byte>?[capacity]; }
        else if (_values.Length < capacity) _values = new ReadOnlyMemory<byte>[capacity];
        _used = 0;
    }

    public override void AppendNull(int row)
    {
        if (!nullable) throw new InvalidDataException($"Column '{Field.Name}' is not nullable but a record has no value for it.");
        Set(ref _nullableValues, row, null);
    }

    // Strings are the one type other values are never silently turned into.
    public override void AppendScalar(int row, in Scalar s, ValueKind tag) =>
        throw new InvalidDataException($"Column '{Field.Name}' holds {(text ? "strings" : "binary values")} but a record has a {tag.ToName()} value.");

    public override void AppendBytes(int row, ReadOnlySpan<byte> bytes, ValueKind tag)
    {
        if (_used + bytes.Length > _arena.Length)
        {
            // Earlier slices keep the old arena alive until the row group is written; later ones use the new.
            _arena = new byte[Math.Max(_arena.Length * 2, bytes.Length + 1024)];
            _used = 0;
        }
        bytes.CopyTo(_arena.AsSpan(_used));
        var value = new ReadOnlyMemory<byte>(_arena, _used, bytes.Length);
        _used += bytes.Length;
        if (nullable) Set(ref _nullableValues, row, value); else Set(ref _values, row, value);
    }

    public override Task WriteAsync(ParquetRowGroupWriter rg, int count, CancellationToken ct) => nullable
        ? rg.WriteAsync<ReadOnlyMemory<byte>>(Field, _nullableValues.AsMemory(0, count), null, null, ct)
        : rg.WriteAsync<ReadOnlyMemory<byte>>(Field, _values.AsMemory(0, count), null, null, ct);
}
