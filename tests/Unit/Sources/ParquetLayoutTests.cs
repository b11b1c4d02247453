using Grouper.Format;
using Grouper.Keys;
using Grouper.Reading;
using Grouper.Schema;
using Grouper.Sources;
using Grouper.Writer;
using Parquet;
using Parquet.Schema;
using Xunit;

namespace Grouper.Tests.Sources;

/// <summary>
/// Files whose columns are all flat text or plain numbers are read without Parquet.Net: their footer by
/// <see cref="ParquetFooter.ReadLayout"/>, their chunks by PlainTextChunk, Parquet.Net opened only for a chunk
/// that needs it. What it reads must be what Parquet.Net reads.
/// </summary>
public class ParquetLayoutTests
{
    private static string? Label(long i) => i % 5 == 0 ? null : $"label-{i % 3} é";

    /// <summary>An all-text file as DuckDB writes one from a CSV read as text: 20,000 rows in row groups of 4,096.</summary>
    private static void DuckText(string path, string codec) => DuckSql.Run($"""
        COPY (SELECT 'user-' || (i % 7) AS user, i::VARCHAR AS n,
                     CASE WHEN i % 5 = 0 THEN NULL ELSE 'label-' || (i % 3) || ' é' END AS label,
                     repeat('x', (i % 40)::INT) || i AS body
              FROM range(20000) r(i))
        TO '{path}' (FORMAT parquet, COMPRESSION {codec}, ROW_GROUP_SIZE 4096)
        """);

    // Pages of version 2, text in DELTA_LENGTH_BYTE_ARRAY where a dictionary would not do.
    private const string V2 = "SNAPPY, PARQUET_VERSION V2";

