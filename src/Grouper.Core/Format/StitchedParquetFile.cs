using System.Buffers;
using System.Buffers.Binary;

namespace Grouper.Format;

/// <summary>
/// A Parquet file assembled from row groups that were encoded separately (<see cref="EncodedRowGroup"/>:
/// encoding several at once is what keeps both cores busy while a shard is written). A row group's body
/// (its column chunks) is appended as it is; its metadata is copied with every file offset moved by where
/// the body landed. The footer is <c>template</c> (the metadata Parquet.Net writes for the schema, with no
/// row groups) with the row count and the list of row groups replaced, and the schema elements named by
/// <c>textElements</c> annotated as UTF-8 text (byte-array columns whose values are UTF-8: Parquet.Net takes
/// raw bytes only for binary fields), and created_by names Grouper (<see cref="CreatedBy"/>), which wrote
/// the file. Nothing else of the metadata is re-encoded, so what Parquet.Net wrote (the schema) stays, but
/// for one thing where Parquet.Net encoded a row group's timestamps (Zstd and Gzip shards): the minimum and
/// maximum of timestamp columns of microseconds or nanoseconds, which Parquet.Net 6.1 writes in
/// milliseconds. Engines skip row groups by them, and DuckDB found no row of 2024 in shards full of them;
/// they are left out (the null count stays), so that engines read those row groups instead
/// (<c>ShardStatisticsTests</c>). The page headers inside the chunks keep theirs: engines filter by the
/// column chunk's statistics or a page index, not page headers. The timestamps Grouper encodes
/// (<see cref="FixedWidthChunk"/>) have right bounds, kept.
/// </summary>
internal sealed class StitchedParquetFile
{
    private static ReadOnlySpan<byte> Magic => "PAR1"u8;

    /// <summary>
    /// The footer's created_by, in the form engines parse ("app version x (build y)"): shards written before
    /// 2026-11-30 15:30 keep Parquet.Net's, which is how the verifier tells them (and their wrong timestamp
    /// bounds) from later ones.
    /// </summary>
    public static string CreatedBy { get; } = "Grouper version " + DatasetManifest.CreatedByThisVersion["Grouper ".Length..];

    private readonly Stream _out;
    private long _position;
    private readonly byte[] _template;
    private readonly ArrayBufferWriter<byte> _rowGroups = new(1 << 12);
    private int _rowGroupCount;
    private long _rows;
    private readonly IReadOnlySet<int>? _textElements;
    private readonly HashSet<string>? _noMinMax;
    private readonly byte[]? _createdBy;

    // noMinMax: the columns whose min/max are left out (WrongMinMax of the template; null keeps them all).
    // keepCreatedBy: the template's created_by stays (tests: shards as they were before CreatedBy).
    public StitchedParquetFile(Stream output, byte[] template, IReadOnlySet<int>? textElements = null, HashSet<string>? noMinMax = null, bool keepCreatedBy = false)
    {
        _createdBy = keepCreatedBy ? null : System.Text.Encoding.UTF8.GetBytes(CreatedBy);
        _out = output;
        _template = template;
        _textElements = textElements is { Count: > 0 } ? textElements : null;
        _noMinMax = noMinMax;
        _out.Write(Magic);
        _position = Magic.Length;
    }

    public int RowGroups => _rowGroupCount;

    /// <summary>
    /// Appends a row group: <paramref name="body"/> its column chunks, <paramref name="rowGroup"/> its
    /// RowGroup metadata with file offsets counted from the body's first byte.
    /// </summary>
    public void Append(ReadOnlySpan<byte> body, ReadOnlySpan<byte> rowGroup, long rows)
    {
        var r = new ThriftCompact.Reader(rowGroup);
        var w = new ThriftCompact.Writer(_rowGroups);
        RewriteRowGroup(ref r, ref w, _position, _rowGroupCount, _noMinMax);
        _rowGroupCount++;
        _rows += rows;
        _out.Write(body);
        _position += body.Length;
    }

    /// <summary>The footer (FileMetaData) of a complete Parquet file, and where its body ends.</summary>
    public static ReadOnlySpan<byte> FooterOf(ReadOnlySpan<byte> file, out int footerStart)
    {
        if (file.Length < 12 || !file[..4].SequenceEqual(Magic) || !file[^4..].SequenceEqual(Magic))
            throw new InvalidDataException("An encoded row group is not a Parquet file.");
        int footerLength = BinaryPrimitives.ReadInt32LittleEndian(file[^8..]);
        footerStart = file.Length - 8 - footerLength;
        if (footerLength <= 0 || footerStart < 4) throw new InvalidDataException("An encoded row group has a bad footer length.");
        return file.Slice(footerStart, footerLength);
    }

