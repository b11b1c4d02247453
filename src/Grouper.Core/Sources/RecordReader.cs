using Grouper.Schema;

namespace Grouper.Sources;

/// <summary>
/// A forward-only cursor over the records of one source (a file, or objects from a caller).
/// Typed accessors let the writer encode values without boxing; <see cref="GetValue"/> is there for key
/// functions and callers that want objects.
/// </summary>
/// <remarks>
/// Columns are positional. A source whose records may carry different fields (JSON Lines, objects) adds
/// columns as it meets them, reports absent fields as <see cref="ValueKind.Null"/>, and bumps
/// <see cref="SchemaVersion"/> whenever its column list changes.
/// </remarks>
public abstract class RecordReader : IDisposable
{
    /// <summary>The file path, or a name such as "pipeline", used in messages and the manifest.</summary>
    public abstract string SourceName { get; }

    /// <summary>
    /// Where the current record is, for messages: the 1-based line of a text file where the record starts,
    /// or the 1-based row of a Parquet file or object stream.
    /// </summary>
    public abstract long RowNumber { get; }

    /// <summary>A word for <see cref="RowNumber"/> in messages: "line" or "row".</summary>
    public virtual string RowNoun => "row";

    /// <summary>
    /// How many bytes of its file the reader has consumed, for progress (of a .gz file, compressed bytes); -1
    /// when it cannot tell (records from a caller). Asked between records, on the reading thread.
    /// </summary>
    public virtual long BytesConsumed => -1;

    /// <summary>
    /// Bytes of decoded input the reader holds beside its current record (a Parquet source's row groups); a build
    /// counts them against its memory budget. Asked between records, on the reading thread.
    /// </summary>
    internal virtual long MemoryHeld => 0;

    /// <summary>The stream whose position is how far into its file a reader over <paramref name="stream"/> is: the file under a decompressor.</summary>
    protected static Stream? PositionOf(Stream stream) => stream switch
    {
        System.IO.Compression.GZipStream g => PositionOf(g.BaseStream),
        _ => stream.CanSeek ? stream : null,
    };

    /// <summary>Number of columns known now.</summary>
    public abstract int FieldCount { get; }

    public abstract string GetName(int ordinal);

    /// <summary>The column's declared type where the format has one (Parquet); null where values carry their own.</summary>
    public virtual ColumnSpec? GetDeclaredColumn(int ordinal) => null;

    /// <summary>True when records may differ in their fields (JSON Lines, objects); false when every file declares one schema.</summary>
    public virtual bool IsSchemaFlexible => false;

    /// <summary>Changes whenever the column list changes.</summary>
    public virtual int SchemaVersion => 0;

    /// <summary>Moves to the next record; false at the end.</summary>
    public abstract bool Read();

    /// <summary>The kind of the current value, or <see cref="ValueKind.Null"/>.</summary>
    public abstract ValueKind GetKind(int ordinal);

    public abstract string GetString(int ordinal);
    public virtual ReadOnlySpan<char> GetChars(int ordinal) => GetString(ordinal).AsSpan();

    /// <summary>
    /// A text value as valid UTF-8 when the source holds it so (JSON Lines without escapes), so the writer can
    /// store it without decoding and encoding again; false when only <see cref="GetChars"/> has it.
    /// </summary>
    public virtual bool TryGetUtf8(int ordinal, out ReadOnlySpan<byte> utf8)
    {
        utf8 = default;
        return false;
    }
    /// <summary>For Int8, Int16, Int32 and Int64 values.</summary>
    public virtual long GetInt64(int ordinal) => throw Unsupported(ordinal, "integer");
    /// <summary>For UInt8, UInt16, UInt32 and UInt64 values.</summary>
    public virtual ulong GetUInt64(int ordinal) => throw Unsupported(ordinal, "unsigned integer");
    /// <summary>For Float and Double values.</summary>
    public virtual double GetDouble(int ordinal) => throw Unsupported(ordinal, "floating-point");
    public virtual bool GetBoolean(int ordinal) => throw Unsupported(ordinal, "boolean");
    public virtual decimal GetDecimal(int ordinal) => throw Unsupported(ordinal, "decimal");
    public virtual DateTime GetDateTime(int ordinal) => throw Unsupported(ordinal, "timestamp");
    public virtual DateOnly GetDate(int ordinal) => throw Unsupported(ordinal, "date");
    public virtual TimeSpan GetTime(int ordinal) => throw Unsupported(ordinal, "time");
    public virtual ReadOnlySpan<byte> GetBytes(int ordinal) => throw Unsupported(ordinal, "binary");

    /// <summary>The current value boxed as its CLR type (see <see cref="ValueKinds.ClrType"/>), or null.</summary>
    public virtual object? GetValue(int ordinal)
    {
        var kind = GetKind(ordinal);
        return kind switch
        {
            ValueKind.Null => null,
            ValueKind.Boolean => GetBoolean(ordinal),
            ValueKind.Int8 => (sbyte)GetInt64(ordinal),
            ValueKind.Int16 => (short)GetInt64(ordinal),
            ValueKind.Int32 => (int)GetInt64(ordinal),
            ValueKind.Int64 => GetInt64(ordinal),
            ValueKind.UInt8 => (byte)GetUInt64(ordinal),
            ValueKind.UInt16 => (ushort)GetUInt64(ordinal),
            ValueKind.UInt32 => (uint)GetUInt64(ordinal),
            ValueKind.UInt64 => GetUInt64(ordinal),
            ValueKind.Float => (float)GetDouble(ordinal),
            ValueKind.Double => GetDouble(ordinal),
            ValueKind.Decimal => GetDecimal(ordinal),
            ValueKind.String => GetString(ordinal),
            ValueKind.Binary => GetBytes(ordinal).ToArray(),
            ValueKind.Timestamp => GetDateTime(ordinal),
            ValueKind.Date => GetDate(ordinal),
            ValueKind.Time => GetTime(ordinal),
            _ => throw new InvalidOperationException($"Unknown value kind {kind}."),
        };
    }

    /// <summary>The ordinal of a column by exact name, or -1.</summary>
    public virtual int GetOrdinal(string name)
    {
        for (int i = 0; i < FieldCount; i++)
            if (string.Equals(GetName(i), name, StringComparison.Ordinal)) return i;
        return -1;
    }

    /// <summary>
    /// The ordinal of a column a user named (a key, label or id column): the exact name first, else the one column
    /// whose name differs only in case, as PowerShell matches property names; -1 when there is none, or when several
    /// differ only in case (then only the exact name can tell them apart).
    /// </summary>
    public int FindOrdinal(string name) =>
        GetOrdinal(name) is var exact and >= 0 ? exact : ColumnNames.Find(FieldCount, GetName, name, out _);

    /// <summary>Where the current record is, as people read it: "file.csv, line 12".</summary>
    public string Location => $"{SourceName}, {RowNoun} {RowNumber}";

    private InvalidOperationException Unsupported(int ordinal, string what) =>
        new($"Column '{GetName(ordinal)}' in {Location} holds a {GetKind(ordinal).ToName()} value, not a {what} value.");

    protected virtual void Dispose(bool disposing) { }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }
}
