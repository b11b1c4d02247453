using System.Buffers;
using System.Buffers.Binary;
using Parquet;

namespace Grouper.Format;

/// <summary>
/// Checks that a Parquet file's footer is well-formed Thrift, and that the fields Parquet.Net reads have the
/// types parquet.thrift gives them, before Parquet.Net reads it. Parquet.Net's metadata reader spins for
/// minutes on some damaged footers: on one whose Thrift did not parse (the fuzz test found it, a few flipped
/// bytes in a shard), and on one that parsed but had known fields of other types (a column chunk's file
/// offset as a boolean, FileMetaData's created_by as an integer: read as their types, they put the reader
/// out of step with the bytes, and it never met a stop).
/// This walk only counts bytes and compares type codes, so it stops at the first value that does not fit.
/// </summary>
internal static class ParquetFooter
{
    private static ReadOnlySpan<byte> Magic => "PAR1"u8;

    /// <summary>Parquet.Net's reader over the file (left open), once its footer passed <see cref="Check"/>.</summary>
    public static ParquetReader OpenReader(FileStream file, ParquetOptions? options = null)
    {
        Check(file);
        return ParquetReader.CreateAsync(file, options, leaveStreamOpen: true).GetAwaiter().GetResult();
    }

    /// <summary>Throws <see cref="InvalidDataException"/> saying what is wrong with the footer.</summary>
    public static void Check(FileStream file) => ArrayPool<byte>.Shared.Return(ReadChecked(file, out _));