    /// <summary>Writes the footer; the stream is left open.</summary>
    public void Finish()
    {
        if (_rowGroupCount == 0) throw new InvalidOperationException("A Parquet file needs at least one row group.");
        var buffer = new ArrayBufferWriter<byte>(_template.Length + _rowGroups.WrittenCount + 64);
        var w = new ThriftCompact.Writer(buffer);
        var r = new ThriftCompact.Reader(_template);
        short lastIn = 0, lastOut = 0;
        bool wroteRowGroups = false;
        while (r.ReadFieldHeader(ref lastIn, out short id, out byte type))
        {
            if (id > 4 && !wroteRowGroups) { WriteRowGroups(ref w, ref lastOut); wroteRowGroups = true; }
            if (id == 3) { r.Skip(type); w.WriteFieldHeader(ref lastOut, 3, ThriftCompact.I64); w.WriteI64(_rows); }
            else if (id == 4)
            {
                r.Skip(type);
                WriteRowGroups(ref w, ref lastOut);
                wroteRowGroups = true;
            }
            else if (id == 6 && type == ThriftCompact.Binary && _createdBy is not null)
            {
                r.Skip(type);
                w.WriteFieldHeader(ref lastOut, 6, ThriftCompact.Binary);
                w.WriteBinary(_createdBy);
            }
            else if (id == 2 && type == ThriftCompact.List && _textElements is not null)
            {
                w.WriteFieldHeader(ref lastOut, 2, ThriftCompact.List);
                r.ReadListHeader(out byte elem, out int n);
                if (elem != ThriftCompact.Struct) throw new InvalidDataException("Parquet footer: schema elements are not structs.");
                w.WriteListHeader(elem, n);
                for (int i = 0; i < n; i++)
                {
                    if (_textElements.Contains(i)) AnnotateText(ref r, ref w);
                    else w.WriteRaw(r.SkipAndSlice(ThriftCompact.Struct));
                }
            }
            else { w.WriteFieldHeader(ref lastOut, id, type); w.WriteRaw(r.SkipAndSlice(type)); }
        }
        if (!wroteRowGroups) WriteRowGroups(ref w, ref lastOut);
        w.WriteStop();
        _out.Write(buffer.WrittenSpan);
        Span<byte> tail = stackalloc byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(tail, buffer.WrittenCount);
        Magic.CopyTo(tail[4..]);
        _out.Write(tail);
    }

    private void WriteRowGroups(ref ThriftCompact.Writer w, ref short last)
    {
        w.WriteFieldHeader(ref last, 4, ThriftCompact.List);
        w.WriteListHeader(ThriftCompact.Struct, _rowGroupCount);
        w.WriteRaw(_rowGroups.WrittenSpan);
    }

    // SchemaElement: 6 converted_type (UTF8 = 0), 10 logicalType (a union: 1 STRING, an empty struct).
    private static void AnnotateText(ref ThriftCompact.Reader r, ref ThriftCompact.Writer w)
    {
        short lastIn = 0, lastOut = 0;
        bool converted = false, logical = false;
        while (r.ReadFieldHeader(ref lastIn, out short id, out byte type))
        {
            if (!converted && id >= 6) { WriteConverted(ref w, ref lastOut); converted = true; }
            if (!logical && id >= 10) { WriteLogical(ref w, ref lastOut); logical = true; }
            if (id is 6 or 10) { r.Skip(type); continue; }
            w.WriteFieldHeader(ref lastOut, id, type);
            w.WriteRaw(r.SkipAndSlice(type));
        }
        if (!converted) WriteConverted(ref w, ref lastOut);
        if (!logical) WriteLogical(ref w, ref lastOut);
        w.WriteStop();

        static void WriteConverted(ref ThriftCompact.Writer w, ref short last)
        {
            w.WriteFieldHeader(ref last, 6, ThriftCompact.I32);
            w.WriteI64(0);
        }

        static void WriteLogical(ref ThriftCompact.Writer w, ref short last)
        {
            w.WriteFieldHeader(ref last, 10, ThriftCompact.Struct);
            short inner = 0;
            w.WriteFieldHeader(ref inner, 1, ThriftCompact.Struct);
            w.WriteStop(); // StringType has no fields
            w.WriteStop(); // end of LogicalType
        }
    }

