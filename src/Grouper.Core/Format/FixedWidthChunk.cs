using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Grouper.Schema;
using Grouper.Util;
using CompressionCodec = Parquet.Meta.CompressionCodec;
using Parquet.Schema;

namespace Grouper.Format;

/// <summary>
/// One column of numbers, dates, times or timestamps of a row group, encoded as it is filled: each value goes
/// straight into a PLAIN page as its physical type's 4 or 8 little-endian bytes, with its definition level,
/// and the chunk is written with the page header, statistics and column metadata Parquet.Net writes for the
/// column (a test checks the bytes are the same). Parquet.Net took each row group's values as an array of
/// .NET values and encoded them through generic code compiled at run time: a DuckDB file of a timestamp and a
/// double took twice as long to write as one of text.
/// <para>
/// Timestamps are written as the format defines them, which Parquet.Net 6.1 does not do under a time zone
/// other than UTC: a value of local time (<see cref="DateTimeKind.Local"/>: from PowerShell's Get-Date, say)
/// is turned into UTC for a column adjusted to UTC, and any value of a column that is not adjusted to UTC is
/// its wall-clock time as it is (Parquet.Net turned local values into UTC for micro- and nanoseconds
/// whatever the column, and never for milliseconds).
/// </para>
/// </summary>
internal sealed class FixedWidthChunk : PlainValuesChunk
{
    private const long UnixEpochTicks = PlainValues.UnixEpochTicks;
    private const int UnixEpochDay = PlainValues.UnixEpochDay;

    private readonly ValueKind _kind;
    private readonly TimeUnit _unit;
    private readonly bool _adjustedToUtc;
    private readonly TimeZoneInfo _localZone;
    private readonly Order _order;

    // Minimum and maximum of the values so far as their raw bits: signed or unsigned integers, or a double.
    private long _min, _max;

    /// <summary>Whether this chunk encodes columns of <paramref name="c"/>'s kind.</summary>
    public static bool Handles(ColumnSpec c) => c.Kind is ValueKind.Int8 or ValueKind.Int16 or ValueKind.Int32 or ValueKind.Int64
        or ValueKind.UInt8 or ValueKind.UInt16 or ValueKind.UInt32 or ValueKind.UInt64 or ValueKind.Float or ValueKind.Double
        or ValueKind.Date or ValueKind.Time or ValueKind.Timestamp;

    // localZone: the zone of DateTimeKind.Local values (TimeZoneInfo.Local but for tests).
    public FixedWidthChunk(ColumnSpec c, DataField field, CompressionCodec codec, TimeZoneInfo? localZone = null)
        : base(field, c.Nullable, codec, PhysicalOf(c), PhysicalOf(c) is Parquet.Meta.Type.INT32 or Parquet.Meta.Type.FLOAT ? 4 : 8)
    {
        if (!Handles(c)) throw new ArgumentOutOfRangeException(nameof(c), c.Kind, "Not a fixed-width kind.");
        _kind = c.Kind;
        _unit = c.Unit;
        _adjustedToUtc = c.AdjustedToUtc;
        _localZone = localZone ?? TimeZoneInfo.Local;
        _order = c.Kind switch
        {
            ValueKind.Float or ValueKind.Double => Order.Floating,
            ValueKind.UInt32 or ValueKind.UInt64 => Order.Unsigned,
            _ => Order.Signed,
        };
    }

    private enum Order : byte { Signed, Unsigned, Floating }

    private static Parquet.Meta.Type PhysicalOf(ColumnSpec c) => c.Kind switch
    {
        ValueKind.Int8 or ValueKind.Int16 or ValueKind.Int32 or ValueKind.UInt8 or ValueKind.UInt16 or ValueKind.UInt32 or ValueKind.Date => Parquet.Meta.Type.INT32,
        ValueKind.Time => c.Unit == TimeUnit.Millis ? Parquet.Meta.Type.INT32 : Parquet.Meta.Type.INT64,
        ValueKind.Float => Parquet.Meta.Type.FLOAT,
        ValueKind.Double => Parquet.Meta.Type.DOUBLE,
        _ => Parquet.Meta.Type.INT64,
    };

