using System.Buffers;

namespace Grouper.Format;

/// <summary>
/// One row group encoded apart from its shard: its column chunks (<see cref="Body"/>) and its RowGroup
/// metadata (<see cref="Metadata"/>) with file offsets counted from the body's first byte, ready for
/// <see cref="StitchedParquetFile.Append"/>. Its columns are encoded by Grouper (<see cref="OwnChunk"/>,
/// listed by <see cref="Finish"/>), or, in Zstd and Gzip shards, by Parquet.Net as a one-row-group file of
/// its own whose row group is taken whole (<see cref="AddLibraryFile"/>).
/// </summary>
internal sealed class EncodedRowGroup
{
    private byte[] _scratch = [];

    public ArrayBufferWriter<byte> Body { get; } = new(1 << 20);
    public ArrayBufferWriter<byte> Metadata { get; } = new(1 << 10);
    public int Rows { get; private set; }

    /// <summary>A buffer of at least <paramref name="size"/> bytes, shared by the row group's columns (one is compressed at a time).</summary>
    public Span<byte> Scratch(int size)
    {
        if (_scratch.Length < size) _scratch = new byte[Math.Max(size, _scratch.Length * 2)];
        return _scratch;
    }

    public void Reset(int rows)
    {
        Body.ResetWrittenCount();
        Metadata.ResetWrittenCount();
        Rows = rows;
    }

    /// <summary>Takes the one row group of a Parquet file Parquet.Net wrote: its body, and its RowGroup metadata as written.</summary>
    public void AddLibraryFile(ReadOnlySpan<byte> file)
    {
        var footer = StitchedParquetFile.FooterOf(file, out int footerStart);
        // The piece's offsets count from its own start, where 4 bytes of magic precede the body.
        long shift = Body.WrittenCount - 4;
        var r = new ThriftCompact.Reader(footer);
        short last = 0;
        int rowGroups = 0;
        while (r.ReadFieldHeader(ref last, out short id, out byte type))
        {
            if (id == 4 && type == ThriftCompact.List)
            {
                r.ReadListHeader(out byte elem, out rowGroups);
                if (elem != ThriftCompact.Struct || rowGroups != 1) throw new InvalidDataException("An encoded row group is not one row group.");
                var w = new ThriftCompact.Writer(Metadata);
                StitchedParquetFile.RewriteRowGroup(ref r, ref w, shift, 0);
            }
            else r.Skip(type);
        }
        if (rowGroups != 1) throw new InvalidDataException("Parquet footer without row groups.");
        Body.Write(file[4..footerStart]);
    }

    /// <summary>Writes the RowGroup metadata of the chunks Grouper encoded, in schema order (the key column first).</summary>
    public void Finish(ReadOnlySpan<OwnChunk> columns)
    {
        long uncompressed = 0, compressed = 0;
        var w = new ThriftCompact.Writer(Metadata);
        short last = 0;
        w.WriteFieldHeader(ref last, 1, ThriftCompact.List);
        w.WriteListHeader(ThriftCompact.Struct, columns.Length);
        foreach (var c in columns)
        {
            c.WriteColumnChunk(ref w);
            uncompressed += c.UncompressedSize;
            compressed += c.CompressedSize;
        }
        w.WriteFieldHeader(ref last, 2, ThriftCompact.I64); w.WriteI64(uncompressed);
        w.WriteFieldHeader(ref last, 3, ThriftCompact.I64); w.WriteI64(Rows);
        w.WriteFieldHeader(ref last, 6, ThriftCompact.I64); w.WriteI64(compressed);
        w.WriteStop();
    }
}
