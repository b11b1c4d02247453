using Parquet.Meta;

namespace Grouper.Format;

/// <summary>A leaf column of a Parquet schema, as far as Grouper's own reading of a file needs it.</summary>
/// <param name="Name">The column's name.</param>
/// <param name="Nullable">OPTIONAL rather than REQUIRED.</param>
/// <param name="FlatText">A top-level UTF-8 string column (BYTE_ARRAY annotated UTF8 or STRING), neither repeated nor nested.</param>
internal sealed record ParquetLeaf(string Name, bool Nullable, bool FlatText);

/// <summary>
/// What a Parquet footer says about the file's rows and where its column chunks lie, read by Grouper
/// (<see cref="ParquetFooter.ReadLayout"/>): the row count, the row groups with their chunks (as Parquet.Net's
/// metadata types, which <see cref="PlainTextChunk"/> reads), and the top-level columns. A file whose columns
/// are all <see cref="ParquetLeaf.FlatText"/> is read without Parquet.Net; any other is Parquet.Net's.
/// </summary>
internal sealed class ParquetLayout
{
    public long NumRows { get; private set; }
    public List<RowGroup> RowGroups { get; } = new();

    /// <summary>The schema's top-level columns, in order; empty when the schema has nested groups (never flat).</summary>
    public List<ParquetLeaf> Columns { get; } = new();

    /// <summary>True when every column is flat text with a name of its own, and the row groups have a chunk for each.</summary>
    public bool AllFlatText { get; private set; }

    // parquet.thrift's numbers for the few values read here.
    private const int ByteArray = 6, Required = 0, Optional = 1, Utf8 = 0, StringLogical = 1;

    // Classes and loops rather than tuples, structs in lists and LINQ: each generic instantiation over a value
    // type is compiled when first used, and this runs once at the start of a build, where such compiling
    // took 8-10 ms.
    private sealed class SchemaEntry
    {
        public string Name = "";
        public int Type = -1, Repetition = -1, Children, Converted = -1;
        public bool StringLogical;
    }

    /// <summary>Reads the footer's Thrift (already checked well-formed by <see cref="ParquetFooter"/>).</summary>
    public static ParquetLayout Parse(ReadOnlySpan<byte> footer)
    {
        var layout = new ParquetLayout();
        var r = new ThriftCompact.Reader(footer);
        var schema = new List<SchemaEntry>();
        short last = 0;
        while (r.ReadFieldHeader(ref last, out short id, out byte type))
        {
            switch (id)
            {
                case 2 when type == ThriftCompact.List:
                    r.ReadListHeader(out _, out int n);
                    for (int i = 0; i < n; i++) schema.Add(ReadSchemaElement(ref r));
                    break;
                case 3 when type == ThriftCompact.I64: layout.NumRows = r.ReadI64(); break;
                case 4 when type == ThriftCompact.List:
                    r.ReadListHeader(out _, out int groups);
                    for (int i = 0; i < groups; i++) layout.RowGroups.Add(ReadRowGroup(ref r));
                    break;
                default: r.Skip(type); break;
            }
        }

        // The root, then its children; a child with children of its own is a nested group.
        bool flat = schema.Count > 1 && schema[0].Children == schema.Count - 1;
        for (int i = 1; flat && i < schema.Count; i++) flat = schema[i].Children == 0;
        if (!flat) return layout;
        var names = new HashSet<string>(StringComparer.Ordinal);
        bool allText = true;
        for (int i = 1; i < schema.Count; i++)
        {
            var e = schema[i];
            bool text = e.Type == ByteArray && e.Repetition is Required or Optional && (e.Converted == Utf8 || e.StringLogical);
            layout.Columns.Add(new ParquetLeaf(e.Name, e.Repetition == Optional, text));
            allText &= text && names.Add(e.Name);
        }
        // Each row group has a chunk for each column, in order, by name: as PlainTextChunk looks them up.
        foreach (var g in layout.RowGroups)
        {
            allText &= g.Columns.Count == layout.Columns.Count;
            for (int i = 0; allText && i < g.Columns.Count; i++)
                allText = g.Columns[i].MetaData?.PathInSchema is [var p] && p == layout.Columns[i].Name;
        }
        layout.AllFlatText = allText;
        return layout;
    }