    /// <summary>
    /// The file's layout as Grouper reads it (<see cref="ParquetLayout"/>), once its footer passed
    /// <see cref="Check"/>: without Parquet.Net, whose first use in a process (its reader, its schema) took
    /// 40-45 ms of a build that reads a 10 MB file in 0.7 s.
    /// </summary>
    public static ParquetLayout ReadLayout(FileStream file)
    {
        var bytes = ReadChecked(file, out int footer);
        try
        {
            return ParquetLayout.Parse(bytes.AsSpan(0, footer));
        }
        catch (Exception ex) when (ex is InvalidDataException or OverflowException)
        {
            throw new InvalidDataException($"its footer is damaged ({ex.Message})", ex);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    // The footer's bytes (rented: the caller returns them) once they are well-formed.
    private static byte[] ReadChecked(FileStream file, out int footer)
    {
        long length = file.Length;
        if (length < 12) throw new InvalidDataException($"it is {length} bytes long, too short for a Parquet file");
        Span<byte> tail = stackalloc byte[8];
        if (RandomAccess.Read(file.SafeFileHandle, tail, length - 8) != 8) throw new InvalidDataException("its last bytes cannot be read");
        if (!tail[4..].SequenceEqual(Magic)) throw new InvalidDataException("it does not end with Parquet's magic bytes");
        footer = BinaryPrimitives.ReadInt32LittleEndian(tail);
        if (footer <= 0 || footer > length - 12) throw new InvalidDataException($"its footer length ({footer} bytes) does not fit in the file");
        // As Parquet.Net checks it: a file read without Parquet.Net (ParquetLayout) is held to the same.
        if (RandomAccess.Read(file.SafeFileHandle, tail[..4], 0) != 4 || !tail[..4].SequenceEqual(Magic))
            throw new InvalidDataException("it does not start with Parquet's magic bytes");
        var bytes = ArrayPool<byte>.Shared.Rent(footer);
        try
        {
            var span = bytes.AsSpan(0, footer);
            if (RandomAccess.Read(file.SafeFileHandle, span, length - 8 - footer) != footer) throw new InvalidDataException("its footer cannot be read");
            // Bytes after the metadata are tolerated, as readers do; metadata that runs past them is not.
            try
            {
                var reader = new ThriftCompact.Reader(span);
                Walk(ref reader, Shapes.FileMetaData, 0);
            }
            catch (Exception ex) when (ex is InvalidDataException or OverflowException)
            {
                throw new InvalidDataException($"its footer is damaged ({ex.Message})", ex);
            }
            return bytes;
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(bytes);
            throw;
        }
    }

    // A struct's fields by id: an expected Thrift type and, for structs and lists of structs, their shape.
    // An array by id of a class, not a dictionary of tuples: its generic code over value types was compiled at
    // the first Parquet file a process opened (2-3 ms of a build's start).
    private sealed class Shape(string name)
    {
        private FieldShape?[] _fields = [];
        public string Name => name;

        public Shape F(short id, byte type, Shape? inner = null) => Add(id, new FieldShape(type, 0, inner));

        public Shape L(short id, byte element, Shape? inner = null) => Add(id, new FieldShape(ThriftCompact.List, element, inner));

        private Shape Add(short id, FieldShape field)
        {
            if (id >= _fields.Length) Array.Resize(ref _fields, id + 1);
            _fields[id] = field;
            return this;
        }

        public FieldShape? Get(short id) => id >= 0 && id < _fields.Length ? _fields[id] : null;
    }

    private sealed record FieldShape(byte Type, byte Element, Shape? Inner);

    // In the compact protocol a boolean field's type is its value: true and false are both booleans.
    private static bool Same(byte actual, byte expected) =>
        actual == expected || (actual is ThriftCompact.True or ThriftCompact.False && expected is ThriftCompact.True or ThriftCompact.False);

    private static void Walk(ref ThriftCompact.Reader r, Shape shape, int depth)
    {
        if (depth > 16) throw new InvalidDataException("Parquet metadata is nested too deeply.");
        short last = 0;
        while (r.ReadFieldHeader(ref last, out short id, out byte type))
        {
            // Fields Parquet.Net does not know it skips by their own type, as this does.
            if (shape.Get(id) is not { } f)
            {
                r.Skip(type);
                continue;
            }
            if (!Same(type, f.Type)) throw new InvalidDataException($"field {id} of a {shape.Name} has Thrift type {type}, not {f.Type}");
            if (type == ThriftCompact.Struct && f.Inner is { } inner) Walk(ref r, inner, depth + 1);
            else if (type == ThriftCompact.List)
            {
                r.ReadListHeader(out byte element, out int n);
                if (n > 0 && !Same(element, f.Element)) throw new InvalidDataException($"field {id} of a {shape.Name} is a list of Thrift type {element}, not {f.Element}");
                for (int i = 0; i < n; i++)
                {
                    if (element == ThriftCompact.Struct && f.Inner is { } item) Walk(ref r, item, depth + 1);
                    else r.SkipElement(element);
                }
            }
            else r.Skip(type);
        }
    }

    /// <summary>The structs of a Parquet footer as parquet.thrift (format 2.11) declares them.</summary>
    private static class Shapes
    {
        private const byte Bool = ThriftCompact.True, I8 = ThriftCompact.Byte, I16 = ThriftCompact.I16, I32 = ThriftCompact.I32,
            I64 = ThriftCompact.I64, F64 = ThriftCompact.Double, Bin = ThriftCompact.Binary, St = ThriftCompact.Struct;

        private static readonly Shape Empty = new("marker");
        private static readonly Shape TimeUnit = new Shape("TimeUnit").F(1, St, Empty).F(2, St, Empty).F(3, St, Empty);
        private static readonly Shape LogicalType = new Shape("LogicalType")
            .F(1, St, Empty).F(2, St, Empty).F(3, St, Empty).F(4, St, Empty)
            .F(5, St, new Shape("DecimalType").F(1, I32).F(2, I32))
            .F(6, St, Empty)
            .F(7, St, new Shape("TimeType").F(1, Bool).F(2, St, TimeUnit))
            .F(8, St, new Shape("TimestampType").F(1, Bool).F(2, St, TimeUnit))
            .F(10, St, new Shape("IntType").F(1, I8).F(2, Bool))
            .F(11, St, Empty).F(12, St, Empty).F(13, St, Empty).F(14, St, Empty).F(15, St, Empty)
            .F(16, St, new Shape("VariantType").F(1, I8))
            .F(17, St, new Shape("GeometryType").F(1, Bin))
            .F(18, St, new Shape("GeographyType").F(1, Bin).F(2, I32));
        private static readonly Shape SchemaElement = new Shape("SchemaElement")
            .F(1, I32).F(2, I32).F(3, I32).F(4, Bin).F(5, I32).F(6, I32).F(7, I32).F(8, I32).F(9, I32).F(10, St, LogicalType);
        private static readonly Shape KeyValue = new Shape("KeyValue").F(1, Bin).F(2, Bin);
        private static readonly Shape Statistics = new Shape("Statistics")
            .F(1, Bin).F(2, Bin).F(3, I64).F(4, I64).F(5, Bin).F(6, Bin).F(7, Bool).F(8, Bool);
        private static readonly Shape ColumnMetaData = new Shape("ColumnMetaData")
            .F(1, I32).L(2, I32).L(3, Bin).F(4, I32).F(5, I64).F(6, I64).F(7, I64).L(8, St, KeyValue)
            .F(9, I64).F(10, I64).F(11, I64).F(12, St, Statistics)
            .L(13, St, new Shape("PageEncodingStats").F(1, I32).F(2, I32).F(3, I32))
            .F(14, I64).F(15, I32)
            .F(16, St, new Shape("SizeStatistics").F(1, I64).L(2, I64).L(3, I64))
            .F(17, St, new Shape("GeospatialStatistics")
                .F(1, St, new Shape("BoundingBox").F(1, F64).F(2, F64).F(3, F64).F(4, F64).F(5, F64).F(6, F64).F(7, F64).F(8, F64))
                .L(2, I32));
        private static readonly Shape ColumnChunk = new Shape("ColumnChunk")
            .F(1, Bin).F(2, I64).F(3, St, ColumnMetaData).F(4, I64).F(5, I32).F(6, I64).F(7, I32)
            .F(8, St, new Shape("ColumnCryptoMetaData").F(1, St, Empty).F(2, St, new Shape("EncryptionWithColumnKey").L(1, Bin).F(2, Bin)))
            .F(9, Bin);
        private static readonly Shape RowGroup = new Shape("RowGroup")
            .L(1, St, ColumnChunk).F(2, I64).F(3, I64)
            .L(4, St, new Shape("SortingColumn").F(1, I32).F(2, Bool).F(3, Bool))
            .F(5, I64).F(6, I64).F(7, I16);
        private static readonly Shape Aes = new Shape("AesGcm").F(1, Bin).F(2, Bin).F(3, Bool);

        public static readonly Shape FileMetaData = new Shape("FileMetaData")
            .F(1, I32).L(2, St, SchemaElement).F(3, I64).L(4, St, RowGroup).L(5, St, KeyValue).F(6, Bin)
            .L(7, St, new Shape("ColumnOrder").F(1, St, Empty))
            .F(8, St, new Shape("EncryptionAlgorithm").F(1, St, Aes).F(2, St, Aes))
            .F(9, Bin);
    }
}
