using System.Buffers.Binary;
using Grouper.Schema;

namespace Grouper.Format;

/// <summary>
/// What a Parquet column's fixed-width values mean as .NET values, as Parquet.Net gives them: the reading
/// mirror of <see cref="FixedWidthChunk"/> and <see cref="DecimalChunk"/>, shared by sources read without
/// Parquet.Net, scans of shards, and the raw times Parquet.Net hands over.
/// </summary>
internal static class PlainValues
{
    public const long UnixEpochTicks = 621_355_968_000_000_000; // DateTime.UnixEpoch.Ticks
    public const int UnixEpochDay = 719_162;                     // DateOnly(1970, 1, 1).DayNumber

    /// <summary>A time of day in <paramref name="unit"/> since midnight (below a tick dropped).</summary>
    public static TimeSpan Time(long v, TimeUnit unit) =>
        TimeSpan.FromTicks(unit switch { TimeUnit.Millis => v * TimeSpan.TicksPerMillisecond, TimeUnit.Nanos => v / 100, _ => v * 10 });

    /// <summary>Days since 1970-01-01; an <see cref="ArgumentOutOfRangeException"/> beyond .NET's years 1-9999.</summary>
    public static DateOnly Date(int days) => TryDayNumber(days, out int day)
        ? DateOnly.FromDayNumber(day) : throw new ArgumentOutOfRangeException(nameof(days));

    /// <summary>The day number (<see cref="DateOnly.DayNumber"/>) of <see cref="Date"/>; false beyond .NET's years 1-9999.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static bool TryDayNumber(int days, out int dayNumber)
    {
        long day = (long)days + UnixEpochDay;
        dayNumber = (int)day;
        return (ulong)day <= (ulong)DateOnly.MaxValue.DayNumber;
    }

    /// <summary>
    /// <paramref name="v"/> in <paramref name="unit"/> since the Unix epoch, of kind UTC in a column adjusted to
    /// UTC and Unspecified otherwise (its ticks unchanged: a wall clock of no zone, which Local, Parquet.Net's kind
    /// for it, would give this machine's); an <see cref="ArgumentOutOfRangeException"/> beyond .NET's
    /// years 1-9999 (checked before the ticks are counted, so that nothing overflows).
    /// </summary>
    public static DateTime Timestamp(long v, TimeUnit unit, bool adjustedToUtc) => TryTimestampTicks(v, unit, out long ticks)
        ? new DateTime(ticks, adjustedToUtc ? DateTimeKind.Utc : DateTimeKind.Unspecified) : throw new ArgumentOutOfRangeException(nameof(v));

    /// <summary>The ticks of <see cref="Timestamp"/>; false beyond .NET's years 1-9999.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static bool TryTimestampTicks(long v, TimeUnit unit, out long ticks)
    {
        ticks = 0;
        if (unit == TimeUnit.Millis) { if (v is > 400_000_000_000_000 or < -400_000_000_000_000) return false; }
        else if (unit != TimeUnit.Nanos && v is > 400_000_000_000_000_000 or < -400_000_000_000_000_000) return false;
        // Nanoseconds below a tick are dropped toward the past, as a column's unit drops what lies below it (-1 ns was
        // taken toward 0, to 1970-01-01 00:00:00).
        ticks = unit switch { TimeUnit.Millis => v * TimeSpan.TicksPerMillisecond, TimeUnit.Nanos => v / 100 - (v % 100 < 0 ? 1 : 0), _ => v * 10 } + UnixEpochTicks;
        return (ulong)ticks <= (ulong)DateTime.MaxValue.Ticks;
    }

    /// <summary>
    /// The decimal <paramref name="v"/> holds, of physical type <paramref name="physical"/> (INT32 or INT64
    /// little-endian, or a FIXED_LEN_BYTE_ARRAY's big-endian two's complement), at <paramref name="scale"/>;
    /// false when .NET's decimal cannot hold it (more than 96 bits).
    /// </summary>
    public static bool TryReadDecimal(ReadOnlySpan<byte> v, Parquet.Meta.Type physical, int scale, out decimal value)
    {
        Int128 unscaled;
        if (physical == Parquet.Meta.Type.INT32) unscaled = BinaryPrimitives.ReadInt32LittleEndian(v);
        else if (physical == Parquet.Meta.Type.INT64) unscaled = BinaryPrimitives.ReadInt64LittleEndian(v);
        else if (v.Length is 0 or > 16) throw new ArgumentOutOfRangeException(nameof(v));
        else
        {
            // The FIXED_LEN_BYTE_ARRAY, sign-extended to 16 bytes.
            Span<byte> all = stackalloc byte[16];
            all.Fill((v[0] & 0x80) != 0 ? (byte)0xFF : (byte)0);
            v.CopyTo(all[(16 - v.Length)..]);
            unscaled = BinaryPrimitives.ReadInt128BigEndian(all);
        }
        value = 0;
        if (unscaled == Int128.MinValue || scale is < 0 or > 28) return false;
        bool negative = unscaled < 0;
        var magnitude = (UInt128)(negative ? -unscaled : unscaled);
        // Trailing zeros beyond 96 bits drop with the scale (decimal.MaxValue in a column of scale 9, say).
        while (magnitude >> 96 != 0 && scale > 0 && magnitude % 10 == 0)
        {
            magnitude /= 10;
            scale--;
        }
        if (magnitude >> 96 != 0) return false;
        value = new decimal((int)(uint)magnitude, (int)(uint)(magnitude >> 32), (int)(uint)(magnitude >> 64), negative, (byte)scale);
        return true;
    }
}
