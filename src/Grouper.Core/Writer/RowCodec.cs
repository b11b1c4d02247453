using System.Buffers;
using System.Globalization;
using System.Text.Unicode;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using Grouper.Schema;
using Grouper.Sources;
using Grouper.Util;

namespace Grouper.Writer;

/// <summary>
/// The compact binary row encoding of spill runs: a column count, then for each column a kind byte
/// (<see cref="ValueKind"/>) and its payload. Integers are varints (signed ones zig-zagged), floats and
/// decimals fixed width, strings and binary length-prefixed UTF-8/bytes, timestamps ticks plus kind.
/// Each value carries its kind, so a column's final type can be settled after all records were seen.
/// </summary>
internal static class RowCodec
{
    /// <summary>
    /// The tag of a value that is the record's key itself (its text, byte for byte), in rows that go into the
    /// sort with that key: the row does not carry the key's bytes a second time (for a 12-byte user id, 6% of
    /// a spilled record). Not a <see cref="ValueKind"/>: rows with it are decoded only by the shard writer,
    /// which has the key at hand.
    /// </summary>
    internal const byte KeyTag = 0x7F;

    /// <summary>The bytes a <see cref="KeyTag"/> stands for beyond itself: the text's length prefix and the text.</summary>
    internal static int KeyTagSaves(int keyLength) => VarInt.Size((ulong)keyLength) + keyLength;

    /// <summary>
    /// A row's size as the shard writer counts it (a group's bytes in the index): with the key's text
    /// (<paramref name="keyLength"/> bytes) where a <see cref="KeyTag"/> stands for it.
    /// </summary>
    internal static long WrittenSize(ReadOnlySpan<byte> row, int keyLength)
    {
        var reader = new Reader(row);
        long size = row.Length;
        for (int c = 0; c < reader.ColumnCount; c++)
        {
            var tag = reader.NextKind();
            if ((byte)tag == KeyTag) size += KeyTagSaves(keyLength);
            else reader.Skip(tag);
        }
        return size;
    }

    /// <summary>
    /// Encodes the record's values in <paramref name="map"/>'s order. The value of source column
    /// <paramref name="keyOrdinal"/>, when it is text, is the record's key and is written as <see cref="KeyTag"/>
    /// (-1: no such column). Returns the number of values so written.
    /// </summary>
    public static int Encode(RecordReader r, int[] map, SchemaBuilder schema, ByteBuffer buf, int keyOrdinal = -1)
    {
        try
        {
            return EncodeValues(r, map, schema, buf, keyOrdinal);
        }
        catch (EncoderFallbackException ex)
        {
            throw Unpaired(r, ex);
        }
    }

    private static GrouperException Unpaired(RecordReader r, EncoderFallbackException ex) => new(GrouperErrorKind.InvalidData,
        $"A text value in {r.Location} has an unpaired surrogate character, which UTF-8 cannot store: {ex.Message}", r.SourceName, r.RowNumber, ex);

    /// <summary>
    /// Where a source's own encoder (<see cref="EncodeOwn{TText}"/>) finds a text value held as UTF-8, and the
    /// builder a key it can take as it lies: each calls its reader's members directly (the readers are sealed).
    /// </summary>
    internal interface ITextValues
    {
        /// <summary>
        /// The value of column <paramref name="o"/> when it is text held as UTF-8 (empty text included); false
        /// otherwise (null, another kind, text held as characters).
        /// </summary>
        static abstract bool TryGet(RecordReader r, int o, out ReadOnlySpan<byte> utf8);

        /// <summary>The reader's <see cref="RecordReader.Read"/>, called on its sealed type.</summary>
        static abstract bool Read(RecordReader r);

        /// <summary>
        /// Writes column <paramref name="o"/>'s value as <see cref="Encode"/> would when it is a number, date or
        /// timestamp the reader holds as it lies, of <paramref name="col"/>'s kind, not null and needing no note in
        /// the schema; false otherwise, with nothing written (the general way takes it).
        /// </summary>
        static abstract bool TryEncodeFixed(RecordReader r, int o, SchemaBuilder.Column col, ByteBuffer buf);
    }

