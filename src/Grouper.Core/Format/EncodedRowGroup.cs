using System.Buffers;

namespace Grouper.Format;

/// <summary>
/// One row group encoded apart from its shard: its column chunks (<see cref="Body"/>) and its RowGroup
/// metadata (<see cref="Metadata"/>) with file offsets counted from the body's first byte, ready for
/// <see cref="StitchedParquetFile.Append"/>. Most columns are encoded by Grouper (<see cref="OwnChunk"/>);
/// the others by Parquet.Net, as a one-row-group file of their own whose chunks are taken from it.
/// </summary>
internal sealed class EncodedRowGroup
{
    private readonly ArrayBufferWriter<byte> _libraryChunks = new(1 << 10);
    private readonly List<Range> _libraryRanges = new();
    private long _libraryUncompressed, _libraryCompressed;
    private bool _passThrough;
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
        _libraryChunks.ResetWrittenCount();
        _libraryRanges.Clear();
        _libraryUncompressed = _libraryCompressed = 0;
        _passThrough = false;
        Rows = rows;
    }

    /// <summary>
    /// Takes the one row group of a Parquet file Parquet.Net wrote: its body is appended; with
    /// <paramref name="whole"/> (it holds every column) its RowGroup metadata is kept as written,
    /// otherwise its column chunks are kept to be listed among the others by <see cref="Finish"/>.
    /// </summary>
    public void AddLibraryFile(ReadOnlySpan<byte> file, bool whole)
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
                if (whole)
                {
                    var w = new ThriftCompact.Writer(Metadata);
                    StitchedParquetFile.RewriteRowGroup(ref r, ref w, shift, 0);
                    _passThrough = true;
                }
                else ReadChunks(ref r, shift);
            }
            else r.Skip(type);
        }
        if (rowGroups != 1) throw new InvalidDataException("Parquet footer without row groups.");
        Body.Write(file[4..footerStart]);
    }

    // RowGroup: 1 columns, 2 total_byte_size, 6 total_compressed_size.
    private void ReadChunks(ref ThriftCompact.Reader r, long shift)
    {
        short last = 0;
        while (r.ReadFieldHeader(ref last, out short id, out byte type))
        {
            if (id == 1 && type == ThriftCompact.List)
            {
                r.ReadListHeader(out _, out int n);
                for (int i = 0; i < n; i++)
                {
                    int start = _libraryChunks.WrittenCount;
                    var w = new ThriftCompact.Writer(_libraryChunks);
                    StitchedParquetFile.RewriteColumnChunk(ref r, ref w, shift);
                    _libraryRanges.Add(start.._libraryChunks.WrittenCount);
                }
            }
            else if (id == 2 && type == ThriftCompact.I64) _libraryUncompressed = r.ReadI64();
            else if (id == 6 && type == ThriftCompact.I64) _libraryCompressed = r.ReadI64();
            else r.Skip(type);
        }
    }

    /// <summary>
    /// Writes the RowGroup metadata, the columns in schema order: <paramref name="columns"/> has a chunk for
    /// each column encoded here and null for each one Parquet.Net encoded (taken in order).
    /// </summary>
    public void Finish(ReadOnlySpan<OwnChunk?> columns)
    {
        if (_passThrough) return;
        long uncompressed = _libraryUncompressed, compressed = _libraryCompressed;
        var w = new ThriftCompact.Writer(Metadata);
        short last = 0;
        w.WriteFieldHeader(ref last, 1, ThriftCompact.List);
        w.WriteListHeader(ThriftCompact.Struct, columns.Length);
        int library = 0;
        foreach (var c in columns)
        {
            if (c is null)
            {
                if (library == _libraryRanges.Count) throw new InvalidOperationException("Parquet.Net wrote fewer columns than expected.");
                w.WriteRaw(_libraryChunks.WrittenSpan[_libraryRanges[library++]]);
                continue;
            }
            c.WriteColumnChunk(ref w);
            uncompressed += c.UncompressedSize;
            compressed += c.CompressedSize;
        }
        if (library != _libraryRanges.Count) throw new InvalidOperationException("Parquet.Net wrote more columns than expected.");
        w.WriteFieldHeader(ref last, 2, ThriftCompact.I64); w.WriteI64(uncompressed);
        w.WriteFieldHeader(ref last, 3, ThriftCompact.I64); w.WriteI64(Rows);
        w.WriteFieldHeader(ref last, 6, ThriftCompact.I64); w.WriteI64(compressed);
        w.WriteStop();
    }
}