    // Conversions as the Parquet.Net sinks make them (ColumnSinks.cs): a value of another integer kind, or an
    // integer into a double column, as the schema's widening allows.
    [MethodImpl(Hot.Path)]
    public override void AppendScalar(int row, in Scalar s, ValueKind tag)
    {
        var at = NextValue();
        long bits;
        switch (_kind)
        {
            case ValueKind.Int8: bits = (sbyte)s.L; break;
            case ValueKind.Int16: bits = (short)s.L; break;
            case ValueKind.Int32: bits = (int)s.L; break;
            case ValueKind.UInt8: bits = (byte)s.U; break;
            case ValueKind.UInt16: bits = (ushort)s.U; break;
            case ValueKind.UInt32: bits = (uint)s.U; break;
            case ValueKind.Int64: bits = tag.IsUnsignedInteger() ? (long)s.U : s.L; break;
            case ValueKind.UInt64: bits = tag.IsSignedInteger() ? s.L : (long)s.U; break;
            case ValueKind.Float:
            {
                float f = (float)s.D;
                BinaryPrimitives.WriteSingleLittleEndian(at, f);
                _length += 4;
                NoteFloating(f);
                return;
            }
            case ValueKind.Double:
            {
                double d = tag.IsSignedInteger() ? s.L : tag.IsUnsignedInteger() ? s.U : s.D;
                BinaryPrimitives.WriteDoubleLittleEndian(at, d);
                _length += 8;
                NoteFloating(d);
                return;
            }
            case ValueKind.Date: bits = (int)s.L - UnixEpochDay; break;
            case ValueKind.Time: bits = _unit switch { TimeUnit.Millis => s.L / TimeSpan.TicksPerMillisecond, TimeUnit.Nanos => s.L * 100, _ => s.L / 10 }; break;
            default: bits = Timestamp(s.L, s.TimestampKind); break;
        }
        if (_width == 4) BinaryPrimitives.WriteInt32LittleEndian(at, (int)bits);
        else BinaryPrimitives.WriteInt64LittleEndian(at, bits);
        _length += _width;
        if (!_any) { _min = _max = bits; _any = true; }
        else if (_order == Order.Unsigned)
        {
            if ((ulong)bits < (ulong)_min) _min = bits;
            if ((ulong)bits > (ulong)_max) _max = bits;
        }
        else
        {
            if (bits < _min) _min = bits;
            if (bits > _max) _max = bits;
        }
    }

    // NaN is no bound: a chunk of NaNs alone has no minimum or maximum (a filter then reads it).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void NoteFloating(double d)
    {
        if (double.IsNaN(d)) return;
        if (!_any) { _min = _max = BitConverter.DoubleToInt64Bits(d); _any = true; return; }
        if (d < BitConverter.Int64BitsToDouble(_min)) _min = BitConverter.DoubleToInt64Bits(d);
        if (d > BitConverter.Int64BitsToDouble(_max)) _max = BitConverter.DoubleToInt64Bits(d);
    }

    // .NET ticks (100 ns) to the column's unit since the Unix epoch. Below the unit is dropped toward the past,
    // before 1970 too, as Parquet.Net does: ticks count from year 1, so dividing them before moving to the
    // epoch (a whole number of units) floors.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long Timestamp(long ticks, DateTimeKind kind)
    {
        ticks = ColumnTicks(ticks, kind, _adjustedToUtc, _localZone);
        return _unit switch
        {
            TimeUnit.Millis => ticks / TimeSpan.TicksPerMillisecond - UnixEpochTicks / TimeSpan.TicksPerMillisecond,
            TimeUnit.Nanos => Nanos(ticks, Field.Name),
            _ => ticks / 10 - UnixEpochTicks / 10,
        };
    }