    /// <summary>Every CSV field is text, already UTF-8 in the reader's buffer.</summary>
    internal readonly struct CsvText : ITextValues
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Read(RecordReader r) => ((CsvRecordReader)r).Read();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool TryGet(RecordReader r, int o, out ReadOnlySpan<byte> utf8)
        {
            utf8 = ((CsvRecordReader)r).FieldUtf8(o);
            return true;
        }

        public static bool TryEncodeFixed(RecordReader r, int o, SchemaBuilder.Column col, ByteBuffer buf) => false;
    }

    /// <summary>Parquet text read straight from the column (<see cref="SourceColumn.Text"/>), without the reader's two virtual calls.</summary>
    internal readonly struct ParquetText : ITextValues
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Read(RecordReader r) => ((ParquetRecordReader)r).Read();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool TryGet(RecordReader r, int o, out ReadOnlySpan<byte> utf8)
        {
            var parquet = (ParquetRecordReader)r;
            int row = parquet.RowInGroup;
            utf8 = default;
            return parquet.Column(o).Text is { } text && text.TryGetValue(row, out utf8);
        }

        // A typed file's numbers and timestamps took the general way: four virtual calls a value, and code the
        // runtime never got to optimise in a build of a second (its tiers waited for the start-up to settle).
        [MethodImpl(Hot.Path)]
        public static bool TryEncodeFixed(RecordReader r, int o, SchemaBuilder.Column col, ByteBuffer buf)
        {
            // The kinds taken here only: a boolean's "value" is its byte and bit (PlainTextChunk.GetBoolean), no slice.
            if (col.Kind is not (ValueKind.Double or ValueKind.Float or ValueKind.Int8 or ValueKind.Int16 or ValueKind.Int32 or ValueKind.Int64
                or ValueKind.Timestamp or ValueKind.Date)) return false;
            var parquet = (ParquetRecordReader)r;
            if (parquet.Column(o).Numbers is not { } numbers || numbers.Spec.Kind != col.Kind || !numbers.TryGetRaw(parquet.RowInGroup, out var v)) return false;
            Span<byte> at;
            switch (col.Kind)
            {
                case ValueKind.Double when v.Length == 8:
                case ValueKind.Float when v.Length == 4:
                    at = buf.GetSpan(1 + v.Length);
                    at[0] = (byte)col.Kind;
                    v.CopyTo(at[1..]);
                    buf.Length += 1 + v.Length;
                    return true;
                case ValueKind.Int8 or ValueKind.Int16 or ValueKind.Int32 or ValueKind.Int64 when v.Length is 4 or 8:
                    long signed = v.Length == 4 ? BinaryPrimitives.ReadInt32LittleEndian(v) : BinaryPrimitives.ReadInt64LittleEndian(v);
                    if ((ulong)(signed + (1L << 53)) > 1UL << 54) return false; // the schema notes it (EncodeValue)
                    col.SignBits |= signed;
                    at = buf.GetSpan(1 + VarInt.MaxLength);
                    at[0] = (byte)col.Kind;
                    buf.Length += 1 + VarInt.Write(at[1..], VarInt.ZigZag(signed));
                    return true;
                case ValueKind.Timestamp when v.Length == 8:
                    var spec = numbers.Spec;
                    if (!Format.PlainValues.TryTimestampTicks(BinaryPrimitives.ReadInt64LittleEndian(v), spec.Unit, out long ticks)) return false;
                    at = buf.GetSpan(10);
                    at[0] = (byte)ValueKind.Timestamp;
                    BinaryPrimitives.WriteInt64LittleEndian(at[1..], ticks);
                    at[9] = (byte)(spec.AdjustedToUtc ? DateTimeKind.Utc : DateTimeKind.Unspecified);
                    buf.Length += 10;
                    return true;
                case ValueKind.Date when v.Length == 4:
                    if (!Format.PlainValues.TryDayNumber(BinaryPrimitives.ReadInt32LittleEndian(v), out int day)) return false;
                    at = buf.GetSpan(1 + VarInt.MaxLength);
                    at[0] = (byte)ValueKind.Date;
                    buf.Length += 1 + VarInt.Write(at[1..], (ulong)day);
                    return true;
                default:
                    return false;
            }
        }
    }

    /// <summary>JSON Lines text without escapes, as it lies in the line.</summary>
    internal readonly struct JsonText : ITextValues
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Read(RecordReader r) => ((JsonLinesRecordReader)r).Read();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool TryGet(RecordReader r, int o, out ReadOnlySpan<byte> utf8)
        {
            var json = (JsonLinesRecordReader)r;
            utf8 = default;
            return json.GetKind(o) == ValueKind.String && json.TryGetUtf8(o, out utf8);
        }

        public static bool TryEncodeFixed(RecordReader r, int o, SchemaBuilder.Column col, ByteBuffer buf) => false;
    }

    /// <summary>
    /// <see cref="Encode"/> for a record of <typeparamref name="TText"/>'s source, the same bytes: text held as
    /// UTF-8 in a column already of text is written from where it lies (the key as <see cref="KeyTag"/>); every
    /// other value (numbers, nulls, text as characters, a value that changes its column's kind) takes the
    /// general way. Compiled fully optimised for each source from its first call (<see cref="Hot"/>), calling
    /// nothing virtual for text: the general encoder reaches the reader through virtual calls that only the
    /// runtime's profile-guided tier inlines (a 1 GB CSV build ran its ReadyToRun and profiling code for the
    /// first 40% of its reading phase).
    /// </summary>
    [MethodImpl(Hot.Path)]
    public static int EncodeOwn<TText>(RecordReader r, int[] map, SchemaBuilder schema, ByteBuffer buf, int keyOrdinal = -1) where TText : struct, ITextValues
    {
        try
        {
            int keyTags = 0;
            buf.WriteVarInt((ulong)map.Length);
            for (int g = 0; g < map.Length; g++)
            {
                int o = map[g];
                if (o >= 0)
                {
                    var col = schema[g];
                    if (col.Kind != ValueKind.String)
                    {
                        if (TText.TryEncodeFixed(r, o, col, buf)) continue;
                    }
                    else if (TText.TryGet(r, o, out var utf8))
                    {
                        if (o == keyOrdinal)
                        {
                            buf.WriteByte(KeyTag);
                            keyTags++;
                            continue;
                        }
                        buf.WriteByte((byte)ValueKind.String);
                        WriteUtf8(buf, utf8);
                        continue;
                    }
                }
                keyTags += EncodeValue(r, o, schema, g, buf, keyOrdinal);
            }
            return keyTags;
        }
        catch (EncoderFallbackException ex)
        {
            throw Unpaired(r, ex);
        }
    }

    private static int EncodeValues(RecordReader r, int[] map, SchemaBuilder schema, ByteBuffer buf, int keyOrdinal)
    {
        int keyTags = 0;
        buf.WriteVarInt((ulong)map.Length);
        for (int g = 0; g < map.Length; g++) keyTags += EncodeValue(r, map[g], schema, g, buf, keyOrdinal);
        return keyTags;
    }

    /// <summary>Encodes source column <paramref name="o"/>'s value as the row's value <paramref name="g"/>; 1 when it was the key (<see cref="KeyTag"/>).</summary>
    private static int EncodeValue(RecordReader r, int o, SchemaBuilder schema, int g, ByteBuffer buf, int keyOrdinal)
    {
        var col = schema[g];
        var kind = o < 0 ? ValueKind.Null : r.GetKind(o);
        // A null in a column that has held only nulls so far is of the column's kind too, yet makes it nullable.
        if (kind != col.Kind || (kind == ValueKind.Null && !col.Nullable)) schema.Observe(col, kind, r);
        if (o == keyOrdinal && kind == ValueKind.String)
        {
            buf.WriteByte(KeyTag);
            return 1;
        }
        buf.WriteByte((byte)kind);
        switch (kind)
        {
            case ValueKind.Null: break;
            case ValueKind.String:
                if (r.TryGetUtf8(o, out var utf8)) WriteUtf8(buf, utf8);
                else WriteChars(buf, r.GetChars(o));
                break;
            case ValueKind.Boolean: buf.WriteByte(r.GetBoolean(o) ? (byte)1 : (byte)0); break;
            case ValueKind.Int8 or ValueKind.Int16 or ValueKind.Int32 or ValueKind.Int64:
                long signed = r.GetInt64(o);
                col.SignBits |= signed;
                // Beyond ±2^53 only: the rest of the check, and the note, out of line (this method is inlined
                // into the sources' encoders: with both inline, a 100 MB JSON Lines build read 8% slower).
                if ((ulong)(signed + (1L << 53)) > 1UL << 54) ObserveLarge(schema, col, signed, r);
                buf.WriteVarInt(VarInt.ZigZag(signed)); break;
            case ValueKind.UInt8 or ValueKind.UInt16 or ValueKind.UInt32 or ValueKind.UInt64:
                ulong unsigned = r.GetUInt64(o);
                if (unsigned > 1UL << 53) ObserveLarge(schema, col, unsigned, r);
                buf.WriteVarInt(unsigned); break;
            case ValueKind.Float:
                BinaryPrimitives.WriteSingleLittleEndian(buf.GetSpan(4), (float)r.GetDouble(o)); buf.Length += 4; break;
            case ValueKind.Double:
                BinaryPrimitives.WriteDoubleLittleEndian(buf.GetSpan(8), r.GetDouble(o)); buf.Length += 8; break;
            case ValueKind.Decimal: WriteDecimal(buf, r, o, schema, col); break;
            case ValueKind.Binary:
                var bytes = r.GetBytes(o);
                buf.WriteVarInt((ulong)bytes.Length);
                buf.Write(bytes);
                break;
            case ValueKind.Timestamp:
                var t = r.GetDateTime(o);
                BinaryPrimitives.WriteInt64LittleEndian(buf.GetSpan(8), t.Ticks); buf.Length += 8;
                buf.WriteByte((byte)t.Kind);
                break;
            case ValueKind.Date: buf.WriteVarInt((ulong)r.GetDate(o).DayNumber); break;
            case ValueKind.Time: buf.WriteVarInt(VarInt.ZigZag(r.GetTime(o).Ticks)); break;
            default: throw new InvalidOperationException($"Unknown value kind {kind}.");
        }
        return 0;
    }

    /// <summary>A text value's length and bytes (its kind byte written before).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteUtf8(ByteBuffer buf, ReadOnlySpan<byte> utf8)
    {
        var span = buf.GetSpan(VarInt.MaxLength + utf8.Length);
        int n = VarInt.Write(span, (ulong)utf8.Length);
        Bytes.Copy(utf8, span[n..]);
        buf.Length += n + utf8.Length;
    }

    private static void WriteChars(ByteBuffer buf, ReadOnlySpan<char> chars)
    {
        if (chars.Length > 1 << 20)
        {
            // A huge value: counted first rather than given room for three bytes a character.
            int count = StrictUtf8.Encoding.GetByteCount(chars);
            buf.WriteVarInt((ulong)count);
            StrictUtf8.Encoding.GetBytes(chars, buf.GetSpan(count));
            buf.Length += count;
            return;
        }
        // One pass over the characters (counting the bytes first was a second, 3% of a CSV build): they are
        // transcoded after room for the longest length prefix they could need, and moved back in the rare
        // case their length takes fewer bytes.
        int max = chars.Length * 3;
        int room = VarInt.Size((ulong)max);
        var span = buf.GetSpan(room + max);
        if (Utf8.FromUtf16(chars, span[room..], out int read, out int n, replaceInvalidSequences: false) != OperationStatus.Done)
            throw new EncoderFallbackException($"Unable to translate Unicode character \\u{(int)chars[read]:X4} at index {read} to UTF-8.");
        int prefix = VarInt.Size((ulong)n);
        if (prefix < room) span.Slice(room, n).CopyTo(span[prefix..]);
        VarInt.Write(span, (ulong)n);
        buf.Length += prefix + n;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ObserveLarge(SchemaBuilder schema, SchemaBuilder.Column col, long v, RecordReader r)
    {
        if (!SchemaBuilder.FitsDouble(v)) schema.ObserveInexactInteger(col, v.ToString(CultureInfo.InvariantCulture), r);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ObserveLarge(SchemaBuilder schema, SchemaBuilder.Column col, ulong v, RecordReader r)
    {
        if (!SchemaBuilder.FitsDouble(v)) schema.ObserveInexactInteger(col, v.ToString(CultureInfo.InvariantCulture), r);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WriteDecimal(ByteBuffer buf, RecordReader r, int o, SchemaBuilder schema, SchemaBuilder.Column col)
    {
        decimal m = r.GetDecimal(o);
        // A declaring source's values are of its column's precision and scale already.
        if (!col.Declared || r.IsSchemaFlexible) schema.ObserveDecimal(col, m, r);
        WriteDecimal(buf, m);
    }

    private static void WriteDecimal(ByteBuffer buf, decimal d)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(d, bits);
        var span = buf.GetSpan(16);
        for (int i = 0; i < 4; i++) BinaryPrimitives.WriteInt32LittleEndian(span[(i * 4)..], bits[i]);
        buf.Length += 16;
    }

    /// <summary>Reads values of one encoded row in column order.</summary>
    internal ref struct Reader
    {
        private readonly ReadOnlySpan<byte> _row;
        private int _pos;
        public readonly int ColumnCount;

        public Reader(ReadOnlySpan<byte> row)
        {
            _row = row;
            _pos = 0;
            ColumnCount = (int)VarInt.Read(row, ref _pos);
        }

        public ValueKind NextKind() => (ValueKind)_row[_pos++];

        /// <summary>Passes over a value of <paramref name="kind"/>.</summary>
        public void Skip(ValueKind kind)
        {
            switch (kind)
            {
                case ValueKind.Null: break;
                case ValueKind.Boolean: _pos++; break;
                case ValueKind.Float: _pos += 4; break;
                case ValueKind.Double: _pos += 8; break;
                case ValueKind.Timestamp: _pos += 9; break;
                case ValueKind.Decimal: _pos += 16; break;
                case ValueKind.String or ValueKind.Binary: ReadBytes(); break;
                case ValueKind.Int8 or ValueKind.Int16 or ValueKind.Int32 or ValueKind.Int64 or ValueKind.UInt8 or ValueKind.UInt16
                    or ValueKind.UInt32 or ValueKind.UInt64 or ValueKind.Date or ValueKind.Time:
                    VarInt.Read(_row, ref _pos); break;
                default: throw new InvalidDataException($"Unknown value tag {(byte)kind} in an encoded row.");
            }
        }

        public long ReadSigned() => VarInt.UnZigZag(VarInt.Read(_row, ref _pos));
        public ulong ReadUnsigned() => VarInt.Read(_row, ref _pos);
        public bool ReadBoolean() => _row[_pos++] != 0;

        public float ReadFloat() { var v = BinaryPrimitives.ReadSingleLittleEndian(_row[_pos..]); _pos += 4; return v; }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public double ReadDouble() { var v = BinaryPrimitives.ReadDoubleLittleEndian(_row[_pos..]); _pos += 8; return v; }

        public decimal ReadDecimal()
        {
            Span<int> bits = stackalloc int[4];
            for (int i = 0; i < 4; i++) bits[i] = BinaryPrimitives.ReadInt32LittleEndian(_row[(_pos + i * 4)..]);
            _pos += 16;
            return new decimal(bits);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ReadOnlySpan<byte> ReadBytes()
        {
            int n = (int)VarInt.Read(_row, ref _pos);
            var s = _row.Slice(_pos, n);
            _pos += n;
            return s;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public DateTime ReadTimestamp()
        {
            long ticks = BinaryPrimitives.ReadInt64LittleEndian(_row[_pos..]);
            var kind = (DateTimeKind)_row[_pos + 8];
            _pos += 9;
            return new DateTime(ticks, kind);
        }

        public DateOnly ReadDate() => DateOnly.FromDayNumber((int)VarInt.Read(_row, ref _pos));
        public TimeSpan ReadTime() => new(VarInt.UnZigZag(VarInt.Read(_row, ref _pos)));
    }
}