    /// <summary>The columns of a footer template's schema whose minimum and maximum Parquet.Net writes wrong (see the class); null for none.</summary>
    public static HashSet<string>? WrongMinMax(byte[] template)
    {
        HashSet<string>? names = null;
        foreach (var c in ParquetLayout.Parse(template).Columns)
            if (c.Kind == Grouper.Schema.ValueKind.Timestamp && c.Unit != Grouper.Schema.TimeUnit.Millis) (names ??= new(StringComparer.Ordinal)).Add(c.Name);
        return names;
    }

    // RowGroup: 1 columns, 5 file_offset, 7 ordinal.
    internal static void RewriteRowGroup(ref ThriftCompact.Reader r, ref ThriftCompact.Writer w, long shift, int ordinal, HashSet<string>? noMinMax = null)
    {
        short lastIn = 0, lastOut = 0;
        while (r.ReadFieldHeader(ref lastIn, out short id, out byte type))
        {
            w.WriteFieldHeader(ref lastOut, id, type);
            if (id == 1 && type == ThriftCompact.List)
            {
                r.ReadListHeader(out byte elem, out int n);
                w.WriteListHeader(elem, n);
                for (int i = 0; i < n; i++) RewriteColumnChunk(ref r, ref w, shift, noMinMax);
            }
            else if (id == 5 && type == ThriftCompact.I64) w.WriteI64(r.ReadI64() + shift);
            else if (id == 7 && type == ThriftCompact.I16) { r.ReadI64(); w.WriteI64(ordinal); }
            else w.WriteRaw(r.SkipAndSlice(type));
        }
        w.WriteStop();
    }

    // ColumnChunk: 2 file_offset, 3 meta_data, 4 offset_index_offset, 6 column_index_offset.
    private static void RewriteColumnChunk(ref ThriftCompact.Reader r, ref ThriftCompact.Writer w, long shift, HashSet<string>? noMinMax = null)
    {
        short lastIn = 0, lastOut = 0;
        while (r.ReadFieldHeader(ref lastIn, out short id, out byte type))
        {
            w.WriteFieldHeader(ref lastOut, id, type);
            if (id is 2 or 4 or 6 && type == ThriftCompact.I64) w.WriteI64(r.ReadI64() + shift);
            else if (id == 3 && type == ThriftCompact.Struct) RewriteColumnMetaData(ref r, ref w, shift, noMinMax);
            else w.WriteRaw(r.SkipAndSlice(type));
        }
        w.WriteStop();
    }

    // ColumnMetaData: 3 path_in_schema, 9 data_page_offset, 10 index_page_offset, 11 dictionary_page_offset,
    // 12 statistics, 14 bloom_filter_offset. The path comes before the statistics (fields are written in order).
    private static void RewriteColumnMetaData(ref ThriftCompact.Reader r, ref ThriftCompact.Writer w, long shift, HashSet<string>? noMinMax)
    {
        short lastIn = 0, lastOut = 0;
        bool dropMinMax = false;
        while (r.ReadFieldHeader(ref lastIn, out short id, out byte type))
        {
            w.WriteFieldHeader(ref lastOut, id, type);
            if (id is 9 or 10 or 11 or 14 && type == ThriftCompact.I64) w.WriteI64(r.ReadI64() + shift);
            else if (id == 3 && type == ThriftCompact.List && noMinMax is not null)
            {
                var path = r.SkipAndSlice(type);
                w.WriteRaw(path);
                var p = new ThriftCompact.Reader(path);
                p.ReadListHeader(out _, out int parts);
                dropMinMax = parts == 1 && noMinMax.Contains(System.Text.Encoding.UTF8.GetString(p.ReadBinary()));
            }
            else if (id == 12 && type == ThriftCompact.Struct && dropMinMax) WriteStatisticsWithoutMinMax(ref r, ref w);
            else w.WriteRaw(r.SkipAndSlice(type));
        }
        w.WriteStop();
    }

    // Statistics: 1 max, 2 min, 3 null_count, 4 distinct_count, 5 max_value, 6 min_value, 7 and 8 whether they
    // are exact: the counts are kept.
    private static void WriteStatisticsWithoutMinMax(ref ThriftCompact.Reader r, ref ThriftCompact.Writer w)
    {
        short lastIn = 0, lastOut = 0;
        while (r.ReadFieldHeader(ref lastIn, out short id, out byte type))
        {
            if (id is 3 or 4)
            {
                w.WriteFieldHeader(ref lastOut, id, type);
                w.WriteRaw(r.SkipAndSlice(type));
            }
            else r.Skip(type);
        }
        w.WriteStop();
    }
}