    /// <summary>
    /// A column's ticks (<see cref="ColumnTicks"/>) as nanoseconds since the Unix epoch; beyond their years
    /// (1677-2262) an error naming <paramref name="column"/>, whichever encoder writes them (Parquet.Net's overflows).
    /// </summary>
    public static long Nanos(long ticks, string column) => ticks - UnixEpochTicks is var t && t is > long.MaxValue / 100 or < long.MinValue / 100
        ? throw new InvalidDataException($"Column '{column}' holds nanoseconds, which reach from 1677 to 2262 only; a record has {new DateTime(ticks):O}.")
        : t * 100;

    /// <summary>
    /// The ticks a timestamp column holds for a value: its UTC time in a column adjusted to UTC (a value of local
    /// time turned into UTC by <paramref name="localZone"/>), its wall-clock time as it is in one that is not.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long ColumnTicks(long ticks, DateTimeKind kind, bool adjustedToUtc, TimeZoneInfo localZone) =>
        adjustedToUtc && kind == DateTimeKind.Local ? ticks - localZone.GetUtcOffset(new DateTime(ticks, DateTimeKind.Unspecified)).Ticks : ticks;

    protected override void WriteBounds(Span<byte> min, Span<byte> max)
    {
        Bound(_min, min);
        Bound(_max, max);
    }

    // A bound in the PLAIN layout of the physical type.
    private void Bound(long bits, Span<byte> into)
    {
        if (_kind == ValueKind.Float) BinaryPrimitives.WriteSingleLittleEndian(into, (float)BitConverter.Int64BitsToDouble(bits));
        else if (_width == 4) BinaryPrimitives.WriteInt32LittleEndian(into, (int)bits);
        else BinaryPrimitives.WriteInt64LittleEndian(into, bits);
    }
}

/// <summary>
/// A column of booleans of a row group, encoded as it is filled: PLAIN booleans are bits, the first value in
/// the lowest bit of the first byte, with the levels, statistics (the null count alone) and metadata
/// Parquet.Net writes for them (a test compares the bytes). With it a row group of text, numbers and booleans
/// never goes to Parquet.Net.
/// </summary>
internal sealed class BooleanChunk : OwnChunk
{
    private byte[] _page = new byte[1 << 10];
    private int _reserve;
    private int _values;       // non-null values so far: bits in the page from _reserve on

    public BooleanChunk(DataField field, bool nullable, CompressionCodec codec) : base(field, nullable, codec, Parquet.Meta.Type.BOOLEAN)
    {
        _reserve = nullable ? 64 : 0;
    }

    public override void Reset(int capacity)
    {
        ResetRows(capacity);
        _values = 0;
    }

    [MethodImpl(Hot.Path)]
    public override void AppendScalar(int row, in Scalar s, ValueKind tag)
    {
        Define();
        int at = _reserve + (_values >> 3);
        if (at >= _page.Length) Array.Resize(ref _page, _page.Length * 2);
        int bit = _values & 7;
        if (bit == 0) _page[at] = 0;
        if (s.L != 0) _page[at] |= (byte)(1 << bit);
        _values++;
    }

    public override void Encode(EncodedRowGroup rowGroup)
    {
        BeginChunk(rowGroup);
        int end = _reserve + (_values + 7) / 8;
        WriteDataPage(rowGroup, LevelsBefore(ref _page, ref _reserve, ref end, out _));
    }

    protected override void WriteStatistics(ref ThriftCompact.Writer w) => WriteStatistics(ref w, false, [], []);
}

/// <summary>
/// A column of decimals of a row group, encoded as it is filled, in the physical type Parquet.Net gives a
/// decimal of the column's precision: INT32 up to 9 digits, INT64 up to 18, else a FIXED_LEN_BYTE_ARRAY of as
/// many bytes as the precision needs (big-endian two's complement), each holding the value times ten to the
/// column's scale; with the statistics (bounds by value) and metadata Parquet.Net writes (a test compares the
/// bytes). The schema grows a column's precision and scale to hold every value exactly (SchemaBuilder), so
/// the unscaled value is exact and within the precision.
/// </summary>
internal sealed class DecimalChunk : PlainValuesChunk
{
    private readonly int _scale;
    private readonly Int128 _limit; // ten to the precision: no value reaches it
    private readonly bool _bigEndian;
    private Int128 _min, _max;