    [Theory]
    [InlineData("SNAPPY", false)]
    [InlineData("UNCOMPRESSED", false)]
    [InlineData("ZSTD", false)]
    [InlineData("GZIP", false)]
    [InlineData("LZ4_RAW", false)]
    [InlineData("BROTLI", false)]
    [InlineData(V2, false)]
    public void An_all_text_file_reads_without_ParquetNet_unless_a_chunk_needs_it(string codec, bool needsParquetNet)
    {
        using var t = new TempDir();
        var path = t["text [all] .parquet"];
        DuckText(path, codec);
        using (var r = (ParquetRecordReader)SourceFiles.Open(path))
        {
            Assert.False(r.OpenedParquetNet);
            Assert.Equal(["user", "n", "label", "body"], Enumerable.Range(0, r.FieldCount).Select(r.GetName));
            Assert.All(Enumerable.Range(0, r.FieldCount), i => Assert.Equal(ValueKind.String, r.GetDeclaredColumn(i)!.Kind));
            long i = 0;
            while (r.Read())
            {
                Assert.Equal(i + 1, r.RowNumber);
                Assert.Equal($"user-{i % 7}", r.GetString(0));
                Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), r.GetChars(1).ToString());
                if (Label(i) is { } label) Assert.Equal(label, r.GetString(2)); else Assert.Equal(ValueKind.Null, r.GetKind(2));
                Assert.Equal(new string('x', (int)(i % 40)) + i, r.GetString(3));
                i++;
            }
            Assert.Equal(20000, i);
            Assert.True(r.RowGroupsReadAhead > 0);
            Assert.Equal(needsParquetNet, r.OpenedParquetNet);
        }

        // Built into groups: each user's records, in arrival order.
        using (var b = new GroupedDatasetBuilder(t["ds"], new BuildOptions { Key = KeySpec.FromColumns("user") }))
        {
            using (var r = SourceFiles.Open(path)) b.AddAll(r);
            Assert.Equal(20000, b.Complete().RecordCount);
        }
        using var ds = GroupedDataset.Open(t["ds"]);
        var three = ds.ReadRecords(ds.FindGroup("user-3")!).ToList();
        Assert.Equal(Enumerable.Range(0, 20000).Where(i => i % 7 == 3).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), three.Select(rec => (string)rec[1]!));
    }

    /// <summary>
    /// Chunks whose metadata lists BIT_PACKED, as parquet-mr (Spark, Hive) lists it for levels a column does not
    /// have, are read by Grouper; a page whose definition levels say BIT_PACKED goes to Parquet.Net, which reads
    /// the chunk. The file is DuckDB's, its footer and one page header edited in place (same sizes).
    /// </summary>
    [Fact]
    public void Chunks_listing_BIT_PACKED_read_without_ParquetNet_and_a_BIT_PACKED_page_through_it()
    {
        using var t = new TempDir();
        var path = t["parquet-mr like.parquet"];
        DuckText(path, "SNAPPY");
        var bytes = File.ReadAllBytes(path);
        int footerLength = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(bytes.Length - 8));
        int footer = bytes.Length - 8 - footerLength;
        // Every chunk's first listed encoding becomes BIT_PACKED (4, a one-byte zigzag varint like the others).
        var lists = FirstEncodingPositions(bytes.AsSpan(footer, footerLength));
        Assert.Equal(5 * 4, lists.Count); // 5 row groups, 4 columns
        foreach (int at in lists) bytes[footer + at] = 4 << 1;
        File.WriteAllBytes(path, bytes);

        void ReadAll(bool needsParquetNet)
        {
            using var r = (ParquetRecordReader)SourceFiles.Open(path);
            long i = 0;
            while (r.Read())
            {
                Assert.Equal($"user-{i % 7}", r.GetString(0));
                if (Label(i) is { } label) Assert.Equal(label, r.GetString(2)); else Assert.Equal(ValueKind.Null, r.GetKind(2));
                Assert.Equal(new string('x', (int)(i % 40)) + i, r.GetString(3));
                i++;
            }
            Assert.Equal(20000, i);
            Assert.Equal(needsParquetNet, r.OpenedParquetNet);
        }
        ReadAll(needsParquetNet: false);

        // The label column's first data page: its definition levels' encoding (DataPageHeader field 3) RLE -> BIT_PACKED.
        long pageAt;
        using (var fs = File.OpenRead(path))
            pageAt = ParquetFooter.ReadLayout(fs).RowGroups[0].Columns.Single(c => c.MetaData!.PathInSchema[0] == "label").MetaData!.DataPageOffset;
        int field3 = DefinitionLevelEncodingPosition(bytes.AsSpan((int)pageAt));
        Assert.Equal(3 << 1, bytes[pageAt + field3]); // RLE
        bytes[pageAt + field3] = 4 << 1;
        File.WriteAllBytes(path, bytes);
        ReadAll(needsParquetNet: true);
    }

    // Where each column chunk's encodings list has its first element, in a footer (FileMetaData, Thrift compact).
    private static List<int> FirstEncodingPositions(ReadOnlySpan<byte> footer)
    {
        var at = new List<int>();
        var r = new ThriftCompact.Reader(footer);
        short f0 = 0;
        while (r.ReadFieldHeader(ref f0, out short id, out byte type))
        {
            if (id != 4 || type != ThriftCompact.List) { r.Skip(type); continue; } // row_groups
            r.ReadListHeader(out _, out int groups);
            for (int g = 0; g < groups; g++)
            {
                short f1 = 0;
                while (r.ReadFieldHeader(ref f1, out short id1, out byte t1))
                {
                    if (id1 != 1 || t1 != ThriftCompact.List) { r.Skip(t1); continue; } // columns
                    r.ReadListHeader(out _, out int columns);
                    for (int c = 0; c < columns; c++)
                    {
                        short f2 = 0;
                        while (r.ReadFieldHeader(ref f2, out short id2, out byte t2))
                        {
                            if (id2 != 3 || t2 != ThriftCompact.Struct) { r.Skip(t2); continue; } // meta_data
                            short f3 = 0;
                            while (r.ReadFieldHeader(ref f3, out short id3, out byte t3))
                            {
                                if (id3 != 2 || t3 != ThriftCompact.List) { r.Skip(t3); continue; } // encodings
                                r.ReadListHeader(out _, out int n);
                                for (int k = 0; k < n; k++)
                                {
                                    if (k == 0) at.Add(r.Position);
                                    r.ReadI64();
                                }
                            }
                        }
                    }
                }
            }
        }
        return at;
    }

    // Where a data page header's definition_level_encoding value lies (PageHeader field 5, DataPageHeader field 3).
    private static int DefinitionLevelEncodingPosition(ReadOnlySpan<byte> header)
    {
        var r = new ThriftCompact.Reader(header);
        short f0 = 0;
        while (r.ReadFieldHeader(ref f0, out short id, out byte type))
        {
            if (id != 5 || type != ThriftCompact.Struct) { r.Skip(type); continue; }
            short f1 = 0;
            while (r.ReadFieldHeader(ref f1, out short id1, out byte t1))
            {
                if (id1 == 3) return r.Position;
                r.Skip(t1);
            }
        }
        throw new InvalidDataException("no data page header");
    }

    /// <summary>
    /// Booleans in RLE (what parquet-mr and Arrow write in pages of version 2; Parquet.Net 6.1 misreads them) and
    /// the deprecated LZ4 codec in Hadoop's framing (which Parquet.Net reads as a raw block, into wrong values)
    /// are read by Grouper, with the values written.
    /// </summary>
    [Theory]
    [InlineData(ParquetSharp.Compression.Lz4Hadoop)]
    [InlineData(ParquetSharp.Compression.Lz4)] // LZ4_RAW
    public void Booleans_in_RLE_and_LZ4_pages_read_without_ParquetNet(ParquetSharp.Compression lz4)
    {
        using var t = new TempDir();
        var path = t["rle and lz4.parquet"];
        const int rows = 20_000;
        bool? Flag(int i) => i % 5 == 0 ? null : i % 3 == 0 || i % 1000 < 40;
        using (var props = new ParquetSharp.WriterPropertiesBuilder().DataPageVersion(ParquetSharp.ParquetDataPageVersion.V2).DisableDictionary("flag")
                   .Encoding("flag", ParquetSharp.Encoding.Rle).Compression(ParquetSharp.Compression.Snappy).Compression("n", lz4).Build())
        using (var w = new ParquetSharp.ParquetFileWriter(path,
            [new ParquetSharp.Column<string>("user"), new ParquetSharp.Column<bool?>("flag"), new ParquetSharp.Column<long>("n")], props))
        {
            for (int start = 0; start < rows; start += 4096)
            {
                var range = Enumerable.Range(start, Math.Min(4096, rows - start));
                using var rg = w.AppendRowGroup();
                using (var c = rg.NextColumn().LogicalWriter<string>()) c.WriteBatch(range.Select(i => $"user-{i % 7}").ToArray());
                using (var c = rg.NextColumn().LogicalWriter<bool?>()) c.WriteBatch(range.Select(Flag).ToArray());
                using (var c = rg.NextColumn().LogicalWriter<long>()) c.WriteBatch(range.Select(i => (long)i * 31).ToArray());
            }
            w.Close();
        }
        using var r = (ParquetRecordReader)SourceFiles.Open(path);
        int n = 0;
        while (r.Read())
        {
            Assert.Equal($"user-{n % 7}", r.GetString(0));
            if (Flag(n) is bool f) Assert.Equal(f, r.GetBoolean(1)); else Assert.Equal(ValueKind.Null, r.GetKind(1));
            Assert.Equal(n * 31L, r.GetInt64(2));
            n++;
        }
        Assert.Equal(rows, n);
        Assert.False(r.OpenedParquetNet);
    }

    /// <summary>
    /// DELTA_BYTE_ARRAY of fixed-length values (decimals of 29 digits, as Arrow writes them when asked, and as
    /// parquet-mr writes fixed-length columns in pages of version 2), which Parquet.Net 6.1 cannot read, read by
    /// Grouper with the values written.
    /// </summary>
    [Fact]
    public void Fixed_length_DELTA_BYTE_ARRAY_reads_without_ParquetNet()
    {
        using var t = new TempDir();
        var path = t["delta [decimals].parquet"];
        decimal? Amount(int i) => i % 9 == 0 ? null : (i - 500) * 31.125m + (i % 2 == 0 ? 1e24m : 0);
        using (var props = new ParquetSharp.WriterPropertiesBuilder().DisableDictionary("n").Encoding("n", ParquetSharp.Encoding.DeltaByteArray).Build())
        using (var w = new ParquetSharp.ParquetFileWriter(path, [new ParquetSharp.Column<string>("user"), new ParquetSharp.Column<decimal?>("n", ParquetSharp.LogicalType.Decimal(29, 3))], props))
        {
            using var rg = w.AppendRowGroup();
            using (var c = rg.NextColumn().LogicalWriter<string>()) c.WriteBatch(Enumerable.Range(0, 1000).Select(i => $"user-{i % 7}").ToArray());
            using (var c = rg.NextColumn().LogicalWriter<decimal?>()) c.WriteBatch(Enumerable.Range(0, 1000).Select(Amount).ToArray());
            w.Close();
        }
        using var r = (ParquetRecordReader)SourceFiles.Open(path);
        int n = 0;
        while (r.Read())
        {
            Assert.Equal($"user-{n % 7}", r.GetString(0));
            if (Amount(n) is decimal d) Assert.Equal(d, r.GetDecimal(1)); else Assert.Equal(ValueKind.Null, r.GetKind(1));
            n++;
        }
        Assert.Equal(1000, n);
        Assert.False(r.OpenedParquetNet);
    }

    [Fact]
    public async Task The_layout_is_the_metadata_ParquetNet_reads()
    {
        using var t = new TempDir();
        DuckText(t["duck-text.parquet"], "SNAPPY");
        DuckSql.Run($"""
            COPY (SELECT 'u' || (i % 3) AS user, i AS n, [i] AS l, 'x'::BLOB AS blob FROM range(5000) r(i))
            TO '{t["duck-mixed.parquet"]}' (FORMAT parquet, ROW_GROUP_SIZE 2048)
            """);
        // Parquet.Net's own: a required and an optional string column.
        var schema = new ParquetSchema(new DataField<string>("a", false), new DataField<string>("b", true));
        await using (var fs = File.Create(t["parquet-net.parquet"]))
        await using (var w = await ParquetWriter.CreateAsync(schema, fs))
            for (int g = 0; g < 3; g++)
            {
                using var rg = w.CreateRowGroup();
                await rg.WriteAsync(schema.DataFields[0], Enumerable.Range(0, 100).Select(i => $"a{g}-{i}").ToArray());
                await rg.WriteAsync(schema.DataFields[1], Enumerable.Range(0, 100).Select(i => i % 4 == 0 ? null : $"b{i}").ToArray());
            }
        // Arrow's (ParquetSharp): strings and a binary column, which is not text.
        using (var w = new ParquetSharp.ParquetFileWriter(t["arrow.parquet"], [new ParquetSharp.Column<string>("s"), new ParquetSharp.Column<byte[]>("bin")]))
        {
            using var rg = w.AppendRowGroup();
            using (var c = rg.NextColumn().LogicalWriter<string>()) c.WriteBatch(["x", "y"]);
            using (var c = rg.NextColumn().LogicalWriter<byte[]>()) c.WriteBatch([[1], [2]]);
            w.Close();
        }

        // DuckDB's numbers: INTEGER, BIGINT, DOUBLE, FLOAT are Grouper's to read; so are, annotated, a UBIGINT, a
        // DECIMAL, a TIMESTAMP and a SMALLINT, booleans, decimals of each physical type, and times (TIME, TIMETZ).
        DuckSql.Run($"""
            COPY (SELECT i::INTEGER AS a, i::BIGINT AS b, (i * 0.5)::DOUBLE AS c, (i * 0.25)::FLOAT AS d, i::VARCHAR AS e, DATE '1969-12-01' + i::INT AS f FROM range(100) r(i))
            TO '{t["duck-numbers.parquet"]}' (FORMAT parquet)
            """);
        DuckSql.Run($"""
            COPY (SELECT i::UBIGINT AS a, i::DECIMAL(10, 2) AS b, TIMESTAMP '2024-01-01' AS c, i::SMALLINT AS d, i % 2 = 0 AS e,
                         i::DECIMAL(4, 1) AS f, i::DECIMAL(30, 5) AS g FROM range(100) r(i))
            TO '{t["duck-annotated.parquet"]}' (FORMAT parquet)
            """);
        DuckSql.Run($"COPY (SELECT i::VARCHAR AS a, TIME '12:00:00' AS b, TIMETZ '12:00:00+02' AS c FROM range(100) r(i)) TO '{t["duck-time.parquet"]}' (FORMAT parquet)");
        foreach (var (file, readable) in new[] { ("duck-text.parquet", true), ("duck-mixed.parquet", false), ("parquet-net.parquet", true), ("arrow.parquet", false),
                                                ("duck-numbers.parquet", true), ("duck-annotated.parquet", true), ("duck-time.parquet", true) })
        {
            await using var fs = File.OpenRead(t[file]);
            var layout = ParquetFooter.ReadLayout(fs);
            // With the options the sources read with (dates as DateOnly).
            await using var theirs = await ParquetReader.CreateAsync(fs, new ParquetOptions { UseDateOnlyTypeForDates = true }, leaveStreamOpen: true);
            var m = theirs.Metadata!;
            Assert.True(readable == layout.ReadableByGrouper, file);
            Assert.Equal(m.NumRows, layout.NumRows);
            Assert.Equal(m.RowGroups.Count, layout.RowGroups.Count);
            for (int g = 0; g < m.RowGroups.Count; g++)
            {
                var (a, b) = (layout.RowGroups[g], m.RowGroups[g]);
                Assert.Equal(b.NumRows, a.NumRows);
                Assert.Equal(b.TotalByteSize, a.TotalByteSize);
                Assert.Equal(b.Columns.Count, a.Columns.Count);
                for (int c = 0; c < b.Columns.Count; c++)
                {
                    var (x, y) = (a.Columns[c], b.Columns[c]);
                    Assert.Equal(y.FilePath, x.FilePath);
                    Assert.Equal(y.FileOffset, x.FileOffset);
                    Assert.Equal(y.MetaData!.Type, x.MetaData!.Type);
                    Assert.Equal(y.MetaData.Encodings, x.MetaData.Encodings);
                    Assert.Equal(y.MetaData.PathInSchema, x.MetaData.PathInSchema);
                    Assert.Equal(y.MetaData.Codec, x.MetaData.Codec);
                    Assert.Equal(y.MetaData.NumValues, x.MetaData.NumValues);
                    Assert.Equal(y.MetaData.TotalUncompressedSize, x.MetaData.TotalUncompressedSize);
                    Assert.Equal(y.MetaData.TotalCompressedSize, x.MetaData.TotalCompressedSize);
                    Assert.Equal(y.MetaData.DataPageOffset, x.MetaData.DataPageOffset);
                    Assert.Equal(y.MetaData.IndexPageOffset, x.MetaData.IndexPageOffset);
                    Assert.Equal(y.MetaData.DictionaryPageOffset, x.MetaData.DictionaryPageOffset);
                }
            }
            if (layout.Columns.Count == 0) continue; // nested: never read without Parquet.Net
            // The columns, as Parquet.Net's schema declares them: every kind Grouper reads a column as is the
            // kind a source read through Parquet.Net gives it (ParquetRecordReader.ToSpec).
            var fields = theirs.Schema.DataFields;
            Assert.Equal(fields.Select(f => (f.Name, f.IsNullable)), layout.Columns.Select(c => (c.Name, c.Nullable)));
            for (int c = 0; c < fields.Length; c++)
            {
                if (layout.Columns[c].Kind is not { } kind) continue;
                var spec = ParquetRecordReader.ToSpec(fields[c], file);
                Assert.Equal(spec.Kind, kind);
                if (kind == ValueKind.Timestamp) Assert.Equal((spec.Unit, spec.AdjustedToUtc), (layout.Columns[c].Unit, layout.Columns[c].AdjustedToUtc));
                if (kind == ValueKind.Time) Assert.Equal(spec.Unit, layout.Columns[c].ToSpec().Unit);
                Assert.Equal((spec.Precision, spec.Scale), (layout.Columns[c].ToSpec().Precision, layout.Columns[c].ToSpec().Scale));
            }
        }

        // A file with a column that is not flat text is Parquet.Net's from the start.
        using (var r = (ParquetRecordReader)SourceFiles.Open(t["duck-mixed.parquet"])) Assert.True(r.OpenedParquetNet);
        using (var r = (ParquetRecordReader)SourceFiles.Open(t["parquet-net.parquet"]))
        {
            Assert.False(r.OpenedParquetNet);
            var rows = new List<(string, string?)>();
            while (r.Read()) rows.Add((r.GetString(0), r.GetKind(1) == ValueKind.Null ? null : r.GetString(1)));
            Assert.Equal(Enumerable.Range(0, 3).SelectMany(g => Enumerable.Range(0, 100).Select(i => ($"a{g}-{i}", i % 4 == 0 ? null : $"b{i}"))), rows);
            Assert.False(r.OpenedParquetNet);
        }
    }

    [Theory]
    [InlineData("SNAPPY")]
    [InlineData("ZSTD")]
    [InlineData("LZ4_RAW")]
    [InlineData("BROTLI")]
    public void Numbers_read_without_ParquetNet_are_the_numbers_written(string codec)
    {
        using var t = new TempDir();
        var path = t["numbers.parquet"];
        // Dictionaries (few distinct values) and PLAIN pages, nulls, 5 row groups.
        DuckSql.Run($"""
            COPY (SELECT 'k' || (i % 5) AS k, i::INTEGER AS a, CASE WHEN i % 7 = 0 THEN NULL ELSE (i % 3)::BIGINT END AS b,
                         (-i * 1000000007)::BIGINT AS c, (i * 0.5)::DOUBLE AS d, CASE WHEN i % 4 = 0 THEN NULL ELSE (i * 0.25)::FLOAT END AS e,
                         CASE WHEN i % 9 = 0 THEN NULL ELSE DATE '1900-01-01' + (i * 3)::INT END AS f
                  FROM range(20000) r(i))
            TO '{path}' (FORMAT parquet, COMPRESSION {codec}, ROW_GROUP_SIZE 4096)
            """);
        using var r = (ParquetRecordReader)SourceFiles.Open(path);
        Assert.False(r.OpenedParquetNet);
        Assert.Equal([ValueKind.String, ValueKind.Int32, ValueKind.Int64, ValueKind.Int64, ValueKind.Double, ValueKind.Float, ValueKind.Date],
            Enumerable.Range(0, r.FieldCount).Select(i => r.GetDeclaredColumn(i)!.Kind));
        long n = 0;
        while (r.Read())
        {
            Assert.Equal($"k{n % 5}", r.GetString(0));
            Assert.Equal(n, r.GetInt64(1));
            if (n % 7 == 0) Assert.Equal(ValueKind.Null, r.GetKind(2)); else Assert.Equal(n % 3, r.GetInt64(2));
            Assert.Equal(-n * 1000000007, r.GetInt64(3));
            Assert.Equal(n * 0.5, r.GetDouble(4));
            if (n % 4 == 0) Assert.Equal(ValueKind.Null, r.GetKind(5)); else Assert.Equal((double)(float)(n * 0.25), r.GetDouble(5));
            if (n % 9 == 0) Assert.Equal(ValueKind.Null, r.GetKind(6)); else Assert.Equal(new DateOnly(1900, 1, 1).AddDays((int)n * 3), r.GetDate(6));
            n++;
        }
        Assert.Equal(20000, n);
        Assert.False(r.OpenedParquetNet);
    }

    /// <summary>Booleans, decimals of each physical type (INT32, INT64, FIXED_LEN_BYTE_ARRAY) and times as Parquet.Net reads them, in a Snappy and a Zstd file.</summary>
    [Fact]
    public void Booleans_decimals_and_times_read_without_ParquetNet_are_the_values_ParquetNet_reads()
    {
        using var t = new TempDir();
        foreach (var codec in new[] { "SNAPPY", "ZSTD" })
            DuckSql.Run($"""
                COPY (SELECT 'k' || (i % 5) AS k, i % 3 = 0 AS a, CASE WHEN i % 7 = 0 THEN NULL ELSE i % 2 = 1 END AS b,
                             (((i * 37) % 199999 - 99999) * 0.01)::DECIMAL(7, 2) AS c,
                             CASE WHEN i % 4 = 0 THEN NULL ELSE ((i * 1000000007 - 5000000000000) * 0.0001)::DECIMAL(18, 4) END AS d,
                             ((i - 10000) * 123456789012345 * 0.001)::DECIMAL(28, 6) AS e,
                             CASE WHEN i % 5 = 0 THEN NULL ELSE (i * 7)::DECIMAL(38, 10) - 1000 END AS f,
                             (i % 11)::DECIMAL(3, 0) AS g,
                             CASE WHEN i % 6 = 0 THEN NULL ELSE TIME '00:00:00.000001' + INTERVAL (i * 4321987) MICROSECOND END AS h
                      FROM range(20000) r(i))
                TO '{t[codec + ".parquet"]}' (FORMAT parquet, COMPRESSION {codec}, ROW_GROUP_SIZE 4096)
                """);
        using var own = (ParquetRecordReader)SourceFiles.Open(t["SNAPPY.parquet"]);
        using var zstd = (ParquetRecordReader)SourceFiles.Open(t["ZSTD.parquet"]);
        using var theirs = new ParquetRecordReader(t["SNAPPY.parquet"], parquetNetOnly: true);
        Assert.False(own.OpenedParquetNet);
        var specs = Enumerable.Range(0, own.FieldCount).Select(i => own.GetDeclaredColumn(i)!).ToList();
        Assert.Equal(Enumerable.Range(0, theirs.FieldCount).Select(i => theirs.GetDeclaredColumn(i)!), specs);
        Assert.Equal(Enumerable.Range(0, zstd.FieldCount).Select(i => zstd.GetDeclaredColumn(i)!), specs);
        Assert.Equal([ValueKind.String, ValueKind.Boolean, ValueKind.Boolean, ValueKind.Decimal, ValueKind.Decimal, ValueKind.Decimal, ValueKind.Decimal, ValueKind.Decimal, ValueKind.Time],
            specs.Select(c => c.Kind));
        long n = 0, trues = 0;
        while (own.Read())
        {
            Assert.True(theirs.Read());
            Assert.True(zstd.Read());
            foreach (var mine in new[] { own, zstd })
                for (int c = 1; c < specs.Count; c++)
                {
                    Assert.Equal(theirs.GetKind(c), mine.GetKind(c));
                    if (mine.GetKind(c) == ValueKind.Null) continue;
                    if (specs[c].Kind == ValueKind.Boolean) Assert.Equal(theirs.GetBoolean(c), mine.GetBoolean(c));
                    else if (specs[c].Kind == ValueKind.Time) Assert.Equal(theirs.GetTime(c), mine.GetTime(c));
                    else Assert.Equal(theirs.GetDecimal(c), mine.GetDecimal(c));
                }
            if (own.GetBoolean(1)) trues++;
            n++;
        }
        Assert.False(theirs.Read());
        Assert.False(zstd.Read());
        Assert.Equal(20000, n);
        Assert.Equal(6667, trues);
        Assert.False(own.OpenedParquetNet);
        Assert.False(zstd.OpenedParquetNet);
        Assert.True(theirs.OpenedParquetNet);

        // A decimal of more digits than .NET's decimal holds: an error naming the row and the column.
        DuckSql.Run($"COPY (SELECT 'k' AS k, CASE WHEN i = 3 THEN 10::DECIMAL(38, 0) ^ 30 ELSE i END::DECIMAL(38, 0) AS big FROM range(5) r(i)) TO '{t["big.parquet"]}' (FORMAT parquet)");
        var ex = Assert.Throws<GrouperException>(() => { using var r = SourceFiles.Open(t["big.parquet"]); while (r.Read()) _ = r.GetDecimal(1); });
        Assert.Contains("'big'", ex.Message);
        Assert.Contains("Row 4 of", ex.Message);
    }

    [Fact]
    public void A_decimal_of_a_scale_beyond_net_s_is_refused_naming_its_column()
    {
        // Every value failed with .NET's "Value was either too large or too small for a Decimal", naming no column.
        using var t = new TempDir();
        DuckSql.Run($"COPY (SELECT 1 AS id, 0.5::DECIMAL(38,29) AS dd) TO '{t["d.parquet"]}' (FORMAT parquet)");
        var ex = Assert.Throws<GrouperException>(() => { using var r = SourceFiles.Open(t["d.parquet"]); while (r.Read()) r.GetValue(1); });
        Assert.Equal(GrouperErrorKind.SchemaMismatch, ex.Kind);
        Assert.Contains($"Column 'dd' of {t["d.parquet"]} is decimal(38,29)", ex.Message);
        DuckSql.Run($"COPY (SELECT 1 AS id, 0.5::DECIMAL(38,28) AS dd) TO '{t["ok.parquet"]}' (FORMAT parquet)");
        using (var r = SourceFiles.Open(t["ok.parquet"]))
        {
            Assert.True(r.Read());
            Assert.Equal(0.5m, r.GetDecimal(1));
        }
    }

    [Fact]
    public void A_nested_date_or_timestamp_beyond_net_s_years_is_said_as_a_flat_one_is()
    {
        // .NET's words came out: "Specified argument was out of the range of valid values. (Parameter 'days')".
        using var t = new TempDir();
        foreach (var (value, what) in new[] { ("DATE 'infinity'", "a date"), ("TIMESTAMP '12000-01-01'", "a timestamp") })
        {
            DuckSql.Run($"COPY (SELECT 1 AS id, [{value}] AS lx) TO '{t["inf.parquet"]}' (FORMAT parquet)");
            var ex = Assert.Throws<GrouperException>(() => { using var r = SourceFiles.Open(t["inf.parquet"]); while (r.Read()) r.GetValue(1); });
            Assert.Contains($"holds {what} outside the years .NET can hold (1-9999)", ex.Message);
            Assert.DoesNotContain("Parameter", ex.Message);
        }
    }

    [Fact]
    public void Map_keys_of_every_type_are_the_text_of_their_json()
    {
        // Their .NET text made every blob key "System.Byte[]" (one name for all: engines keep the last value) and
        // timestamps "01/02/2024 03:04:05" (fractions gone, so two keys one).
        using var t = new TempDir();
        DuckSql.Run($$"""
            COPY (SELECT 1 AS id, MAP {'\xAA'::BLOB: 1, '\xBB'::BLOB: 2} AS mb,
                         MAP {TIMESTAMP '2024-01-02 03:04:05.1': 'a', TIMESTAMP '2024-01-02 03:04:05.2': 'b'} AS mt,
                         MAP {DATE '2024-03-04': 1} AS md, MAP {true: 1} AS mbo, MAP {7: 'x'} AS mi) TO '{{t["maps.parquet"]}}' (FORMAT parquet)
            """);
        using var r = SourceFiles.Open(t["maps.parquet"]);
        Assert.True(r.Read());
        string[] Names(string column) =>
            System.Text.Json.JsonDocument.Parse(r.GetString(r.GetOrdinal(column))).RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal([Convert.ToBase64String([0xAA]), Convert.ToBase64String([0xBB])], Names("mb"));
        var times = Names("mt");
        Assert.Equal(2, times.Distinct().Count());
        Assert.All(times, n => Assert.StartsWith("2024-01-02T03:04:05.", n));
        Assert.Equal(["2024-03-04"], Names("md"));
        Assert.Equal(["true"], Names("mbo"));
        Assert.Equal(["7"], Names("mi"));

        // Times inside lists and structs were their micro- or nanoseconds since midnight, bare numbers.
        DuckSql.Run($"COPY (SELECT 1 AS id, [TIME '01:02:03.5'] AS l_tm, {{'tm': TIME '01:02:03'}} AS st, [TIME '23:59:59'::TIME_NS] AS l_ns FROM range(1)) TO '{t["times.parquet"]}' (FORMAT parquet)");
        using var times2 = SourceFiles.Open(t["times.parquet"]);
        Assert.True(times2.Read());
        Assert.Equal(["[\"01:02:03.5\"]", "{\"tm\":\"01:02:03\"}", "[\"23:59:59\"]"], Enumerable.Range(1, 3).Select(times2.GetString));
    }

    [Fact]
    public void Files_whose_times_differ_in_unit_or_zone_are_refused()
    {
        // The first file's type was taken: microseconds cut to its milliseconds, a UTC instant stored as a wall-clock
        // time, without a word, where int32 against int64 is refused.
        using var t = new TempDir();
        DuckSql.Run($"""
            COPY (SELECT 'a' AS k, '2024-01-01 00:00:00.123'::TIMESTAMP_MS AS ts, TIME '01:02:03' AS tm) TO '{t["ms.parquet"]}' (FORMAT parquet);
            COPY (SELECT 'b' AS k, TIMESTAMP '2024-01-01 00:00:00.123456' AS ts, TIME '01:02:03' AS tm) TO '{t["us.parquet"]}' (FORMAT parquet);
            COPY (SELECT 'c' AS k, TIMESTAMPTZ '2024-01-01 00:00:00.123456+00' AS ts, TIME '01:02:03' AS tm) TO '{t["tz.parquet"]}' (FORMAT parquet);
            COPY (SELECT 'd' AS k, TIMESTAMP '2024-01-01 00:00:00.5' AS ts, TIME '01:02:03' AS tm) TO '{t["us2.parquet"]}' (FORMAT parquet);
            """);
        foreach (var (first, second, says) in new[]
        {
            ("ms.parquet", "us.parquet", "is a timestamp in micros (no time zone) in"),
            ("us.parquet", "tz.parquet", "is a timestamp in micros (UTC) in"),
        })
        {
            using var b = new GroupedDatasetBuilder(t["ds " + second], new BuildOptions { Key = KeySpec.FromColumns("k") });
            using (var r = SourceFiles.Open(t[first])) b.AddAll(r);
            using var r2 = SourceFiles.Open(t[second]);
            var ex = Assert.Throws<GrouperException>(() => b.AddAll(r2));
            Assert.Equal(GrouperErrorKind.SchemaMismatch, ex.Kind);
            Assert.Contains($"Column 'ts' {says} {t[second]} but a timestamp in ", ex.Message);
        }
        // The same types in both: one dataset.
        using (var b = new GroupedDatasetBuilder(t["same"], new BuildOptions { Key = KeySpec.FromColumns("k") }))
        {
            foreach (var f in new[] { "us.parquet", "us2.parquet" })
                using (var r = SourceFiles.Open(t[f])) b.AddAll(r);
            Assert.Equal(2, b.Complete().RecordCount);
        }
        // Nanoseconds below .NET's tick are dropped toward the past, as below any unit: -1 ns is the tick before 1970,
        // not 1970-01-01 00:00:00 itself.
        DuckSql.Run($"COPY (SELECT '1969-12-31 23:59:59.999999999'::TIMESTAMP_NS AS ns, '2024-01-02 03:04:05.123456799'::TIMESTAMP_NS AS later) TO '{t["ns.parquet"]}' (FORMAT parquet)");
        using (var r = SourceFiles.Open(t["ns.parquet"]))
        {
            Assert.True(r.Read());
            Assert.Equal(DateTime.UnixEpoch.Ticks - 1, r.GetDateTime(0).Ticks);
            Assert.Equal(new DateTime(2024, 1, 2, 3, 4, 5).Ticks + 1_234_567, r.GetDateTime(1).Ticks);
        }
        // A time of day is written as one, without a zone: engines read TIME back, not TIME WITH TIME ZONE.
        var shards = Path.Combine(t["same"], "data", "*.parquet");
        Assert.Equal(["TIME", "01:02:03"], DuckSql.Row($"SELECT typeof(tm), tm::VARCHAR FROM '{shards}' LIMIT 1"));
    }

    [Fact]
    public void A_key_of_timestamps_is_the_same_text_in_every_time_zone()
    {
        using var t = new TempDir();
        DuckSql.Run($"""
            COPY (SELECT TIMESTAMP '2020-02-29 12:00:00' + INTERVAL (i % 2) HOUR AS wall, TIMESTAMPTZ '2020-02-29 12:00:00+00' AS utc, i AS n
                  FROM range(6) r(i)) TO '{t["times.parquet"]}' (FORMAT parquet)
            """);
        // A timestamp of no time zone was keyed with the building machine's offset ("+00:00" here, "-05:00" in New
        // York), so the same file gave other keys, other shards, elsewhere: its key is its wall-clock time.
        Assert.Equal(["2020-02-29T12:00:00.0000000", "2020-02-29T13:00:00.0000000"], Keys("wall"));
        Assert.Equal(["2020-02-29T12:00:00.0000000Z"], Keys("utc"));
        // Decimals with their column's scale, narrow or wide (28 whole digits and a scale of 10 are more than .NET's
        // decimal holds at that scale: such keys lost their trailing zeros, ...678 beside ...678.1).
        DuckSql.Run($"""
            COPY (SELECT * FROM (VALUES (1.25::DECIMAL(4,2), 1234567890123456789012345678.1::DECIMAL(38,10)), (0::DECIMAL(4,2), 1234567890123456789012345678::DECIMAL(38,10))) v(narrow, wide))
            TO '{t["dec.parquet"]}' (FORMAT parquet)
            """);
        foreach (var (column, expected) in new[] { ("narrow", new[] { "0.00", "1.25" }), ("wide", ["1234567890123456789012345678.0000000000", "1234567890123456789012345678.1000000000"]) })
        {
            var dest = t["dec " + column];
            using (var b = new GroupedDatasetBuilder(dest, new BuildOptions { Key = KeySpec.FromColumns(column) }))
            {
                using (var r = SourceFiles.Open(t["dec.parquet"])) b.AddAll(r);
                b.Complete();
            }
            using var ds = GroupedDataset.Open(dest);
            Assert.Equal(expected, ds.EnumerateGroups().Select(g => g.Key));
        }
        // A local time given as a key (PowerShell's Get-Date) is the instant it names, as it is stored: in UTC.
        var local = new DateTime(2020, 2, 29, 12, 0, 0, DateTimeKind.Utc).ToLocalTime();
        Assert.Equal("2020-02-29T12:00:00.0000000Z", KeyText.Format(local));

        List<string> Keys(string column)
        {
            var dest = t["by " + column];
            using (var b = new GroupedDatasetBuilder(dest, new BuildOptions { Key = KeySpec.FromColumns(column) }))
            {
                using (var r = SourceFiles.Open(t["times.parquet"])) b.AddAll(r);
                b.Complete();
            }
            Assert.Empty(DatasetVerifier.Verify(dest));
            using var ds = GroupedDataset.Open(dest);
            return ds.EnumerateGroups().Select(g => g.Key).ToList();
        }
    }

    /// <summary>Timestamps of every unit, UTC or not, as Parquet.Net reads them: the same instants, the same kinds.</summary>
    [Fact]
    public async Task Timestamps_read_without_ParquetNet_are_the_DateTimes_ParquetNet_reads()
    {
        using var t = new TempDir();
        var path = t["times.parquet"];
        DuckSql.Run($"""
            COPY (SELECT 'k' || (i % 3) AS k, TIMESTAMP '2024-02-29 23:59:59.123456' + INTERVAL (i * 7919) SECOND AS local_us,
                         CASE WHEN i % 5 = 0 THEN NULL ELSE TIMESTAMPTZ '1969-12-31 23:00:00.5+00' + INTERVAL (i) MILLISECOND END AS utc_us,
                         (TIMESTAMP '2001-01-01' + INTERVAL (i) SECOND)::TIMESTAMP_MS AS ms,
                         (TIMESTAMP '2030-06-01 12:00:00.123456' + INTERVAL (i) MICROSECOND)::TIMESTAMP_NS AS ns
                  FROM range(10000) r(i))
            TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 4096)
            """);
        await using (var fs = File.OpenRead(path)) Assert.True(ParquetFooter.ReadLayout(fs).ReadableByGrouper);

        // Parquet.Net's values, column by column.
        var theirs = new List<DateTime?[]>();
        await using (var fs = File.OpenRead(path))
        await using (var reader = await ParquetReader.CreateAsync(fs, new ParquetOptions { UseDateOnlyTypeForDates = true }))
        {
            var fields = reader.Schema.DataFields;
            for (int c = 1; c < fields.Length; c++)
            {
                var all = new List<DateTime?>();
                for (int g = 0; g < reader.RowGroupCount; g++)
                {
                    using var rg = reader.OpenRowGroupReader(g);
                    var values = new DateTime?[(int)rg.RowCount];
                    await rg.ReadAsync<DateTime>(fields[c], values.AsMemory(), null, default);
                    all.AddRange(values);
                }
                theirs.Add(all.ToArray());
            }
        }
        using var r = (ParquetRecordReader)SourceFiles.Open(path);
        Assert.Equal([TimeUnit.Micros, TimeUnit.Micros, TimeUnit.Millis, TimeUnit.Nanos], Enumerable.Range(1, 4).Select(i => r.GetDeclaredColumn(i)!.Unit));
        Assert.Equal([false, true, false, false], Enumerable.Range(1, 4).Select(i => r.GetDeclaredColumn(i)!.AdjustedToUtc));
        int n = 0;
        while (r.Read())
        {
            for (int c = 1; c <= 4; c++)
            {
                var expected = theirs[c - 1][n];
                if (expected is null) { Assert.Equal(ValueKind.Null, r.GetKind(c)); continue; }
                var mine = r.GetDateTime(c);
                Assert.Equal(expected.Value, mine);
                // Parquet.Net gives a timestamp not adjusted to UTC this machine's zone (Local); Grouper none.
                Assert.Equal(c == 2 ? expected.Value.Kind : DateTimeKind.Unspecified, mine.Kind);
            }
            n++;
        }
        Assert.Equal(10000, n);
        Assert.False(r.OpenedParquetNet);
    }

    // INT96 timestamps as Spark writes them: nanoseconds within the day, then the Julian day. Nulls, the first and
    // last instants .NET holds, an instant just before the epoch of less than a microsecond, fractions of a
    // microsecond, and a spread of ordinary ones.
    private static ParquetSharp.Int96? Int96At(int i)
    {
        static ParquetSharp.Int96 Of(int day, long nanos) => new((int)nanos, (int)(nanos >> 32), day);
        return i switch
        {
            _ when i % 7 == 0 => null,
            1 => Of(1_721_426, 0),                       // 0001-01-01
            2 => Of(5_373_484, 86_399_999_999_999),      // 9999-12-31 23:59:59.999999999
            3 => Of(2_440_587, 86_399_999_999_500),      // half a microsecond before the epoch
            4 => Of(2_440_588, 999),
            5 => Of(2_440_588, 1_999),
            _ => Of(2_460_311 + i % 40, i * 7_777_777_777L % 86_400_000_000_000 + i % 1000),
        };
    }

    // The instant an INT96 stands for, by the calendar, to the microsecond below it (the column's unit).
    private static DateTime Int96Instant(ParquetSharp.Int96 v)
    {
        long nanos = (uint)v.A | (long)v.B << 32;
        var exact = new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddDays(v.C - 2_440_588).AddTicks(nanos / 100);
        return new DateTime(exact.Ticks - exact.Ticks % 10, DateTimeKind.Utc);
    }

    private static void WriteInt96(string path, int rows, bool version2, ParquetSharp.Compression codec, Func<int, ParquetSharp.Int96?> ts)
    {
        var builder = new ParquetSharp.WriterPropertiesBuilder().Compression(codec).DisableDictionary("plain");
        if (version2) builder = builder.DataPageVersion(ParquetSharp.ParquetDataPageVersion.V2);
        using var props = builder.Build();
        using var w = new ParquetSharp.ParquetFileWriter(path,
            [new ParquetSharp.Column<string>("user"), new ParquetSharp.Column<ParquetSharp.Int96?>("ts"), new ParquetSharp.Column<ParquetSharp.Int96>("plain")], props);
        for (int start = 0; start < rows; start += 1000)
        {
            var range = Enumerable.Range(start, Math.Min(1000, rows - start)).ToArray();
            using var rg = w.AppendRowGroup();
            using (var c = rg.NextColumn().LogicalWriter<string>()) c.WriteBatch(range.Select(i => $"user-{i % 7}").ToArray());
            using (var c = rg.NextColumn().LogicalWriter<ParquetSharp.Int96?>()) c.WriteBatch(range.Select(ts).ToArray());
            using (var c = rg.NextColumn().LogicalWriter<ParquetSharp.Int96>()) c.WriteBatch(range.Select(i => ts(i + 1) ?? ts(2)!.Value).ToArray());
        }
        w.Close();
    }

    /// <summary>
    /// INT96 timestamps (Spark's default, Hive's and Impala's), in dictionaries and PLAIN, pages of both versions,
    /// read by Grouper as Parquet.Net reads them: a UTC timestamp of microseconds, each the instant written to the
    /// microsecond below. A build from them is byte for byte the build through Parquet.Net.
    /// </summary>
    [Theory]
    [InlineData(false, ParquetSharp.Compression.Snappy)]
    [InlineData(true, ParquetSharp.Compression.Zstd)]
    public void Int96_timestamps_read_without_ParquetNet_are_the_instants_ParquetNet_reads(bool version2, ParquetSharp.Compression codec)
    {
        using var t = new TempDir();
        var path = t["spark [int96].parquet"];
        const int rows = 3000;
        WriteInt96(path, rows, version2, codec, Int96At);
        using (var own = (ParquetRecordReader)SourceFiles.Open(path))
        using (var theirs = new ParquetRecordReader(path, parquetNetOnly: true))
        {
            var spec = own.GetDeclaredColumn(1)!;
            Assert.Equal((ValueKind.Timestamp, TimeUnit.Micros, true, true), (spec.Kind, spec.Unit, spec.AdjustedToUtc, spec.Nullable));
            Assert.Equal(Enumerable.Range(0, 3).Select(theirs.GetDeclaredColumn), Enumerable.Range(0, 3).Select(own.GetDeclaredColumn));
            int n = 0;
            while (own.Read())
            {
                Assert.True(theirs.Read());
                for (int c = 1; c <= 2; c++)
                {
                    var written = c == 1 ? Int96At(n) : Int96At(n + 1) ?? Int96At(2);
                    if (written is not { } v)
                    {
                        Assert.Equal(ValueKind.Null, own.GetKind(c));
                        Assert.Equal(ValueKind.Null, theirs.GetKind(c));
                        continue;
                    }
                    var mine = own.GetDateTime(c);
                    Assert.Equal(Int96Instant(v), mine);
                    Assert.Equal(DateTimeKind.Utc, mine.Kind);
                    // Parquet.Net's DateTime keeps the tenths of a microsecond the column's unit drops (and has no
                    // kind of its own: the reader makes it UTC, as the column is).
                    var parquetNet = theirs.GetDateTime(c);
                    Assert.Equal(parquetNet.Kind, mine.Kind);
                    Assert.Equal(parquetNet.Ticks - parquetNet.Ticks % 10, mine.Ticks);
                }
                n++;
            }
            Assert.False(theirs.Read());
            Assert.Equal(rows, n);
            Assert.False(own.OpenedParquetNet);
        }

        foreach (var (name, parquetNetOnly) in new[] { ("own", false), ("theirs", true) })
        {
            using var b = new GroupedDatasetBuilder(t[name], new BuildOptions { Key = KeySpec.FromColumns("user"), RowGroupMaxRows = 500 });
            using (var r = new ParquetRecordReader(path, parquetNetOnly)) b.AddAll(r);
            b.Complete();
        }
        TempDir.AssertSameFiles(t["own"], t["theirs"]);
        using var ds = GroupedDataset.Open(t["own"]);
        Assert.Equal(Enumerable.Range(0, rows).Where(i => i % 7 == 3).Select(i => Int96At(i) is { } v ? Int96Instant(v) : (object?)null),
            ds.ReadRecords(ds.FindGroup("user-3")!).Select(rec => rec[1]));
    }

    /// <summary>
    /// A file of Spark's already grouped, imported as it is: its INT96 shard scans without Parquet.Net, and gives
    /// what a scan through Parquet.Net gives (UTC, to the microsecond), which is what a build of the file holds.
    /// </summary>
    [Fact]
    public void An_imported_INT96_shard_scans_without_ParquetNet_as_through_it()
    {
        using var t = new TempDir();
        var path = t["grouped [spark].parquet"];
        const int rows = 3000;
        // Grouped by user: row i's user is i / 300.
        using (var props = new ParquetSharp.WriterPropertiesBuilder().Compression(ParquetSharp.Compression.Snappy).Build())
        using (var w = new ParquetSharp.ParquetFileWriter(path, [new ParquetSharp.Column<string>("user"), new ParquetSharp.Column<ParquetSharp.Int96?>("ts")], props))
        {
            for (int start = 0; start < rows; start += 1000)
            {
                var range = Enumerable.Range(start, 1000).ToArray();
                using var rg = w.AppendRowGroup();
                using (var c = rg.NextColumn().LogicalWriter<string>()) c.WriteBatch(range.Select(i => $"user-{i / 300:D2}").ToArray());
                using (var c = rg.NextColumn().LogicalWriter<ParquetSharp.Int96?>()) c.WriteBatch(range.Select(Int96At).ToArray());
            }
            w.Close();
        }
        DatasetImporter.Import(path, KeySpec.FromColumns("user"), t["imported"]);
        using var own = GroupedDataset.Open(t["imported"]);
        using var theirs = GroupedDataset.Open(t["imported"]);
        theirs.ReadWithParquetNetOnly = true;
        Assert.Equal((ValueKind.Timestamp, TimeUnit.Micros, true), (own.Columns[1].Kind, own.Columns[1].Unit, own.Columns[1].AdjustedToUtc));
        object?[] Scan(GroupedDataset ds) => ds.ScanBatches([1]).SelectMany(b => Enumerable.Range(0, b.Count).Select(r => b.GetValue(0, r))).ToArray();
        var expected = Enumerable.Range(0, rows).Select(i => Int96At(i) is { } v ? Int96Instant(v) : (object?)null).ToArray();
        var got = Scan(own);
        Assert.Equal(expected, got);
        Assert.All(got.OfType<DateTime>(), d => Assert.Equal(DateTimeKind.Utc, d.Kind));
        Assert.Equal(0, own.ShardsOpenedWithParquetNet);
        var through = Scan(theirs);
        Assert.True(theirs.ShardsOpenedWithParquetNet > 0);
        Assert.Equal(expected, through);
        Assert.All(through.OfType<DateTime>(), d => Assert.Equal(DateTimeKind.Utc, d.Kind));
    }

    /// <summary>An INT96 of a day outside .NET's years: an error naming the file, the row and the column (Parquet.Net's reading would move a year before 1 to year 1).</summary>
    [Theory]
    [InlineData(5_373_485)] // 10000-01-01
    [InlineData(1_721_425)] // the day before 0001-01-01
    [InlineData(int.MinValue)]
    public void An_INT96_beyond_the_years_NET_holds_is_a_clear_error(int day)
    {
        using var t = new TempDir();
        var path = t["far.parquet"];
        WriteInt96(path, 5, false, ParquetSharp.Compression.Snappy, i => i == 2 ? new ParquetSharp.Int96(0, 0, day) : Int96At(i + 10));
        using var r = (ParquetRecordReader)SourceFiles.Open(path);
        var ex = Assert.Throws<GrouperException>(() => { while (r.Read()) _ = r.GetDateTime(1).Ticks; });
        Assert.Equal(GrouperErrorKind.InvalidData, ex.Kind);
        Assert.Equal(3, ex.Row);
        Assert.Contains("far.parquet", ex.Message);
        Assert.Contains("column 'ts'", ex.Message);
        Assert.False(r.OpenedParquetNet);
    }

    /// <summary>
    /// A file with nested columns (a list, a struct, a map) beside flat ones: the flat ones are read by Grouper,
    /// the nested ones through Parquet.Net as JSON text, and every value is what Parquet.Net alone reads. A build
    /// is byte for byte the build through Parquet.Net; an import still refuses the file for its nested column.
    /// </summary>
    [Fact]
    public void Flat_columns_beside_nested_ones_read_without_ParquetNet()
    {
        using var t = new TempDir();
        var path = t["nested [mixed].parquet"];
        DuckSql.Run($$"""
            COPY (SELECT 'user-' || (i % 7) AS user, i AS n,
                         CASE WHEN i % 4 = 0 THEN NULL ELSE ['a' || (i % 3), NULL, 'é"' || i] END AS tags,
                         TIMESTAMPTZ '2024-01-01 00:00:00+00' + INTERVAL (i) SECOND AS ts,
                         {'x': i, 'y': CASE WHEN i % 5 = 0 THEN NULL ELSE 'y' || i END} AS pair,
                         CASE WHEN i % 3 = 0 THEN NULL ELSE 'label-' || (i % 3) END AS label,
                         MAP {'k' || (i % 2): i * 0.5} AS m, i * 0.25 AS v
                  FROM range(20000) r(i))
            TO '{{path}}' (FORMAT parquet, ROW_GROUP_SIZE 4096)
            """);
        CheckLayout(path);
        using (var own = (ParquetRecordReader)SourceFiles.Open(path))
        using (var theirs = new ParquetRecordReader(path, parquetNetOnly: true))
        {
            var specs = Enumerable.Range(0, own.FieldCount).Select(i => own.GetDeclaredColumn(i)!).ToList();
            Assert.Equal(Enumerable.Range(0, theirs.FieldCount).Select(i => theirs.GetDeclaredColumn(i)!), specs);
            bool[] flat = [true, true, false, true, false, true, false, true];
            int n = 0;
            while (own.Read())
            {
                Assert.True(theirs.Read());
                for (int c = 0; c < specs.Count; c++)
                {
                    Assert.Equal(flat[c], own.ReadByGrouper(c));
                    Assert.Equal(theirs.GetKind(c), own.GetKind(c));
                    if (own.GetKind(c) == ValueKind.Null) continue;
                    switch (specs[c].Kind)
                    {
                        case ValueKind.String: Assert.Equal(theirs.GetString(c), own.GetString(c)); break;
                        case ValueKind.Int64: Assert.Equal(theirs.GetInt64(c), own.GetInt64(c)); break;
                        case ValueKind.Double: Assert.Equal(theirs.GetDouble(c), own.GetDouble(c)); break;
                        case ValueKind.Timestamp: Assert.Equal(theirs.GetDateTime(c), own.GetDateTime(c)); break;
                        case ValueKind.Decimal: Assert.Equal(theirs.GetDecimal(c), own.GetDecimal(c)); break;
                        default: Assert.Fail($"column {c}: {specs[c].Kind}"); break;
                    }
                }
                if (n == 1) Assert.Equal("[\"a1\",null,\"é\\\"1\"]", own.GetString(2));
                n++;
            }
            Assert.False(theirs.Read());
            Assert.Equal(20000, n);
            Assert.False(theirs.ReadByGrouper(1)); // its numbers through Parquet.Net (text chunks are Grouper's either way)
        }

        foreach (var (name, parquetNetOnly) in new[] { ("own", false), ("theirs", true) })
        {
            using var b = new GroupedDatasetBuilder(t[name], new BuildOptions { Key = KeySpec.FromColumns("user"), RowGroupMaxRows = 3000 });
            using (var r = new ParquetRecordReader(path, parquetNetOnly)) b.AddAll(r);
            b.Complete();
        }
        TempDir.AssertSameFiles(t["own"], t["theirs"]);

        var ex = Assert.Throws<GrouperException>(() => DatasetImporter.Import(path, KeySpec.FromColumns("user"), t["imported"]));
        Assert.Equal(GrouperErrorKind.SchemaMismatch, ex.Kind);
        Assert.Contains("Column 'tags'", ex.Message);

        static void CheckLayout(string file)
        {
            using var fs = File.OpenRead(file);
            var layout = ParquetFooter.ReadLayout(fs);
            Assert.False(layout.ReadableByGrouper);
            Assert.True(layout.ReadableBesideNested);
            Assert.Equal(["user", "n", "tags", "ts", "pair", "label", "m", "v"], layout.Mixed.Select(c => c.Name));
            Assert.Equal([false, false, true, false, true, false, true, false], layout.Mixed.Select(c => c.Nested));
        }
    }

    /// <summary>
    /// A row group of more list elements than may be read whole (10 bytes an entry beside the values: 300,000 rows
    /// of up to five elements) has its leaves streamed, a window of entries at a time, and reads as Parquet.Net
    /// reads it, row by row: nulls, empty lists, lists of lists, structs and maps whose entries cross the windows.
    /// Read whole, such leaves took 14 bytes an entry (200,000 lists of 50 tokens: 216 MB at a 64 MB budget, 100 MB
    /// streamed).
    /// </summary>
    [Fact]
    public void Nested_leaves_of_a_tall_row_group_are_streamed_and_read_as_through_ParquetNet()
    {
        using var t = new TempDir();
        var path = t["tall nested [1].parquet"];
        DuckSql.Run($$"""
            COPY (SELECT 'user-' || (i % 7) AS user,
                         CASE WHEN i % 9 = 0 THEN NULL WHEN i % 9 = 1 THEN []::VARCHAR[]
                              ELSE ['a' || (i % 3), NULL, 'tok' || i, 'é' || (i % 11)] END AS tags,
                         [[i::INTEGER], [], NULL, [1::INTEGER, NULL]] AS grid,
                         CASE WHEN i % 6 = 0 THEN NULL ELSE {'a': i, 'b': CASE WHEN i % 4 = 0 THEN NULL ELSE 'b' || i END} END AS s,
                         MAP {'k' || (i % 2): (i * 0.5)::DOUBLE, 'z': NULL} AS m
                  FROM range(300000) r(i))
            TO '{{path}}' (FORMAT parquet, COMPRESSION SNAPPY, ROW_GROUP_SIZE 300000)
            """);
        using var mine = (ParquetRecordReader)SourceFiles.Open(path);
        mine.ReadAheadLimit = 8L << 20; // as in a build at a 64 MB budget
        using var theirs = new ParquetRecordReader(path, parquetNetOnly: true);
        int n = 0;
        while (mine.Read())
        {
            Assert.True(theirs.Read());
            if (n == 0)
            {
                // Four or five entries a row are streamed; the struct's and the map's one or two are read whole.
                Assert.True(mine.LeafStreamed(1, 0));
                Assert.True(mine.LeafStreamed(2, 0));
                Assert.False(mine.LeafStreamed(3, 0));
                Assert.False(mine.LeafStreamed(4, 0));
            }
            for (int c = 1; c < mine.FieldCount; c++)
            {
                Assert.Equal(theirs.GetKind(c), mine.GetKind(c));
                if (mine.GetKind(c) != ValueKind.Null) Assert.Equal(theirs.GetString(c), mine.GetString(c));
            }
            n++;
        }
        Assert.False(theirs.Read());
        Assert.Equal(300000, n);

        // Streaming saves what the pages allow: entries are decoded a page at a time. DuckDB writes a leaf's row
        // group in a few large pages, Arrow's C++ writer (pyarrow's, so most published datasets') in pages of
        // about 1 MB: 100,000 lists of 20 tokens written so hold 26 MB read whole, 11 MB streamed (a page of
        // dictionary indexes is some 600,000 entries).
        var tokens = t["tokens.parquet"];
        static string[] Tokens(int i) => Enumerable.Range(0, 20).Select(j => "tok" + (i * 31 + j * 7) % 5000).ToArray();
        using (var w = new ParquetSharp.ParquetFileWriter(tokens, [new ParquetSharp.Column<string>("user"), new ParquetSharp.Column<string[]>("tokens")], ParquetSharp.Compression.Snappy))
        {
            using var rg = w.AppendRowGroup();
            using (var c = rg.NextColumn().LogicalWriter<string>()) c.WriteBatch(Enumerable.Range(0, 100_000).Select(i => $"u{i % 50}").ToArray());
            using (var c = rg.NextColumn().LogicalWriter<string[]>()) c.WriteBatch(Enumerable.Range(0, 100_000).Select(Tokens).ToArray());
            w.Close();
        }
        long Held(long readAhead)
        {
            using var r = (ParquetRecordReader)SourceFiles.Open(tokens);
            r.ReadAheadLimit = readAhead;
            long held = 0;
            int i = 0;
            while (r.Read())
            {
                Assert.Equal("[" + string.Join(",", Tokens(i).Select(x => $"\"{x}\"")) + "]", r.GetString(1));
                Assert.Equal(readAhead < 32L << 20, r.LeafStreamed(1, 0));
                if (i % 5000 == 0) held = Math.Max(held, r.ColumnsMemoryHeld);
                i++;
            }
            Assert.Equal(100_000, i);
            return held;
        }
        long whole = Held(64L << 20), streamed = Held(8L << 20);
        Assert.True(whole > 20L << 20, $"read whole, the columns held {whole} bytes");
        Assert.True(streamed < whole / 2, $"streamed, the columns held {streamed} bytes (whole: {whole})");
    }

    /// <summary>
    /// Nested columns whose leaves are text, integers, floating-point numbers, dates, timestamps or decimals (lists,
    /// lists of lists, structs, a map) are read by Grouper, leaf by leaf, and written as the JSON Parquet.Net's
    /// reading of them gives, byte for byte: nulls, empty lists, escapes, NaN and infinities, timestamps of every
    /// unit, UTC or not, decimals with trailing zeros, windows that end inside a row group, pages of both versions.
    /// A leaf of another type (a 30-digit decimal, a boolean) beside them is read through Parquet.Net. A build is
    /// byte for byte the build through Parquet.Net.
    /// </summary>
    [Fact]
    public void Nested_leaves_read_without_ParquetNet_as_through_it()
    {
        using var t = new TempDir();
        var path = t["nested leaves [1].parquet"];
        // The same rows in pages of version 2, Zstd: Parquet.Net 6.1 cannot read them (DELTA_BINARY_PACKED
        // timestamps), so Grouper's reading of them is compared with its reading of the first file.
        var v2 = t["nested leaves [v2].parquet"];
        foreach (var (file, options) in new[] { (path, "SNAPPY"), (v2, "ZSTD, PARQUET_VERSION V2") })
        DuckSql.Run($$"""
            COPY (SELECT 'user-' || (i % 7) AS user,
                         CASE WHEN i % 9 = 0 THEN NULL WHEN i % 9 = 1 THEN []::VARCHAR[]
                              ELSE ['a' || (i % 3), NULL, 'q"\' || chr(1) || 'é😀' || i, chr(9), ''] END AS tags,
                         [i * 1000000007 - 5000000000, NULL, -i] AS nums,
                         CASE WHEN i % 4 = 0 THEN NULL ELSE [i::INTEGER, (i % 5)::INTEGER] END AS ints,
                         [[i::INTEGER], [], NULL, [1::INTEGER, NULL]] AS grid,
                         [i * 0.1, CASE WHEN i % 10 = 0 THEN 'nan'::DOUBLE WHEN i % 10 = 1 THEN '-inf'::DOUBLE
                                        WHEN i % 10 = 2 THEN '-0.0'::DOUBLE ELSE 1e300 END, NULL] AS dbl,
                         [(i * 0.1)::FLOAT, NULL] AS fl,
                         CASE WHEN i % 6 = 0 THEN NULL ELSE {'a': i, 'b': CASE WHEN i % 4 = 0 THEN NULL ELSE 'b' || i END} END AS s,
                         MAP {'k' || (i % 2): (i * 0.5)::DOUBLE, 'z': NULL} AS m,
                         {'when': DATE '2024-01-01' + (i % 30)::INTEGER, 'note': 'n' || i} AS mixed,
                         [DATE '1969-12-25' + (i % 90)::INTEGER, NULL] AS days,
                         [TIMESTAMPTZ '2024-02-29 23:59:59.123456+00' + INTERVAL (i * 7919) SECOND, NULL] AS utc,
                         [TIMESTAMP '1960-01-01 00:00:00.5' + INTERVAL (i) MILLISECOND] AS wall,
                         [(TIMESTAMP '2030-06-01 12:00:00' + INTERVAL (i) MICROSECOND)::TIMESTAMP_NS] AS ns,
                         [((i - 5000) * 1.25)::DECIMAL(9, 2), NULL, 100::DECIMAL(9, 2)] AS small,
                         {'d': ((i - 5000) * 1.0001)::DECIMAL(18, 4), 'e': (i * 2)::DECIMAL(30, 2)} AS amounts,
                         [i % 2 = 0, NULL] AS flags,
                         [(i % 200 - 100)::TINYINT, NULL] AS i8, [(i * 7 % 60000 - 30000)::SMALLINT] AS i16,
                         [(i % 250)::UTINYINT] AS u8, [(i * 13 % 65000)::USMALLINT] AS u16,
                         [(i * 429496)::UINTEGER, 4294967295::UINTEGER] AS u32, [18446744073709551615::UBIGINT, i::UBIGINT] AS u64
                  FROM range(10000) r(i))
            TO '{{file}}' (FORMAT parquet, COMPRESSION {{options}}, ROW_GROUP_SIZE 5000)
            """);
        // Leaves read by Grouper, column by column (a decimal of 30 digits is Parquet.Net's; integers of every width and sign are Grouper's).
        bool[][] own = [[true], [true], [true], [true], [true], [true], [true, true], [true, true], [true, true],
            [true], [true], [true], [true], [true], [true, false], [true], [true], [true], [true], [true], [true], [true]];
        using (var mine = (ParquetRecordReader)SourceFiles.Open(path))
        using (var mineV2 = (ParquetRecordReader)SourceFiles.Open(v2))
        using (var theirs = new ParquetRecordReader(path, parquetNetOnly: true))
        {
            Assert.Equal(Enumerable.Range(0, theirs.FieldCount).Select(i => theirs.GetDeclaredColumn(i)!), Enumerable.Range(0, mine.FieldCount).Select(i => mine.GetDeclaredColumn(i)!));
            int n = 0;
            while (mine.Read())
            {
                Assert.True(theirs.Read());
                Assert.True(mineV2.Read());
                for (int c = 1; c < mine.FieldCount; c++)
                {
                    for (int leaf = 0; leaf < own[c - 1].Length; leaf++)
                    {
                        Assert.True(own[c - 1][leaf] == mine.LeafReadByGrouper(c, leaf), $"column {c} leaf {leaf} row {n}");
                        Assert.True(own[c - 1][leaf] == mineV2.LeafReadByGrouper(c, leaf), $"column {c} leaf {leaf} row {n} (v2)");
                        Assert.False(theirs.LeafReadByGrouper(c, leaf));
                    }
                    Assert.Equal(theirs.GetKind(c), mine.GetKind(c));
                    Assert.Equal(theirs.GetKind(c), mineV2.GetKind(c));
                    if (mine.GetKind(c) == ValueKind.Null) continue;
                    // The escapes are the writer's (its encoder escapes characters beyond the first plane), the same either way.
                    var json = theirs.GetString(c);
                    Assert.Equal(json, mine.GetString(c));
                    Assert.Equal(json, mineV2.GetString(c));
                    Assert.True(mine.TryGetUtf8(c, out var utf8));
                    Assert.Equal(System.Text.Encoding.UTF8.GetBytes(json), utf8.ToArray());
                }
                if (n == 2)
                {
                    Assert.Equal("[\"a2\",null,\"q\\\"\\\\\\u0001é\\uD83D\\uDE002\",\"\\t\",\"\"]", mine.GetString(1));
                    Assert.Equal("[-2999999986,null,-2]", mine.GetString(2));
                    Assert.Equal("[[2],[],null,[1,null]]", mine.GetString(4));
                    Assert.Equal("[0.2,-0,null]", mine.GetString(5));
                    Assert.Equal("[true,null]", mine.GetString(16));
                    Assert.Equal("[true,null]", mineV2.GetString(16));
                    Assert.Equal("[-98,null]", mine.GetString(17));
                    Assert.Equal("[858992,4294967295]", mine.GetString(21));
                    Assert.Equal("[18446744073709551615,2]", mine.GetString(22));
                    Assert.Equal("[18446744073709551615,2]", mineV2.GetString(22));
                }
                if (n == 1) Assert.Equal("[]", mine.GetString(1));
                // A wall-clock timestamp has no offset (this machine's zone's would make the JSON differ by machine).
                if (n == 3) Assert.Equal("[\"1960-01-01T00:00:00.503\"]", mine.GetString(12));
                if (n == 10) Assert.Equal("[1,\"NaN\",null]", mine.GetString(5));
                n++;
            }
            Assert.False(theirs.Read());
            Assert.False(mineV2.Read());
            Assert.Equal(10000, n);
        }
        // Parquet.Net alone cannot read the second file.
        Assert.Throws<GrouperException>(() => { using var r = new ParquetRecordReader(v2, parquetNetOnly: true); while (r.Read()) { } });

        foreach (var (name, parquetNetOnly) in new[] { ("own", false), ("theirs", true) })
        {
            using var b = new GroupedDatasetBuilder(t[name], new BuildOptions { Key = KeySpec.FromColumns("user"), RowGroupMaxRows = 3000 });
            using (var r = new ParquetRecordReader(path, parquetNetOnly)) b.AddAll(r);
            b.Complete();
        }
        TempDir.AssertSameFiles(t["own"], t["theirs"]);
    }

    [Fact]
    public void A_map_keyed_by_a_struct_has_each_keys_JSON_as_its_name()
    {
        using var t = new TempDir();
        var path = t["struct keys [1].parquet"];
        DuckSql.Run($"COPY (SELECT i AS id, MAP {{{{'a': i, 'b': 'é\"' || i}}: i * 2, {{'a': NULL, 'b': 'z'}}: NULL}} AS m FROM range(3) r(i)) TO '{path}' (FORMAT parquet)");
        using var r = SourceFiles.Open(path);
        Assert.True(r.Read());
        Assert.True(r.Read());
        // The key's JSON, escaped as a name: each key its own (the type's name, the same for every key, before).
        Assert.Equal("{\"{\\\"a\\\":1,\\\"b\\\":\\\"é\\\\\\\"1\\\"}\":2,\"{\\\"a\\\":null,\\\"b\\\":\\\"z\\\"}\":null}", r.GetString(1));
    }

    [Fact]
    public void A_nested_columns_text_and_numbers_are_the_JSON_writers_bytes()
    {
        var rows = new NestedJsonColumn.JsonRows();
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using var writer = new System.Text.Json.Utf8JsonWriter(buffer, NestedJson.Options);
        byte[] Theirs(Action<System.Text.Json.Utf8JsonWriter> write)
        {
            buffer.ResetWrittenCount();
            writer.Reset(buffer);
            write(writer);
            writer.Flush();
            return buffer.WrittenSpan.ToArray();
        }
        byte[] Mine(Action<NestedJsonColumn.JsonRows> write)
        {
            rows.Clear(1);
            int start = rows.Position;
            write(rows);
            rows.EndRaw(0, start);
            return rows.Utf8(0).ToArray();
        }
        var texts = Enumerable.Range(0, 128).Select(b => new[] { (byte)b })
            .Concat(new[] { "", "plain words", "é", "😀", "a\"b\\", "line\nbreak", "<tag>&'+`", new string('y', 4096), new string('y', 4097),
                            new string('y', 4097) + "\"", "\u2028", "\uFFFD", "\u0085", "中文" }.Select(System.Text.Encoding.UTF8.GetBytes));
        foreach (var text in texts) Assert.Equal(Theirs(w => w.WriteStringValue(text)), Mine(r => r.String(text)));
        foreach (var v in new long[] { 0, -1, 42, int.MinValue, long.MinValue, long.MaxValue })
            Assert.Equal(Theirs(w => w.WriteNumberValue(v)), Mine(r => r.Integer(v)));
        foreach (var v in new ulong[] { 0, 255, 1UL << 63, ulong.MaxValue })
            Assert.Equal(Theirs(w => w.WriteNumberValue(v)), Mine(r => r.Integer(v)));
        // Doubles (and floats, widened as the writer's caller widens them): every exponent, from random bits.
        var rng = new Random(11);
        var doubles = new List<double> { 0.0, -0.0, 1, -1, 0.1, 1e16, 1e-7, 123456789012345678, double.Epsilon, double.MaxValue, double.MinValue, 5e-324, 0.1f, float.MaxValue, float.Epsilon };
        for (int i = 0; i < 20000; i++) doubles.Add(BitConverter.Int64BitsToDouble(rng.NextInt64()));
        for (int i = 0; i < 5000; i++) doubles.Add(BitConverter.Int32BitsToSingle(rng.Next()));
        for (int i = 0; i < 5000; i++) doubles.Add(Math.Round(rng.NextDouble() * 1000, rng.Next(6)));
        foreach (var v in doubles.Where(double.IsFinite))
            Assert.Equal(Theirs(w => NestedJson.WriteDouble(w, v)), Mine(r => Assert.True(r.Number(v))));
        foreach (var v in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity })
            Assert.Empty(Mine(r => Assert.False(r.Number(v))));
        // Map keys: as the writer writes a property's name, from characters or UTF-8.
        foreach (var text in texts.Where(t => t.Length < 4096))
        {
            var name = System.Text.Encoding.UTF8.GetString(text);
            var property = NestedJsonColumn.JsonRows.PropertyBytes(name);
            Assert.Equal(Theirs(w => { w.WriteStartObject(); w.WritePropertyName(name); w.WriteNullValue(); w.WriteEndObject(); }), (byte[])[(byte)'{', .. property, .. "null}"u8]);
            Assert.Equal(property, Mine(r => r.Property(name)));
            Assert.Equal(property, Mine(r => r.PropertyUtf8(text)));
        }
    }

    [Fact]
    public void A_nested_columns_JSON_is_the_same_written_with_its_row_group_or_a_window_at_a_time()
    {
        using var t = new TempDir();
        var path = t["nested [whole].parquet"];
        // Lists (of text with escapes and of integers: written as bytes), a list of lists, structs (a name with an
        // escape), a map, text of more than 4 KB (left to the JSON writer); row groups of 30,000 rows, several
        // windows each.
        DuckSql.Run($$"""
            COPY (SELECT i % 11 AS k,
                         CASE WHEN i % 9 = 0 THEN NULL WHEN i % 9 = 1 THEN []::VARCHAR[]
                              ELSE ['t' || (i % 5), NULL, 'q"\' || chr(1) || 'é😀', chr(127), '', chr(31) || '~ <>&+`'] END AS tags,
                         CASE WHEN i % 1000 = 7 THEN [repeat('x', 5000)] ELSE ['short'] END AS long,
                         [i, -i * 1000000007, NULL] AS nums,
                         [[i::INTEGER], [], NULL, [1::INTEGER, NULL]] AS grid,
                         CASE WHEN i % 6 = 0 THEN NULL ELSE {'a': i, 'b': 'b' || i, 'wé"ird': i % 2 = 0, 'in': {'x': i * 0.5, 'y': NULL::INTEGER} } END AS s,
                         MAP {'k' || (i % 2): i} AS m
                  FROM range(70000) r(i))
            TO '{{path}}' (FORMAT parquet, ROW_GROUP_SIZE 30000)
            """);
        using var whole = (ParquetRecordReader)SourceFiles.Open(path);
        whole.ReadAheadLimit = 256 << 20; // a quarter of it shared by the six nested columns: each row group's JSON whole
        using var windows = (ParquetRecordReader)SourceFiles.Open(path);
        windows.ReadAheadLimit = 0; // nothing read ahead, and no JSON written whole
        int n = 0;
        while (whole.Read())
        {
            Assert.True(windows.Read());
            for (int c = 1; c < whole.FieldCount; c++)
            {
                Assert.True(whole.NestedWrittenWhole(c), $"column {c}");
                Assert.False(windows.NestedWrittenWhole(c), $"column {c}");
                Assert.Equal(windows.GetKind(c), whole.GetKind(c));
                if (whole.GetKind(c) == ValueKind.Null) continue;
                Assert.Equal(windows.GetString(c), whole.GetString(c));
            }
            if (n == 2)
            {
                Assert.Equal("[\"t2\",null,\"q\\\"\\\\\\u0001é\\uD83D\\uDE00\",\"\\u007F\",\"\",\"\\u001F~ <>&+`\"]", whole.GetString(1));
                Assert.Equal("[2,-2000000014,null]", whole.GetString(3));
                Assert.Equal("{\"a\":2,\"b\":\"b2\",\"wé\\\"ird\":true,\"in\":{\"x\":1,\"y\":null}}", whole.GetString(5));
            }
            if (n == 7) Assert.Equal("[\"" + new string('x', 5000) + "\"]", whole.GetString(2));
            n++;
        }
        Assert.False(windows.Read());
        Assert.Equal(70000, n);
    }

    [Fact]
    public void Narrow_and_unsigned_integers_read_without_ParquetNet_are_the_integers_written()
    {
        using var t = new TempDir();
        var path = t["ints.parquet"];
        DuckSql.Run($"""
            COPY (SELECT (i % 256 - 128)::TINYINT AS a, (i * 7 % 65536 - 32768)::SMALLINT AS b, (i % 256)::UTINYINT AS c,
                         (i * 7 % 65536)::USMALLINT AS d, (4294967295 - i)::UINTEGER AS e,
                         CASE WHEN i % 3 = 0 THEN NULL ELSE (18446744073709551615 - i)::UBIGINT END AS f
                  FROM range(10000) r(i))
            TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 4096)
            """);
        using var r = (ParquetRecordReader)SourceFiles.Open(path);
        Assert.False(r.OpenedParquetNet);
        Assert.Equal([ValueKind.Int8, ValueKind.Int16, ValueKind.UInt8, ValueKind.UInt16, ValueKind.UInt32, ValueKind.UInt64],
            Enumerable.Range(0, r.FieldCount).Select(i => r.GetDeclaredColumn(i)!.Kind));
        long n = 0;
        while (r.Read())
        {
            Assert.Equal(n % 256 - 128, r.GetInt64(0));
            Assert.Equal(n * 7 % 65536 - 32768, r.GetInt64(1));
            Assert.Equal((ulong)(n % 256), r.GetUInt64(2));
            Assert.Equal((ulong)(n * 7 % 65536), r.GetUInt64(3));
            Assert.Equal(4294967295UL - (ulong)n, r.GetUInt64(4));
            if (n % 3 == 0) Assert.Equal(ValueKind.Null, r.GetKind(5)); else Assert.Equal(ulong.MaxValue - (ulong)n, r.GetUInt64(5));
            n++;
        }
        Assert.Equal(10000, n);
        Assert.False(r.OpenedParquetNet);
    }

    [Fact]
    public void A_timestamp_or_date_beyond_the_years_NET_holds_is_a_clear_error()
    {
        using var t = new TempDir();
        foreach (var (name, type, value) in new[] { ("ts.parquet", "TIMESTAMP", "TIMESTAMP '12000-01-01 00:00:00'"), ("day.parquet", "DATE", "DATE '12000-01-01'") })
        {
            var path = t[name];
            DuckSql.Run($"COPY (SELECT 'k' AS k, CASE WHEN i = 2 THEN {value} ELSE {type} '2024-01-01' END AS v FROM range(5) r(i)) TO '{path}' (FORMAT parquet)");
            using var r = (ParquetRecordReader)SourceFiles.Open(path);
            Assert.False(r.OpenedParquetNet);
            var ex = Assert.Throws<GrouperException>(() =>
            {
                while (r.Read()) _ = type == "DATE" ? r.GetDate(1).DayNumber : r.GetDateTime(1).Ticks;
            });
            Assert.Equal(GrouperErrorKind.InvalidData, ex.Kind);
            Assert.Equal(3, ex.Row);
            Assert.Contains(name, ex.Message);
            Assert.Contains("column 'v'", ex.Message);
        }
    }

    [Fact]
    public async Task Numbers_ParquetNet_wrote_read_back_as_written()
    {
        using var t = new TempDir();
        var path = t["parquet-net numbers.parquet"];
        var schema = new ParquetSchema(new DataField<int>("a"), new DataField<long?>("b"), new DataField<double>("c"), new DataField<float?>("d"));
        await using (var fs = File.Create(path))
        await using (var w = await ParquetWriter.CreateAsync(schema, fs))
            for (int g = 0; g < 2; g++)
            {
                using var rg = w.CreateRowGroup();
                var rows = Enumerable.Range(g * 1000, 1000).ToArray();
                await rg.WriteAsync<int>(schema.DataFields[0], rows.Select(i => i % 10).ToArray().AsMemory(), null, null, default);
                await rg.WriteAsync<long>(schema.DataFields[1], rows.Select(i => i % 3 == 0 ? (long?)null : i * 3_000_000_000L).ToArray().AsMemory(), null, null, default);
                await rg.WriteAsync<double>(schema.DataFields[2], rows.Select(i => i / 3.0).ToArray().AsMemory(), null, null, default);
                await rg.WriteAsync<float>(schema.DataFields[3], rows.Select(i => i % 5 == 0 ? (float?)null : i * 0.5f).ToArray().AsMemory(), null, null, default);
            }
        await using (var fs = File.OpenRead(path)) Assert.True(ParquetFooter.ReadLayout(fs).ReadableByGrouper);
        using var r = (ParquetRecordReader)SourceFiles.Open(path);
        Assert.Equal([ValueKind.Int32, ValueKind.Int64, ValueKind.Double, ValueKind.Float], Enumerable.Range(0, r.FieldCount).Select(i => r.GetDeclaredColumn(i)!.Kind));
        long n = 0;
        while (r.Read())
        {
            Assert.Equal(n % 10, r.GetInt64(0));
            if (n % 3 == 0) Assert.Equal(ValueKind.Null, r.GetKind(1)); else Assert.Equal(n * 3_000_000_000L, r.GetInt64(1));
            Assert.Equal(n / 3.0, r.GetDouble(2));
            if (n % 5 == 0) Assert.Equal(ValueKind.Null, r.GetKind(3)); else Assert.Equal((double)(n * 0.5f), r.GetDouble(3));
            n++;
        }
        Assert.Equal(2000, n);
    }

    [Fact]
    public void A_file_that_does_not_start_as_Parquet_is_refused_whoever_reads_it()
    {
        using var t = new TempDir();
        DuckText(t["good.parquet"], "SNAPPY");
        var bytes = File.ReadAllBytes(t["good.parquet"]);
        bytes[1] = (byte)'X';
        File.WriteAllBytes(t["bad.parquet"], bytes);
        var ex = Assert.Throws<GrouperException>(() => { using var r = SourceFiles.Open(t["bad.parquet"]); while (r.Read()) { } });
        Assert.Equal(GrouperErrorKind.InvalidData, ex.Kind);
        Assert.Contains("bad.parquet", ex.Message);
        Assert.Contains("does not start with Parquet's magic bytes", ex.Message);
    }
}