    private static SchemaEntry ReadSchemaElement(ref ThriftCompact.Reader r)
    {
        var e = new SchemaEntry();
        short last = 0;
        while (r.ReadFieldHeader(ref last, out short id, out byte type))
        {
            switch (id)
            {
                case 1 when type == ThriftCompact.I32: e.Type = (int)r.ReadI64(); break;
                case 3 when type == ThriftCompact.I32: e.Repetition = (int)r.ReadI64(); break;
                case 4 when type == ThriftCompact.Binary: e.Name = System.Text.Encoding.UTF8.GetString(r.ReadBinary()); break;
                case 5 when type == ThriftCompact.I32: e.Children = (int)r.ReadI64(); break;
                case 6 when type == ThriftCompact.I32: e.Converted = (int)r.ReadI64(); break;
                case 10 when type == ThriftCompact.Struct:
                    // A union: the one field that is set says which logical type.
                    short inner = 0;
                    while (r.ReadFieldHeader(ref inner, out short kind, out byte t))
                    {
                        e.StringLogical |= kind == StringLogical;
                        r.Skip(t);
                    }
                    break;
                default: r.Skip(type); break;
            }
        }
        return e;
    }

    private static RowGroup ReadRowGroup(ref ThriftCompact.Reader r)
    {
        var g = new RowGroup { Columns = new List<ColumnChunk>() };
        short last = 0;
        while (r.ReadFieldHeader(ref last, out short id, out byte type))
        {
            switch (id)
            {
                case 1 when type == ThriftCompact.List:
                    r.ReadListHeader(out _, out int n);
                    for (int i = 0; i < n; i++) g.Columns.Add(ReadColumnChunk(ref r));
                    break;
                case 2 when type == ThriftCompact.I64: g.TotalByteSize = r.ReadI64(); break;
                case 3 when type == ThriftCompact.I64: g.NumRows = r.ReadI64(); break;
                default: r.Skip(type); break;
            }
        }
        return g;
    }

    private static ColumnChunk ReadColumnChunk(ref ThriftCompact.Reader r)
    {
        var c = new ColumnChunk();
        short last = 0;
        while (r.ReadFieldHeader(ref last, out short id, out byte type))
        {
            switch (id)
            {
                case 1 when type == ThriftCompact.Binary: c.FilePath = System.Text.Encoding.UTF8.GetString(r.ReadBinary()); break;
                case 2 when type == ThriftCompact.I64: c.FileOffset = r.ReadI64(); break;
                case 3 when type == ThriftCompact.Struct: c.MetaData = ReadColumnMetaData(ref r); break;
                default: r.Skip(type); break;
            }
        }
        return c;
    }

    private static ColumnMetaData ReadColumnMetaData(ref ThriftCompact.Reader r)
    {
        var m = new ColumnMetaData { Encodings = new List<Parquet.Meta.Encoding>(), PathInSchema = new List<string>() };
        short last = 0;
        while (r.ReadFieldHeader(ref last, out short id, out byte type))
        {
            switch (id)
            {
                case 1 when type == ThriftCompact.I32: m.Type = (Parquet.Meta.Type)r.ReadI64(); break;
                case 2 when type == ThriftCompact.List:
                    r.ReadListHeader(out _, out int encodings);
                    for (int i = 0; i < encodings; i++) m.Encodings.Add((Parquet.Meta.Encoding)r.ReadI64());
                    break;
                case 3 when type == ThriftCompact.List:
                    r.ReadListHeader(out _, out int parts);
                    for (int i = 0; i < parts; i++) m.PathInSchema.Add(System.Text.Encoding.UTF8.GetString(r.ReadBinary()));
                    break;
                case 4 when type == ThriftCompact.I32: m.Codec = (CompressionCodec)r.ReadI64(); break;
                case 5 when type == ThriftCompact.I64: m.NumValues = r.ReadI64(); break;
                case 6 when type == ThriftCompact.I64: m.TotalUncompressedSize = r.ReadI64(); break;
                case 7 when type == ThriftCompact.I64: m.TotalCompressedSize = r.ReadI64(); break;
                case 9 when type == ThriftCompact.I64: m.DataPageOffset = r.ReadI64(); break;
                case 10 when type == ThriftCompact.I64: m.IndexPageOffset = r.ReadI64(); break;
                case 11 when type == ThriftCompact.I64: m.DictionaryPageOffset = r.ReadI64(); break;
                default: r.Skip(type); break;
            }
        }
        return m;
    }
}