    public DecimalChunk(ColumnSpec c, DataField field, CompressionCodec codec)
        : base(field, c.Nullable, codec, c.Precision <= 9 ? Parquet.Meta.Type.INT32 : c.Precision <= 18 ? Parquet.Meta.Type.INT64 : Parquet.Meta.Type.FIXED_LEN_BYTE_ARRAY, WidthOf(c.Precision))
    {
        if (c.Kind != ValueKind.Decimal || c.Precision is < 1 or > 38) throw new ArgumentOutOfRangeException(nameof(c));
        _scale = c.Scale;
        _limit = Limit(c.Precision);
        _bigEndian = c.Precision > 18;
    }

    [MethodImpl(Hot.Path)]
    public override void AppendScalar(int row, in Scalar s, ValueKind tag)
    {
        if (tag != ValueKind.Decimal) throw new InvalidDataException($"Column '{Field.Name}' holds decimals but a record has a {tag.ToName()} value.");
        var at = NextValue();
        var v = Unscaled(s.M, _scale, _limit, Field.Name);
        Write(v, at[.._width]);
        _length += _width;
        if (!_any) { _min = _max = v; _any = true; }
        else if (v < _min) _min = v;
        else if (v > _max) _max = v;
    }

    /// <summary>Ten to <paramref name="precision"/>: the least value a decimal of that many digits cannot reach.</summary>
    public static Int128 Limit(int precision)
    {
        var limit = Int128.One;
        for (int i = 0; i < precision; i++) limit *= 10;
        return limit;
    }

    /// <summary>
    /// The value times ten to the column's scale, as an integer; an error naming <paramref name="column"/> when
    /// that is not exact or reaches <paramref name="limit"/> (<see cref="Limit"/>): the column cannot hold the
    /// value, whichever encoder writes it (Parquet.Net's changes it).
    /// </summary>
    public static Int128 Unscaled(decimal m, int columnScale, Int128 limit, string column)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(m, bits);
        Int128 mantissa = ((Int128)(uint)bits[2] << 64) | ((Int128)(uint)bits[1] << 32) | (uint)bits[0];
        int scale = (bits[3] >> 16) & 0xFF;
        for (; scale < columnScale; scale++)
        {
            if (mantissa >= limit / 10) throw NotHeld(); // and no overflow
            mantissa *= 10;
        }
        for (; scale > columnScale; scale--)
        {
            var (q, r) = Int128.DivRem(mantissa, 10);
            if (r != 0) throw NotHeld();
            mantissa = q;
        }
        if (mantissa >= limit) throw NotHeld();
        return bits[3] < 0 ? -mantissa : mantissa;

        InvalidDataException NotHeld() => new(
            $"Column '{column}' is decimal({limit.ToString().Length - 1},{columnScale}), which cannot hold {m.ToString(System.Globalization.CultureInfo.InvariantCulture)} exactly.");
    }

    private void Write(Int128 v, Span<byte> into)
    {
        if (_width == 4) BinaryPrimitives.WriteInt32LittleEndian(into, (int)v);
        else if (!_bigEndian) BinaryPrimitives.WriteInt64LittleEndian(into, (long)v);
        else
        {
            Span<byte> all = stackalloc byte[16];
            BinaryPrimitives.WriteInt128BigEndian(all, v);
            all[(16 - _width)..].CopyTo(into);
        }
    }

    protected override void WriteBounds(Span<byte> min, Span<byte> max)
    {
        Write(_min, min);
        Write(_max, max);
    }

    // The bytes a signed number of `precision` digits needs (its bits and one for the sign), as Parquet.Net gives its fixed length.
    private static int WidthOf(int precision) => precision is < 1 or > 38 ? throw new ArgumentOutOfRangeException(nameof(precision))
        : precision <= 9 ? 4 : precision <= 18 ? 8 : (int)((System.Numerics.BigInteger.Pow(10, precision) - 1).GetBitLength() + 1 + 7) / 8;
}
