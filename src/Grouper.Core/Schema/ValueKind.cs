namespace Grouper.Schema;

/// <summary>The type of one value. The numbering is part of the spill-run encoding: never renumber.</summary>
public enum ValueKind : byte
{
    Null = 0,
    Boolean = 1,
    Int8 = 2,
    UInt8 = 3,
    Int16 = 4,
    UInt16 = 5,
    Int32 = 6,
    UInt32 = 7,
    Int64 = 8,
    UInt64 = 9,
    Float = 10,
    Double = 11,
    Decimal = 12,
    String = 13,
    Binary = 14,
    Timestamp = 15,
    Date = 16,
    Time = 17,
}

public static class ValueKinds
{
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static bool IsSignedInteger(this ValueKind k) => k is ValueKind.Int8 or ValueKind.Int16 or ValueKind.Int32 or ValueKind.Int64;
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static bool IsUnsignedInteger(this ValueKind k) => k is ValueKind.UInt8 or ValueKind.UInt16 or ValueKind.UInt32 or ValueKind.UInt64;
    public static bool IsFloating(this ValueKind k) => k is ValueKind.Float or ValueKind.Double;

    /// <summary>The name used in the manifest and in messages.</summary>
    public static string ToName(this ValueKind k) => k switch
    {
        ValueKind.Null => "null",
        ValueKind.Boolean => "boolean",
        ValueKind.Int8 => "int8",
        ValueKind.UInt8 => "uint8",
        ValueKind.Int16 => "int16",
        ValueKind.UInt16 => "uint16",
        ValueKind.Int32 => "int32",
        ValueKind.UInt32 => "uint32",
        ValueKind.Int64 => "int64",
        ValueKind.UInt64 => "uint64",
        ValueKind.Float => "float",
        ValueKind.Double => "double",
        ValueKind.Decimal => "decimal",
        ValueKind.String => "string",
        ValueKind.Binary => "binary",
        ValueKind.Timestamp => "timestamp",
        ValueKind.Date => "date",
        ValueKind.Time => "time",
        _ => throw new ArgumentOutOfRangeException(nameof(k), k, null),
    };

    public static ValueKind Parse(string name)
    {
        // The values are 0 to Time without gaps; a loop rather than Enum.GetValues<ValueKind>, which is
        // compiled on first use (opening a dataset parses every column's type).
        for (var k = ValueKind.Null; k <= ValueKind.Time; k++)
            if (k.ToName() == name) return k;
        throw new FormatException($"Unknown value type '{name}'.");
    }

    /// <summary>The CLR type values of this kind are returned as when read back.</summary>
    public static Type ClrType(this ValueKind k) => k switch
    {
        ValueKind.Boolean => typeof(bool),
        ValueKind.Int8 => typeof(sbyte),
        ValueKind.UInt8 => typeof(byte),
        ValueKind.Int16 => typeof(short),
        ValueKind.UInt16 => typeof(ushort),
        ValueKind.Int32 => typeof(int),
        ValueKind.UInt32 => typeof(uint),
        ValueKind.Int64 => typeof(long),
        ValueKind.UInt64 => typeof(ulong),
        ValueKind.Float => typeof(float),
        ValueKind.Double => typeof(double),
        ValueKind.Decimal => typeof(decimal),
        ValueKind.String => typeof(string),
        ValueKind.Binary => typeof(byte[]),
        ValueKind.Timestamp => typeof(DateTime),
        ValueKind.Date => typeof(DateOnly),
        ValueKind.Time => typeof(TimeSpan),
        _ => typeof(object),
    };
}