/// <summary>Scans read a shard's text and numbers without Parquet.Net too: its footer by ParquetLayout, Parquet.Net opened only for a column or chunk that needs it.</summary>
public class ShardLayoutTests
{
    private static string Build(TempDir t, string name, ShardCompression compression)
    {
        // Text, a number and nullable text; several row groups and shards.
        var lines = new System.Text.StringBuilder();
        for (int i = 0; i < 30000; i++) lines.Append($"{{\"user\":\"u{i % 13}\",\"n\":{i},\"label\":{(i % 4 == 0 ? "null" : "\"l" + (i % 3) + "\"")}}}\n");
        File.WriteAllText(t["in.jsonl"], lines.ToString());
        using var b = new GroupedDatasetBuilder(t[name], new BuildOptions
        {
            Key = KeySpec.FromColumns("user"), Compression = compression, RowGroupMaxRows = 1000, ShardTargetBytes = 100_000,
        });
        using (var r = SourceFiles.Open(t["in.jsonl"])) b.AddAll(r);
        b.Complete();
        return t[name];
    }

    [Theory]
    [InlineData(ShardCompression.Snappy)]
    [InlineData(ShardCompression.Zstd)]
    [InlineData(ShardCompression.Gzip)]
    [InlineData(ShardCompression.None)]
    public void Text_and_number_columns_scan_without_ParquetNet(ShardCompression compression)
    {
        using var t = new TempDir();
        var path = Build(t, "data set [1]", compression);
        using (var ds = GroupedDataset.Open(path))
        {
            Assert.True(ds.Manifest.Shards.Count > 1);
            var text = ds.ColumnIndexes(["user", "label"]);
            var seen = new Dictionary<string, List<string?>>();
            foreach (var batch in ds.ScanBatches(text))
                for (int r = 0; r < batch.Count; r++)
                {
                    Assert.Equal(batch.GroupKey, batch.GetString(0, r));
                    if (!seen.TryGetValue(batch.GroupKey, out var labels)) seen[batch.GroupKey] = labels = new();
                    labels.Add(batch.IsNull(1, r) ? null : batch.GetString(1, r));
                }
            // Every record once, in its group, in arrival order.
            Assert.Equal(13, seen.Count);
            for (int u = 0; u < 13; u++)
                Assert.Equal(Enumerable.Range(0, 30000).Where(i => i % 13 == u).Select(i => i % 4 == 0 ? null : "l" + (i % 3)), seen[$"u{u}"]);
            Assert.Equal(0, ds.ShardsOpenedWithParquetNet);
        }
        using (var ds = GroupedDataset.Open(path))
        {
            Assert.Equal(ValueKind.Int64, ds.Columns[1].Kind);
            long sum = 0;
            foreach (var batch in ds.ScanBatches(ds.ColumnIndexes(["n"])))
                for (int r = 0; r < batch.Count; r++) sum += (long)batch.GetValue(0, r)!;
            Assert.Equal(29999L * 30000 / 2, sum);
            Assert.Equal(0, ds.ShardsOpenedWithParquetNet);
            // A group by key, whole records.
            Assert.Equal(Enumerable.Range(0, 30000).Where(i => i % 13 == 5).Select(i => (long)i),
                ds.ReadRecords(ds.FindGroup("u5")!).Select(rec => Convert.ToInt64(rec[1], System.Globalization.CultureInfo.InvariantCulture)));
        }
    }

    /// <summary>Every kind, read by Grouper from a shard (Snappy, Zstd), gives the values, .NET types and kinds Parquet.Net gives; whole records too.</summary>
    [Theory]
    [InlineData(ShardCompression.Snappy)]
    [InlineData(ShardCompression.Zstd)]
    public void Numbers_dates_and_timestamps_read_without_ParquetNet_are_its_values(ShardCompression compression)
    {
        using var t = new TempDir();
        ColumnSpec[] columns = [.. Writer.ShardEncodingTests.NumberColumns, TestRecords.Col("us", ValueKind.Timestamp, nullable: true),
            TestRecords.Col("ns_wall", ValueKind.Timestamp) with { Unit = TimeUnit.Nanos, AdjustedToUtc = false }];
        var rows = Writer.ShardEncodingTests.NumberRows(6000).Select((r, i) =>
            (object?[])[.. r, i % 5 == 0 ? null : new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddTicks(i * 123_456_789L), new DateTime(1960, 1, 1).AddTicks(i * 987_654_321L)]).ToList();
        Writer.ShardEncodingTests.Build(t["own"], columns, rows, parquetNetOnly: false, compression);
        using var own = GroupedDataset.Open(t["own"]);
        using var theirs = GroupedDataset.Open(t["own"]);
        theirs.ReadWithParquetNetOnly = true;
        var all = Enumerable.Range(0, own.Columns.Count).ToArray();
        var expected = theirs.ScanBatches(all).SelectMany(b => Enumerable.Range(0, b.Count).Select(r => Enumerable.Range(0, all.Length).Select(c => b.GetValue(c, r)).ToArray())).ToList();
        var got = own.ScanBatches(all).SelectMany(b => Enumerable.Range(0, b.Count).Select(r => Enumerable.Range(0, all.Length).Select(c => b.GetValue(c, r)).ToArray())).ToList();
        Assert.Equal(rows.Count, got.Count);
        Assert.Equal(0, own.ShardsOpenedWithParquetNet);
        Assert.True(theirs.ShardsOpenedWithParquetNet > 0);
        for (int i = 0; i < got.Count; i++)
            for (int c = 0; c < all.Length; c++)
            {
                Assert.Equal(expected[i][c], got[i][c]);
                Assert.Equal(expected[i][c]?.GetType(), got[i][c]?.GetType());
                if (got[i][c] is DateTime d) Assert.Equal(((DateTime)expected[i][c]!).Kind, d.Kind);
            }
        Assert.Contains(got, r => r.Any(v => v is DateTime { Kind: DateTimeKind.Unspecified }));
        Assert.Equal(theirs.ReadRecords(theirs.FindGroup("u007")!).ToList(), own.ReadRecords(own.FindGroup("u007")!).ToList());
    }
}
