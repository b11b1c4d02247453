using DuckDB.NET.Data;
using Grouper.Keys;
using Grouper.Reading;
using Grouper.Schema;
using Grouper.Sources;
using Grouper.Writer;
using Parquet;
using Parquet.Schema;
using Xunit;

namespace Grouper.Tests.Sources;

public class ParquetSourceTests
{
    /// <summary>Checks, as the build reports its writing phase, that the source's reader is garbage by then.</summary>
    private sealed class ReaderGoneWhenWriting : IProgress<BuildProgress>
    {
        public WeakReference? Reader;
        public bool? Gone;
        public void Report(BuildProgress p)
        {
            if (p.Phase != BuildPhase.Writing || Gone is not null || Reader is not { } reader) return;
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            Gone = !reader.IsAlive;
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference AddFile(GroupedDatasetBuilder b, string path, out long held)
    {
        var r = (ParquetRecordReader)SourceFiles.Open(path);
        using (r) b.AddAll(r);
        held = r.MemoryHeld;
        return new WeakReference(r);
    }

    [Fact]
    public void What_a_Parquet_source_holds_is_counted_against_the_sort_buffers_and_let_go_before_the_writing()
    {
        // Row groups of long text, two in memory at once (one read ahead): at a 4 MB budget the source holds more
        // than its share (3/16 of it), which the sort buffers give up; the runs then spilled are the records' alone,
        // so two builds write the same bytes. The reader, disposed, holds nothing; the builder let it go before the
        // merge, whose memory it took through the writing phase before.
        using var t = new TempDir();
        var path = t["long text [rows].parquet"];
        DuckSql.Run($"""
            COPY (SELECT 'user-' || (i % 53) AS user, i AS n, repeat(chr(97 + (i % 26)::INT), 20 + (i % 300)::INT) AS body
                  FROM range(60000) r(i))
            TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 8192)
            """);
        using (var r = (ParquetRecordReader)SourceFiles.Open(path))
        {
            for (int i = 0; i < 20000; i++) Assert.True(r.Read());
            Assert.True(r.RowGroupsReadAhead > 1);
            Assert.True(r.MemoryHeld > 2 * 8192 * 170, $"{r.MemoryHeld} bytes held"); // two row groups' text, at least
        }

        var shards = new List<byte[]>[2];
        for (int build = 0; build < 2; build++)
        {
            var ds = t[$"ds{build}"];
            var progress = new ReaderGoneWhenWriting();
            using (var b = new GroupedDatasetBuilder(ds, new BuildOptions { Key = KeySpec.FromColumns("user"), MemoryLimit = 4 << 20, Progress = progress, ProgressInterval = TimeSpan.Zero }))
            {
                progress.Reader = AddFile(b, path, out long held);
                Assert.True(b.SourceExcessSeen > 0, "the source's excess was not counted");
                Assert.Equal(0, held); // disposed: its buffers went with its file
                Assert.Equal(60000, b.Complete().RecordCount);
            }
            Assert.True(progress.Gone, "the reader was still reachable in the writing phase");
            shards[build] = Directory.GetFiles(Path.Combine(ds, "data")).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToList();
            using var read = GroupedDataset.Open(ds);
            Assert.Equal(Enumerable.Range(0, 60000).Where(i => i % 53 == 7).Select(i => (long)i), read.ReadRecords(read.FindGroup("user-7")!).Select(rec => (long)rec[1]!));
        }
        Assert.Equal(shards[0].Count, shards[1].Count);
        for (int i = 0; i < shards[0].Count; i++) Assert.Equal(shards[0][i], shards[1][i]);

        // The same records in every group as a build whose budget holds them all (no runs, nothing reserved).
        using (var b = new GroupedDatasetBuilder(t["large"], new BuildOptions { Key = KeySpec.FromColumns("user") }))
        {
            using (var r = SourceFiles.Open(path)) b.AddAll(r);
            Assert.Equal(0, b.SourceExcessSeen);
            b.Complete();
        }
        using var small = GroupedDataset.Open(t["ds0"]);
        using var large = GroupedDataset.Open(t["large"]);
        Assert.Equal(53, large.EnumerateGroups().Count());
        foreach (var g in large.EnumerateGroups())
            Assert.Equal(large.ReadRecords(g).Select(rec => $"{rec[1]}|{rec[2]}"), small.ReadRecords(small.FindGroup(g.Key)!).Select(rec => $"{rec[1]}|{rec[2]}"));
    }

    [Theory]
    [InlineData("ZSTD")]
    [InlineData("SNAPPY")]
    [InlineData("GZIP")]
    [InlineData("LZ4_RAW")]
    [InlineData("BROTLI")]
    [InlineData("UNCOMPRESSED")]
    [InlineData("SNAPPY, PARQUET_VERSION V2")] // pages of version 2, integers DELTA_BINARY_PACKED
    [InlineData("ZSTD, PARQUET_VERSION V2")]
    public void Files_written_by_DuckDB_read_correctly(string codec)
    {
        using var t = new TempDir();
        var path = t["duck.parquet"];
        DuckSql.Run($"""
            COPY (SELECT 'user-' || (i % 7) AS user, i AS n, CASE WHEN i % 3 = 0 THEN NULL ELSE i * 0.25::DOUBLE END AS x,
                         TIMESTAMPTZ '2024-03-01 00:00:00+00' + INTERVAL (i) SECOND AS ts, DATE '2024-01-01' + (i % 10)::INT AS d,
                         (i % 2 = 0) AS flag, CAST(i / 4 AS DECIMAL(10,2)) AS amount, i::INTEGER AS small,
                         CASE WHEN i % 5 = 0 THEN NULL ELSE 'label-' || (i % 3) END AS label
                  FROM range(25000) r(i))
            TO '{path}' (FORMAT parquet, COMPRESSION {codec}, ROW_GROUP_SIZE 4096)
            """);
        using var r = SourceFiles.Open(path);
        var names = Enumerable.Range(0, r.FieldCount).Select(r.GetName).ToList();
        Assert.Equal(["user", "n", "x", "ts", "d", "flag", "amount", "small", "label"], names);
        Assert.Equal([ValueKind.String, ValueKind.Int64, ValueKind.Double, ValueKind.Timestamp, ValueKind.Date, ValueKind.Boolean, ValueKind.Decimal, ValueKind.Int32, ValueKind.String],
            Enumerable.Range(0, r.FieldCount).Select(i => r.GetDeclaredColumn(i)!.Kind));
        long i = 0;
        while (r.Read())
        {
            Assert.Equal(i + 1, r.RowNumber);
            Assert.Equal($"user-{i % 7}", r.GetString(0));
            Assert.Equal(i, r.GetInt64(1));
            if (i % 3 == 0) Assert.Equal(ValueKind.Null, r.GetKind(2)); else Assert.Equal(i * 0.25, r.GetDouble(2));
            Assert.Equal(new DateTime(2024, 3, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(i), r.GetDateTime(3).ToUniversalTime());
            Assert.Equal(new DateOnly(2024, 1, 1).AddDays((int)(i % 10)), r.GetDate(4));
            Assert.Equal(i % 2 == 0, r.GetBoolean(5));
            Assert.Equal(Math.Round(i / 4m, 2), r.GetDecimal(6));
            Assert.Equal(i, r.GetInt64(7));
            if (i % 5 == 0) Assert.Equal(ValueKind.Null, r.GetKind(8)); else Assert.Equal($"label-{i % 3}", r.GetString(8));
            i++;
        }
        Assert.Equal(25000, i);
    }

    /// <summary>
    /// DELTA_BINARY_PACKED integers as Arrow's C++ writer writes them (pages of version 1 and 2, Snappy, Zstd or
    /// none, several pages and row groups): every value, the extremes whose deltas take 64 bits among them, and
    /// nulls, read without Parquet.Net, and a build from them groups them.
    /// </summary>
    [Theory]
    [InlineData(ParquetSharp.ParquetDataPageVersion.V1, ParquetSharp.Compression.Snappy)]
    [InlineData(ParquetSharp.ParquetDataPageVersion.V2, ParquetSharp.Compression.Snappy)]
    [InlineData(ParquetSharp.ParquetDataPageVersion.V2, ParquetSharp.Compression.Zstd)]
    [InlineData(ParquetSharp.ParquetDataPageVersion.V2, ParquetSharp.Compression.Uncompressed)]
    public void Delta_encoded_integers_read_without_ParquetNet(ParquetSharp.ParquetDataPageVersion version, ParquetSharp.Compression codec)
    {
        const int rows = 20_000;
        int Small(int i) => (i % 97) switch { 0 => int.MinValue, 1 => int.MaxValue, 2 => 0, 3 => -1, _ => unchecked(i * 1_000_003) };
        long? Large(int i) => (i % 11) switch { 0 => null, 1 => long.MinValue, 2 => long.MaxValue, 3 => long.MinValue, _ => (long)i * i * (i % 2 == 0 ? -7919 : 104_729) };
        var epoch = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        DateTime? When(int i) => i % 7 == 0 ? null : epoch.AddTicks((long)i * 123_457_890);
        long? Gap(int i) => i is >= 2000 and < 9000 ? null : i; // whole pages of nulls
        using var t = new TempDir();
        var path = t["delta [v] .parquet"];
        using (var props = new ParquetSharp.WriterPropertiesBuilder().Compression(codec).DataPageVersion(version).DisableDictionary()
                   .Encoding("small", ParquetSharp.Encoding.DeltaBinaryPacked).Encoding("large", ParquetSharp.Encoding.DeltaBinaryPacked)
                   .Encoding("when", ParquetSharp.Encoding.DeltaBinaryPacked).Encoding("gap", ParquetSharp.Encoding.DeltaBinaryPacked).DataPagesize(8 << 10).Build())
        using (var w = new ParquetSharp.ParquetFileWriter(path,
            [new ParquetSharp.Column<string>("k"), new ParquetSharp.Column<int>("small"), new ParquetSharp.Column<long?>("large"), new ParquetSharp.Column<DateTime?>("when"), new ParquetSharp.Column<long?>("gap")], props))
        {
            for (int start = 0; start < rows; start += 6000)
            {
                int n = Math.Min(6000, rows - start);
                var range = Enumerable.Range(start, n);
                using var rg = w.AppendRowGroup();
                using (var c = rg.NextColumn().LogicalWriter<string>()) c.WriteBatch(range.Select(i => $"k{i % 5}").ToArray());
                using (var c = rg.NextColumn().LogicalWriter<int>()) c.WriteBatch(range.Select(Small).ToArray());
                using (var c = rg.NextColumn().LogicalWriter<long?>()) c.WriteBatch(range.Select(Large).ToArray());
                using (var c = rg.NextColumn().LogicalWriter<DateTime?>()) c.WriteBatch(range.Select(When).ToArray());
                using (var c = rg.NextColumn().LogicalWriter<long?>()) c.WriteBatch(range.Select(Gap).ToArray());
            }
            w.Close();
        }
        // The file is what the test means: DELTA_BINARY_PACKED pages of the version asked for.
        var chunks = DuckSql.Row($"SELECT count(*) FILTER (encodings LIKE '%DELTA_BINARY_PACKED%'), count(*) FROM parquet_metadata('{path}') WHERE path_in_schema <> 'k'");
        Assert.Equal(4 * 4, Convert.ToInt64(chunks[0])); // 4 row groups, 4 integer columns
        Assert.Equal(4 * 4, Convert.ToInt64(chunks[1]));
        using (var r = (ParquetRecordReader)SourceFiles.Open(path))
        {
            Assert.Equal([ValueKind.String, ValueKind.Int32, ValueKind.Int64, ValueKind.Timestamp, ValueKind.Int64], Enumerable.Range(0, r.FieldCount).Select(i => r.GetDeclaredColumn(i)!.Kind));
            int i = 0;
            while (r.Read())
            {
                Assert.Equal($"k{i % 5}", r.GetString(0));
                Assert.Equal(Small(i), r.GetInt64(1));
                if (Large(i) is long l) Assert.Equal(l, r.GetInt64(2)); else Assert.Equal(ValueKind.Null, r.GetKind(2));
                if (When(i) is DateTime d) Assert.Equal(d, r.GetDateTime(3).ToUniversalTime()); else Assert.Equal(ValueKind.Null, r.GetKind(3));
                if (Gap(i) is long g) Assert.Equal(g, r.GetInt64(4)); else Assert.Equal(ValueKind.Null, r.GetKind(4));
                i++;
            }
            Assert.Equal(rows, i);
            Assert.False(r.OpenedParquetNet);
        }
        Assert.Equal(Enumerable.Range(0, rows).Where(i => i % 5 == 3).Select(i => Large(i)), GroupOf(t, path, rows, "k3").Select(rec => (long?)rec[2]));
    }

    // The file built into groups by its column k (all its rows), and the records of group `key`.
    private static List<object?[]> GroupOf(TempDir t, string path, int rows, string key)
    {
        using (var b = new GroupedDatasetBuilder(t["ds"], new BuildOptions { Key = KeySpec.FromColumns("k") }))
        {
            using (var r = SourceFiles.Open(path)) b.AddAll(r);
            Assert.Equal(rows, b.Complete().RecordCount);
        }
        using var ds = GroupedDataset.Open(t["ds"]);
        return ds.ReadRecords(ds.FindGroup(key)!).ToList();
    }

    /// <summary>
    /// Text in DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY and numbers in BYTE_STREAM_SPLIT, as Arrow's C++
    /// writer writes them (pages of version 1 and 2): every value, empty and non-ASCII text, shared prefixes,
    /// NaN, infinities and negative zero among them, read without Parquet.Net, and built into groups.
    /// </summary>
    [Theory]
    [InlineData(ParquetSharp.ParquetDataPageVersion.V1, ParquetSharp.Compression.Snappy)]
    [InlineData(ParquetSharp.ParquetDataPageVersion.V2, ParquetSharp.Compression.Snappy)]
    [InlineData(ParquetSharp.ParquetDataPageVersion.V2, ParquetSharp.Compression.Zstd)]
    public void Delta_text_and_split_numbers_read_without_ParquetNet(ParquetSharp.ParquetDataPageVersion version, ParquetSharp.Compression codec)
    {
        const int rows = 20_000;
        string? Lengths(int i) => i % 13 == 0 ? null : i % 17 == 0 ? "" : new string((char)('a' + i % 26), i % 50) + (i % 3 == 0 ? "é€" : "") + i;
        string? Prefixed(int i) => i % 11 == 0 ? null : $"https://example.org/{i / 100:D4}/page-{i % 100:D2}" + (i % 7 == 0 ? "/ü" : "");
        double? Split(int i) => (i % 19) switch { 0 => null, 1 => double.NaN, 2 => double.PositiveInfinity, 3 => double.NegativeInfinity, 4 => -0.0, _ => i * 1.000001 - 5000 };
        float Single(int i) => i % 5 == 0 ? float.MaxValue : i / 3f;
        using var t = new TempDir();
        var path = t["delta text.parquet"];
        using (var props = new ParquetSharp.WriterPropertiesBuilder().Compression(codec).DataPageVersion(version).DisableDictionary()
                   .Encoding("lengths", ParquetSharp.Encoding.DeltaLengthByteArray).Encoding("prefixed", ParquetSharp.Encoding.DeltaByteArray)
                   .Encoding("split", ParquetSharp.Encoding.ByteStreamSplit).Encoding("single", ParquetSharp.Encoding.ByteStreamSplit)
                   .DataPagesize(8 << 10).Build())
        using (var w = new ParquetSharp.ParquetFileWriter(path,
            [new ParquetSharp.Column<string>("k"), new ParquetSharp.Column<string>("lengths"), new ParquetSharp.Column<string>("prefixed"),
             new ParquetSharp.Column<double?>("split"), new ParquetSharp.Column<float>("single")], props))
        {
            for (int start = 0; start < rows; start += 6000)
            {
                var range = Enumerable.Range(start, Math.Min(6000, rows - start));
                using var rg = w.AppendRowGroup();
                using (var c = rg.NextColumn().LogicalWriter<string>()) c.WriteBatch(range.Select(i => $"k{i % 5}").ToArray());
                using (var c = rg.NextColumn().LogicalWriter<string>()) c.WriteBatch(range.Select(i => Lengths(i)!).ToArray());
                using (var c = rg.NextColumn().LogicalWriter<string>()) c.WriteBatch(range.Select(i => Prefixed(i)!).ToArray());
                using (var c = rg.NextColumn().LogicalWriter<double?>()) c.WriteBatch(range.Select(Split).ToArray());
                using (var c = rg.NextColumn().LogicalWriter<float>()) c.WriteBatch(range.Select(Single).ToArray());
            }
            w.Close();
        }
        var encodings = DuckSql.Row($"SELECT string_agg(DISTINCT path_in_schema || ':' || encodings, ' ' ORDER BY path_in_schema || ':' || encodings) FROM parquet_metadata('{path}') WHERE path_in_schema <> 'k'");
        Assert.Equal("lengths:DELTA_LENGTH_BYTE_ARRAY prefixed:DELTA_BYTE_ARRAY single:BYTE_STREAM_SPLIT split:BYTE_STREAM_SPLIT",
            System.Text.RegularExpressions.Regex.Replace(Convert.ToString(encodings[0])!, @"RLE, ", ""));
        using (var r = (ParquetRecordReader)SourceFiles.Open(path))
        {
            int i = 0;
            while (r.Read())
            {
                Assert.Equal($"k{i % 5}", r.GetString(0));
                if (Lengths(i) is { } l) Assert.Equal(l, r.GetString(1)); else Assert.Equal(ValueKind.Null, r.GetKind(1));
                if (Prefixed(i) is { } p) Assert.Equal(p, r.GetString(2)); else Assert.Equal(ValueKind.Null, r.GetKind(2));
                if (Split(i) is double d) Assert.Equal(BitConverter.DoubleToInt64Bits(d), BitConverter.DoubleToInt64Bits(r.GetDouble(3))); else Assert.Equal(ValueKind.Null, r.GetKind(3));
                Assert.Equal(Single(i), (float)r.GetDouble(4));
                i++;
            }
            Assert.Equal(rows, i);
            Assert.False(r.OpenedParquetNet);
        }
        Assert.Equal(Enumerable.Range(0, rows).Where(i => i % 5 == 2).Select(i => Prefixed(i)), GroupOf(t, path, rows, "k2").Select(rec => (string?)rec[2]));
    }

    [Fact]
    public async Task A_row_group_too_large_to_hold_is_read_a_window_at_a_time_with_the_same_values()
    {
        static string Body(long i) => $"text {i} " + new string((char)('a' + i % 26), 60 + (int)(i % 50)) + " é";
        // One row group of 300,000 rows written by Arrow's C++ writer (ParquetSharp), as pyarrow writes:
        // ~30 MB of unique text in 1 MB pages, dictionary-encoded until the dictionary is full and plain
        // after; a low-cardinality column with nulls; a column null in long runs.
        using var t = new TempDir();
        var path = t["big row group.parquet"];
        const int rows = 300_000;
        using (var w = new ParquetSharp.ParquetFileWriter(path,
            [new ParquetSharp.Column<string>("user"), new ParquetSharp.Column<long>("n"), new ParquetSharp.Column<string>("body"),
             new ParquetSharp.Column<string>("label"), new ParquetSharp.Column<string>("sparse")], ParquetSharp.Compression.Snappy))
        {
            using var rg = w.AppendRowGroup();
            using (var c = rg.NextColumn().LogicalWriter<string>()) c.WriteBatch(Enumerable.Range(0, rows).Select(i => $"user-{i % 97}").ToArray());
            using (var c = rg.NextColumn().LogicalWriter<long>()) c.WriteBatch(Enumerable.Range(0, rows).Select(i => (long)i).ToArray());
            using (var c = rg.NextColumn().LogicalWriter<string>()) c.WriteBatch(Enumerable.Range(0, rows).Select(i => Body(i)).ToArray());
            using (var c = rg.NextColumn().LogicalWriter<string>()) c.WriteBatch(Enumerable.Range(0, rows).Select(i => i % 9 == 0 ? null! : $"label-{i % 5}").ToArray());
            using (var c = rg.NextColumn().LogicalWriter<string>()) c.WriteBatch(Enumerable.Range(0, rows).Select(i => i is >= 100000 and <= 180000 ? null! : $"v{i}").ToArray());
            w.Close();
        }

        // The chunk: streamed, every value right whatever the windows, and the buffers far smaller than the chunk.
        await using (var fs = new FileStream(path, FileMode.Open, FileAccess.Read))
        await using (var reader = await ParquetReader.CreateAsync(fs, leaveStreamOpen: true))
        {
            var meta = reader.Metadata!.RowGroups[0];
            Assert.Single(reader.Metadata!.RowGroups);
            var field = reader.Schema.DataFields.Single(f => f.Name == "body");
            Assert.True(meta.Columns.Single(c => c.MetaData!.PathInSchema[0] == "body").MetaData!.TotalUncompressedSize > 3 * Grouper.Format.PlainTextChunk.StreamAbove);
            var chunk = new Grouper.Format.PlainTextChunk(GrouperErrorKind.InvalidData);
            Assert.True(chunk.TryBegin(new Grouper.Format.RowGroupFile(fs.SafeFileHandle, path, meta), field.Name, field.IsNullable, rows));
            Assert.True(chunk.Streaming);
            var rng = new Random(4);
            long peak = 0;
            for (int from = 0; from < rows;)
            {
                int count = Math.Min(1 + rng.Next(5000), rows - from);
                chunk.Advance(from, count);
                for (int i = from; i < from + count; i++) Assert.Equal(Body(i), System.Text.Encoding.UTF8.GetString(chunk.GetUtf8(i)));
                peak = Math.Max(peak, chunk.BufferBytes);
                from += count;
            }
            Assert.True(peak < 6 << 20, $"the streamed chunk's buffers reached {peak} bytes");
        }

        // The source: every row, as written; the chunk streamed where its row group is too large to read ahead
        // (over 32 MB here), read whole where it is not (on the thread that reads ahead, in a build).
        foreach (var readAhead in new[] { 32L << 20, 64L << 20 })
        {
            using var r = (ParquetRecordReader)SourceFiles.Open(path);
            r.ReadAheadLimit = readAhead;
            long n = 0;
            while (r.Read())
            {
                if (n == 0) Assert.Equal(readAhead == 32L << 20, r.TextStreamed(2));
                Assert.Equal(n, r.GetInt64(1));
                Assert.Equal($"user-{n % 97}", r.GetChars(0).ToString());
                Assert.True(r.TryGetUtf8(2, out var body));
                Assert.Equal(Body(n), System.Text.Encoding.UTF8.GetString(body));
                if (n % 9 == 0) Assert.Equal(ValueKind.Null, r.GetKind(3)); else Assert.Equal($"label-{n % 5}", r.GetString(3));
                if (n is >= 100000 and <= 180000) Assert.Equal(ValueKind.Null, r.GetKind(4)); else Assert.Equal($"v{n}", r.GetString(4));
                n++;
            }
            Assert.Equal(rows, n);
        }
    }

    /// <summary>Reads a (nullable) text column's chunk streamed, a source's window of rows at a time, checking every value; the largest its buffers grew.</summary>
    private static long StreamedWindowByWindow(Grouper.Format.RowGroupFile file, string column, int rows, Func<int, string?> expected)
    {
        var chunk = new Grouper.Format.PlainTextChunk(GrouperErrorKind.InvalidData);
        Assert.True(chunk.TryBegin(file, column, nullable: true, rows));
        Assert.True(chunk.Streaming);
        long peak = 0;
        for (int from = 0; from < rows; from += ParquetRecordReader.WindowRows)
        {
            int count = Math.Min(ParquetRecordReader.WindowRows, rows - from);
            chunk.Advance(from, count);
            for (int i = from; i < from + count; i++)
                if (expected(i) is { } v) Assert.Equal(v, System.Text.Encoding.UTF8.GetString(chunk.GetUtf8(i))); else Assert.True(chunk.IsNull(i));
            peak = Math.Max(peak, chunk.BufferBytes);
        }
        return peak;
    }

    [Theory]
    [InlineData(ParquetSharp.ParquetDataPageVersion.V1)]
    [InlineData(ParquetSharp.ParquetDataPageVersion.V2)]
    public async Task A_DELTA_BYTE_ARRAY_chunk_of_long_shared_prefixes_is_streamed_however_small_its_sizes(ParquetSharp.ParquetDataPageVersion version)
    {
        // Values that share all but their last bytes: the chunk's sizes are its suffixes' (a few hundred KB),
        // its values 120 MB once read. Read whole, as its sizes asked, a 72 KB file of such values took
        // 975 MB at a 64 MB budget; now the whole read stops when the values pass what the sizes allow, and
        // the chunk is streamed, and a page whose values are large (Arrow's pages hold 20,000 rows, 20 MB here)
        // is written out a window of rows at a time. Every tenth-odd value is null, to walk the levels too.
        const int rows = 120_000, length = 1000;
        var prefix = new string('x', length - 8);
        string? Value(int i) => i % 13 == 5 ? null : prefix + i.ToString("D8");
        using var t = new TempDir();
        var path = t["prefixed [values].parquet"];
        using (var props = new ParquetSharp.WriterPropertiesBuilder().Compression(ParquetSharp.Compression.Snappy).DataPageVersion(version)
                   .DisableDictionary("blob").Encoding("blob", ParquetSharp.Encoding.DeltaByteArray).Build())
        using (var w = new ParquetSharp.ParquetFileWriter(path, [new ParquetSharp.Column<string>("user"), new ParquetSharp.Column<string>("blob")], props))
        {
            using var rg = w.AppendRowGroup();
            using (var c = rg.NextColumn().LogicalWriter<string>()) c.WriteBatch(Enumerable.Range(0, rows).Select(i => $"u{i % 7}").ToArray());
            using (var c = rg.NextColumn().LogicalWriter<string>()) c.WriteBatch(Enumerable.Range(0, rows).Select(i => Value(i)!).ToArray());
            w.Close();
        }
        await using (var fs = new FileStream(path, FileMode.Open, FileAccess.Read))
        await using (var reader = await ParquetReader.CreateAsync(fs, leaveStreamOpen: true))
        {
            var meta = reader.Metadata!.RowGroups[0];
            var column = meta.Columns.Single(c => c.MetaData!.PathInSchema[0] == "blob").MetaData!;
            Assert.Contains(Parquet.Meta.Encoding.DELTA_BYTE_ARRAY, column.Encodings!);
            Assert.True(column.TotalUncompressedSize < Grouper.Format.PlainTextChunk.StreamAbove / 4);
            long peak = StreamedWindowByWindow(new Grouper.Format.RowGroupFile(fs.SafeFileHandle, path, meta), "blob", rows, Value);
            // A window's values (4 MB) and the rows kept across a window's edge, not a page's (20 MB) or the chunk's.
            Assert.True(peak < 8 << 20, $"the streamed chunk's buffers reached {peak} bytes");
        }
        // The source reads every row so, without Parquet.Net.
        using var r = (ParquetRecordReader)SourceFiles.Open(path);
        int n = 0;
        while (r.Read())
        {
            if (n == 0) Assert.True(r.TextStreamed(1));
            if (Value(n) is { } v) Assert.Equal(v, r.GetString(1)); else Assert.Equal(ValueKind.Null, r.GetKind(1));
            n++;
        }
        Assert.Equal(rows, n);
        Assert.False(r.OpenedParquetNet);
    }

    [Fact]
    public async Task A_row_group_of_millions_of_short_values_is_streamed_however_small_its_sizes()
    {
        // 1.2 million rows of a few dictionary values: a chunk of a few KB, whose rows' places alone (8 bytes a
        // row) would take 10 MB read whole; 10 million such rows took 285 MB at a 64 MB budget.
        const int rows = 1_200_000;
        using var t = new TempDir();
        var path = t["tall.parquet"];
        using (var w = new ParquetSharp.ParquetFileWriter(path, [new ParquetSharp.Column<string>("user_id"), new ParquetSharp.Column<long>("n")], ParquetSharp.Compression.Snappy))
        {
            using var rg = w.AppendRowGroup();
            using (var c = rg.NextColumn().LogicalWriter<string>()) c.WriteBatch(Enumerable.Range(0, rows).Select(i => $"u{i % 5}").ToArray());
            using (var c = rg.NextColumn().LogicalWriter<long>()) c.WriteBatch(Enumerable.Range(0, rows).Select(i => (long)(i % 3)).ToArray());
            w.Close();
        }
        await using (var fs = new FileStream(path, FileMode.Open, FileAccess.Read))
        await using (var reader = await ParquetReader.CreateAsync(fs, leaveStreamOpen: true))
        {
            var meta = reader.Metadata!.RowGroups[0];
            Assert.True(meta.Columns.All(c => c.MetaData!.TotalUncompressedSize < 1 << 20));
            long peak = StreamedWindowByWindow(new Grouper.Format.RowGroupFile(fs.SafeFileHandle, path, meta), "user_id", rows, i => $"u{i % 5}");
            Assert.True(peak < 2 << 20, $"the streamed chunk's buffers reached {peak} bytes");
        }
        // The source so, as in a build at a 64 MB budget (which reads ahead row groups of up to an eighth of it).
        using var r = (ParquetRecordReader)SourceFiles.Open(path);
        r.ReadAheadLimit = 8L << 20;
        long n = 0;
        while (r.Read())
        {
            if (n == 0) Assert.True(r.TextStreamed(0));
            Assert.Equal($"u{n % 5}", r.GetString(0));
            Assert.Equal(n % 3, r.GetInt64(1));
            n++;
        }
        Assert.Equal(rows, n);
        Assert.False(r.OpenedParquetNet);
    }

    [Fact]
    public void A_DuckDB_file_builds_into_groups_equal_to_DuckDB_group_by()
    {
        using var t = new TempDir();
        var path = t["in.parquet"];
        DuckSql.Run($"COPY (SELECT 'k' || (i * 7919 % 50) AS k, i FROM range(10000) r(i)) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000)");
        using (var b = new GroupedDatasetBuilder(t["ds"], new BuildOptions { Key = KeySpec.FromColumns("k") }))
        {
            using (var r = SourceFiles.Open(path)) b.AddAll(r);
            b.Complete();
        }
        using var ds = GroupedDataset.Open(t["ds"]);
        Assert.Equal(50, ds.GroupCount);
        foreach (var g in ds.EnumerateGroups())
        {
            var ids = ds.ReadRecords(g).Select(v => (long)v[1]!).ToList();
            Assert.Equal(ids.Order(), ids); // input order within the group
            Assert.All(ids, id => Assert.Equal(g.Key, "k" + id * 7919 % 50));
        }
        Assert.Equal(10000, ds.EnumerateGroups().Sum(g => g.RecordCount));
        Assert.Equal(ValueKind.Int64, ds.Columns[1].Kind);
    }

    /// <summary>A JSON text with every number as a double's shortest text: DuckDB writes 2.0 where .NET writes 2.</summary>
    private static string? CanonicalJson(string? json)
    {
        if (json is null) return null;
        static string Canon(System.Text.Json.Nodes.JsonNode? n) => n switch
        {
            null => "null",
            System.Text.Json.Nodes.JsonObject o => "{" + string.Join(",", o.Select(p => System.Text.Json.JsonSerializer.Serialize(p.Key) + ":" + Canon(p.Value))) + "}",
            System.Text.Json.Nodes.JsonArray a => "[" + string.Join(",", a.Select(Canon)) + "]",
            System.Text.Json.Nodes.JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.Number => v.GetValue<double>().ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            _ => n.ToJsonString(),
        };
        return Canon(System.Text.Json.Nodes.JsonNode.Parse(json));
    }

    [Fact]
    public void Nested_columns_are_read_as_the_json_duckdb_writes_for_them()
    {
        // Lists, structs, maps and their nestings, with nulls at every level and empty lists, over several row
        // groups: each value's JSON against DuckDB's to_json of the same value. They were refused.
        using var t = new TempDir();
        var path = t["nested.parquet"];
        const string columns = """
            CASE WHEN i % 7 = 0 THEN NULL WHEN i % 5 = 0 THEN [] ELSE [i, NULL, i * 2][1:(i % 4)] END AS l,
            CASE WHEN i % 6 = 0 THEN NULL ELSE {'a': CASE WHEN i % 4 = 0 THEN NULL ELSE i END, 'b': [i % 3, i % 5], 'c': {'d': 'x' || i, 'e': NULL::INT}} END AS s,
            CASE WHEN i % 9 = 0 THEN NULL WHEN i % 4 = 0 THEN MAP {} ELSE MAP {'k' || (i % 3): i, 'z': NULL} END AS m,
            CASE WHEN i % 8 = 0 THEN NULL ELSE [[i], [], NULL, [NULL, i + 1]][1:(i % 5)] END AS ll,
            CASE WHEN i % 3 = 0 THEN [{'x': i, 'y': NULL}, NULL] ELSE [{'x': NULL, 'y': 'é' || i}] END AS ls,
            CASE WHEN i % 2 = 0 THEN [MAP {'q': [1.5, NULL]}] ELSE NULL END AS lm,
            [i % 2 = 0, NULL] AS flags,
            {'day': DATE '2024-01-01' + (i % 30)::INT, 'amount': (i / 8)::DECIMAL(10, 3), 'w': 1e300 * i} AS typed
            """;
        // Row groups of about 10,000 rows and then the rest: nested values are assembled a window of 4,096 rows at a time.
        DuckSql.Run($"COPY (SELECT i AS id, 'g' || (i % 10) AS g, {columns} FROM range(12000) r(i)) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 10000)");
        string[] names = ["l", "s", "m", "ll", "ls", "lm", "flags", "typed"];
        var expected = new Dictionary<long, string?[]>();
        using (var db = new DuckDBConnection("Data Source=:memory:"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"SELECT id, {string.Join(", ", names.Select(n => $"to_json({n})"))} FROM read_parquet('{path}')";
            using var dr = cmd.ExecuteReader();
            while (dr.Read()) expected[dr.GetInt64(0)] = names.Select((_, i) => dr.IsDBNull(i + 1) ? null : CanonicalJson(dr.GetString(i + 1))).ToArray();
        }
        Assert.Equal(12000, expected.Count);

        using (var r = SourceFiles.Open(path))
        {
            Assert.Equal(["id", "g", .. names], Enumerable.Range(0, r.FieldCount).Select(r.GetName));
            Assert.All(names, n => Assert.Equal(new ColumnSpec(n, ValueKind.String, true), r.GetDeclaredColumn(r.GetOrdinal(n))));
            int rows = 0;
            while (r.Read())
            {
                var want = expected[r.GetInt64(0)];
                for (int c = 0; c < names.Length; c++)
                    Assert.True(want[c] == (r.GetKind(c + 2) == ValueKind.Null ? null : CanonicalJson(r.GetString(c + 2))),
                        $"row {r.RowNumber}, {names[c]}: expected {want[c]}, got {(r.GetKind(c + 2) == ValueKind.Null ? "null" : r.GetString(c + 2))}");
                rows++;
            }
            Assert.Equal(12000, rows);
        }

        // And through a build: text columns of the dataset, grouped as any other.
        using (var b = new GroupedDatasetBuilder(t["ds"], new BuildOptions { Key = KeySpec.FromColumns("g") }))
        {
            using (var r = SourceFiles.Open(path)) b.AddAll(r);
            b.Complete();
        }
        using var ds = GroupedDataset.Open(t["ds"]);
        var g3 = ds.ReadRecords(ds.FindGroup("g3")!).ToList();
        Assert.Equal(1200, g3.Count);
        Assert.Equal("[3,null,6]", g3[0][2]);                                   // i = 3: three elements
        Assert.Equal("{\"a\":3,\"b\":[0,3],\"c\":{\"d\":\"x3\",\"e\":null}}", g3[0][3]);
        Assert.Equal("{\"k0\":3,\"z\":null}", g3[0][4]);                       // a map: an object keyed by its keys
        Assert.Equal("{\"day\":\"2024-01-04\",\"amount\":0.375,\"w\":3E+300}", g3[0][9]);
        Assert.Null(g3[6][4]);                                                  // i = 63: m is NULL, not "null"
    }

    [Fact]
    public async Task Nested_columns_parquet_net_writes_repeated_fields_lists_and_structs_read_as_json()
    {
        // A repeated field without a list around it (Parquet.Net's arrays), a three-level list and a struct.
        using var t = new TempDir();
        var path = t["pn.parquet"];
        var g = new DataField<string>("g");
        var xs = new DataField<int[]>("xs");
        var tags = new ListField("tags", new DataField<string>("element"));
        var a = new DataField<int?>("a");
        var b = new DataField<string>("b");
        var st = new StructField("s", a, b);
        await using (var fs = File.Create(path))
        {
            await using var w = await ParquetWriter.CreateAsync(new ParquetSchema(g, xs, tags, st), fs);
            using var rg = w.CreateRowGroup();
            await rg.WriteAsync(g, ["k", "k", "k"], null);
            await rg.WriteAsync<int>(xs, new int[] { 1, 2, 3, 4, 5, 6 }.AsMemory(), new int[] { 0, 1, 0, 0, 1, 1 }.AsMemory());
            await rg.WriteAsync((DataField)tags.Item, ["x", null, "y", "z"], new int[] { 0, 1, 0, 0 }.AsMemory());
            await rg.WriteAsync<int>(a, new int?[] { 7, null, 9 }.AsMemory(), null);
            await rg.WriteAsync(b, ["p", "q", null], null);
        }
        using var r = SourceFiles.Open(path);
        var got = new List<string[]>();
        while (r.Read()) got.Add(Enumerable.Range(1, 3).Select(o => r.GetKind(o) == ValueKind.Null ? "NULL" : r.GetString(o)).ToArray());
        Assert.Equal(["[1,2]", "[\"x\",null]", "{\"a\":7,\"b\":\"p\"}"], got[0]);
        Assert.Equal(["[3]", "[\"y\"]", "{\"a\":null,\"b\":\"q\"}"], got[1]);
        Assert.Equal(["[4,5,6]", "[\"z\"]", "{\"a\":9,\"b\":null}"], got[2]);
    }

    [Fact]
    public void Random_nested_types_and_values_read_as_duckdb_writes_them()
    {
        // Random nestings (lists, structs, maps up to three deep) of random values, nulls and empty lists at any
        // level, written by DuckDB in small row groups: every value's JSON against DuckDB's to_json.
        int cases = int.TryParse(Environment.GetEnvironmentVariable("GROUPER_FUZZ_CASES"), out int n) && n > 0 ? Math.Max(20, n / 10) : 25;
        var rng = new Random(20261130);
        using var t = new TempDir();
        for (int c = 0; c < cases; c++)
        {
            var type = RandomType(rng, 0);
            int rows = rng.Next(1, 120);
            var values = Enumerable.Range(0, rows).Select(i => $"({i}, {RandomValue(rng, type, 0)}::{type})");
            var path = t[$"f{c}.parquet"];
            DuckSql.Run($"COPY (SELECT * FROM (VALUES {string.Join(", ", values)}) v(id, x)) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE {rng.Next(1, 40)})");
            var expected = new Dictionary<long, string?>();
            using (var db = new DuckDBConnection("Data Source=:memory:"))
            {
                db.Open();
                using var cmd = db.CreateCommand();
                cmd.CommandText = $"SELECT id, to_json(x) FROM read_parquet('{path}')";
                using var dr = cmd.ExecuteReader();
                while (dr.Read()) expected[Convert.ToInt64(dr.GetValue(0))] = dr.IsDBNull(1) ? null : CanonicalJson(dr.GetString(1));
            }
            using var r = SourceFiles.Open(path);
            int read = 0;
            while (r.Read())
            {
                var got = r.GetKind(1) == ValueKind.Null ? null : CanonicalJson(r.GetString(1));
                Assert.True(expected[r.GetInt64(0)] == got, $"case {c} ({type}), id {r.GetInt64(0)}: expected {expected[r.GetInt64(0)]}, got {got}");
                read++;
            }
            Assert.Equal(rows, read);
        }
    }

    // The top is nested: a flat column is not JSON.
    private static string RandomType(Random rng, int depth) => (depth == 0 ? rng.Next(4, 7) : depth >= 3 ? rng.Next(4) : rng.Next(7)) switch
    {
        0 => "INTEGER",
        1 => "VARCHAR",
        2 => "DOUBLE",
        3 => "BOOLEAN",
        4 => RandomType(rng, depth + 1) + "[]",
        5 => $"STRUCT(a {RandomType(rng, depth + 1)}, b {RandomType(rng, depth + 1)})",
        _ => $"MAP(VARCHAR, {RandomType(rng, depth + 1)})",
    };

    private static string RandomValue(Random rng, string type, int depth)
    {
        if (rng.Next(6) == 0) return "NULL";
        if (type.EndsWith("[]", StringComparison.Ordinal))
        {
            var item = type[..^2];
            return "[" + string.Join(", ", Enumerable.Range(0, rng.Next(4)).Select(_ => RandomValue(rng, item, depth + 1))) + "]";
        }
        if (type.StartsWith("STRUCT(", StringComparison.Ordinal))
        {
            var (a, b) = SplitFields(type[7..^1]);
            return $"{{'a': {RandomValue(rng, a, depth + 1)}, 'b': {RandomValue(rng, b, depth + 1)}}}";
        }
        if (type.StartsWith("MAP(VARCHAR, ", StringComparison.Ordinal))
        {
            var value = type[13..^1];
            return "MAP {" + string.Join(", ", Enumerable.Range(0, rng.Next(3)).Select(k => $"'k{k}': {RandomValue(rng, value, depth + 1)}")) + "}";
        }
        return type switch
        {
            "INTEGER" => rng.Next(-1000, 1000).ToString(System.Globalization.CultureInfo.InvariantCulture),
            "VARCHAR" => "'" + new string('é', rng.Next(3)) + rng.Next(100) + "'",
            "DOUBLE" => (rng.NextDouble() * 100 - 50).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            _ => rng.Next(2) == 0 ? "true" : "false",
        };
    }

    /// <summary>"a T, b U" of a struct type: the two field types, split at the comma outside parentheses.</summary>
    private static (string A, string B) SplitFields(string fields)
    {
        int depth = 0;
        for (int i = 0; i < fields.Length; i++)
        {
            if (fields[i] == '(') depth++;
            else if (fields[i] == ')') depth--;
            else if (fields[i] == ',' && depth == 0) return (fields[2..i], fields[(i + 4)..]);
        }
        throw new ArgumentException(fields);
    }

    [Fact]
    public void A_declared_uint64_column_takes_other_sources_integers_while_none_is_negative()
    {
        using var t = new TempDir();
        DuckSql.Run($"COPY (SELECT 'a' AS k, 18446744073709551615::UBIGINT AS n) TO '{t["u.parquet"]}' (FORMAT parquet)");
        File.WriteAllText(t["ok.jsonl"], "{\"k\":\"b\",\"n\":7}\n");
        File.WriteAllText(t["bad.jsonl"], "{\"k\":\"c\",\"n\":-7}\n");
        GroupedDataset Build(string dest, params string[] inputs)
        {
            using (var b = new GroupedDatasetBuilder(t[dest], new BuildOptions { Key = KeySpec.FromColumns("k") }))
            {
                foreach (var input in inputs)
                    using (var r = SourceFiles.Open(t[input])) b.AddAll(r);
                b.Complete();
            }
            return GroupedDataset.Open(t[dest]);
        }
        using (var ds = Build("ok", "u.parquet", "ok.jsonl"))
        {
            Assert.Equal(ValueKind.UInt64, ds.Columns[1].Kind);
            Assert.Equal(7UL, ds.ReadRecords(ds.FindGroup("b")!).Single()[1]);
        }
        // A negative one would wrap: the build stops, naming the declaring file.
        var ex = Assert.Throws<GrouperException>(() => Build("bad", "u.parquet", "bad.jsonl").Dispose());
        Assert.Equal(GrouperErrorKind.SchemaMismatch, ex.Kind);
        Assert.Contains("'n' is uint64", ex.Message);
        Assert.Contains("u.parquet", ex.Message);
        Assert.False(Directory.Exists(t["bad"]));
    }

    [Fact]
    public void Nested_columns_cannot_be_imported_as_they_are()
    {
        using var t = new TempDir();
        Directory.CreateDirectory(t["in"]);
        DuckSql.Run($"COPY (SELECT 'a' AS user_id, 1 AS id, [1, 2] AS xs) TO '{t["in/0.parquet"]}' (FORMAT parquet)");
        var ex = Assert.Throws<GrouperException>(() => Grouper.Format.DatasetImporter.Import(t["in"], KeySpec.FromColumns("user_id"), t["ds"]));
        Assert.Equal(GrouperErrorKind.SchemaMismatch, ex.Kind);
        Assert.Contains("Column 'xs'", ex.Message);
        Assert.Contains("-Regroup", ex.Message);
        Assert.False(Directory.Exists(t["ds"]));
    }

    [Fact]
    public void A_truncated_file_is_reported()
    {
        using var t = new TempDir();
        var path = t["cut.parquet"];
        DuckSql.Run($"COPY (SELECT i FROM range(1000) r(i)) TO '{path}' (FORMAT parquet)");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var ex = Assert.Throws<GrouperException>(() => { using var r = SourceFiles.Open(path); while (r.Read()) { } });
        Assert.Equal(GrouperErrorKind.InvalidData, ex.Kind);
        Assert.Contains("cut.parquet", ex.Message);
    }

    [Fact]
    public async Task Parquet_net_files_with_several_row_groups_round_trip_every_type()
    {
        using var t = new TempDir();
        var path = t["pn.parquet"];
        var fields = new DataField[]
        {
            new DataField<string>("k"), new DataField<int?>("i"), new DataField<long>("l"), new DataField<double?>("d"), new DataField<bool>("b"),
            new DecimalDataField("m", 20, 5, false, true), new DateTimeDataField("ts", DateTimeFormat.Timestamp, true, DateTimeTimeUnit.Micros, false),
            new DataField<byte[]>("bin"), new DataField<short>("s"), new DataField<ulong>("u"),
            new DataField<string>("req", nullable: false), // a required text column: read into non-nullable slots
        };
        using (var fs = File.Create(path))
        {
            var w = await ParquetWriter.CreateAsync(new ParquetSchema(fields), fs);
            for (int g = 0; g < 3; g++)
            {
                using var rg = w.CreateRowGroup();
                int n = 100;
                var range = Enumerable.Range(g * n, n).ToArray();
                await rg.WriteAsync(fields[0], range.Select(i => "k" + i % 4).ToArray(), null);
                await rg.WriteAsync<int>(fields[1], range.Select(i => i % 3 == 0 ? (int?)null : i).ToArray().AsMemory(), null, null, default);
                await rg.WriteAsync<long>(fields[2], range.Select(i => (long)i << 33).ToArray().AsMemory(), null, null, default);
                await rg.WriteAsync<double>(fields[3], range.Select(i => i % 4 == 0 ? (double?)null : i / 7.0).ToArray().AsMemory(), null, null, default);
                await rg.WriteAsync<bool>(fields[4], range.Select(i => i % 2 == 0).ToArray().AsMemory(), null, null, default);
                await rg.WriteAsync<decimal>(fields[5], range.Select(i => (decimal?)(i * 1.25m)).ToArray().AsMemory(), null, null, default);
                await rg.WriteAsync<DateTime>(fields[6], range.Select(i => new DateTime(2021, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddTicks(i * 10L)).ToArray().AsMemory(), null, null, default);
                await rg.WriteAsync(fields[7], range.Select(i => new[] { (byte)i, (byte)(i >> 8) }).ToArray(), null);
                await rg.WriteAsync<short>(fields[8], range.Select(i => (short)-i).ToArray().AsMemory(), null, null, default);
                await rg.WriteAsync<ulong>(fields[9], range.Select(i => ulong.MaxValue - (ulong)i).ToArray().AsMemory(), null, null, default);
                await rg.WriteAsync(fields[10], range.Select(i => "r" + i).ToArray(), null);
            }
            await w.DisposeAsync();
        }
        using (var b = new GroupedDatasetBuilder(t["ds"], new BuildOptions { Key = KeySpec.FromColumns("k") }))
        {
            using (var r = SourceFiles.Open(path)) b.AddAll(r);
            b.Complete();
        }
        using var ds = GroupedDataset.Open(t["ds"]);
        Assert.Equal(["string", "int32", "int64", "double", "boolean", "decimal", "timestamp", "binary", "int16", "uint64", "string"], ds.Manifest.Schema.Select(c => c.Type));
        Assert.Equal([true, true, false, true, false, true, false, true, false, false, false], ds.Manifest.Schema.Select(c => c.Nullable));
        var g1 = ds.ReadRecords(ds.FindGroup("k1")!).ToList();
        Assert.Equal(75, g1.Count);
        var rec = g1[2]; // i = 9
        Assert.Equal<object?>(["k1", null, 9L << 33, 9 / 7.0, false, 11.25m, new DateTime(2021, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddTicks(90), new byte[] { 9, 0 }, (short)-9, ulong.MaxValue - 9, "r9"], rec);
        Assert.Equal(5, g1[1][1]); // i = 5
        Assert.Null(ds.ReadRecords(ds.FindGroup("k0")!).First()[1]);
    }
    [Theory]
    [InlineData("SNAPPY")]
    [InlineData("ZSTD")]
    [InlineData("GZIP")]
    [InlineData("LZ4_RAW")]
    [InlineData("BROTLI")]
    public void A_damaged_row_group_read_ahead_fails_where_it_is_reached_and_not_before(string codec)
    {
        // Row groups are decoded one ahead on another thread: the rows before a damaged one must all be read,
        // its failure must come when the reader reaches it, naming it and its first row, and a reader closed
        // before that must close quietly.
        using var t = new TempDir();
        var path = t["rows [4096].parquet"];
        DuckSql.Run($"COPY (SELECT 'user-' || (i % 13) AS user, i AS n, 'text ' || i || repeat('z', (i % 40)::INT) AS text FROM range(20480) r(i)) TO '{path}' (FORMAT parquet, COMPRESSION {codec}, ROW_GROUP_SIZE 4096)");
        var chunk = DuckSql.Row($"SELECT data_page_offset, total_compressed_size FROM parquet_metadata('{path}') WHERE row_group_id = 3 AND path_in_schema = 'text'");
        long offset = Convert.ToInt64(chunk[0]), size = Convert.ToInt64(chunk[1]);
        // The page's compressed body, past its header, made garbage.
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            fs.Position = offset + size / 2;
            fs.Write(Enumerable.Repeat((byte)0xFF, (int)Math.Min(256, size / 4)).ToArray());
        }

        using (var r = SourceFiles.Open(path))
        {
            long i = 0;
            var ex = Assert.Throws<GrouperException>(() =>
            {
                while (r.Read())
                {
                    Assert.Equal(i, r.GetInt64(1));
                    Assert.Equal($"text {i}" + new string('z', (int)(i % 40)), r.GetString(2));
                    i++;
                }
            });
            Assert.Equal(3 * 4096, i);
            Assert.Contains("row group 3", ex.Message);
            Assert.Equal(3 * 4096 + 1, ex.Row);
            Assert.Equal(path, ex.SourceName);
        }
        // Closed while the damaged row group may be loading ahead: no error.
        using (var r = SourceFiles.Open(path))
            for (int k = 0; k < 2 * 4096 + 10; k++) Assert.True(r.Read());
    }
    [Fact]
    public void Row_groups_are_read_ahead_within_the_limit_a_build_sets_and_read_the_same_either_way()
    {
        using var t = new TempDir();
        var path = t["ahead.parquet"];
        DuckSql.Run($"COPY (SELECT 'user-' || (i % 13) AS user, i AS n, CASE WHEN i % 7 = 0 THEN NULL ELSE (i * 0.5)::DOUBLE END AS x, 'text ' || i || repeat('z', 200) AS text FROM range(5 * 4096) r(i)) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 4096)");
        List<string> Rows(ParquetRecordReader r)
        {
            var rows = new List<string>();
            while (r.Read()) rows.Add($"{r.GetString(0)}|{r.GetInt64(1)}|{(r.GetKind(2) == ValueKind.Null ? "null" : r.GetDouble(2))}|{r.GetString(3)}");
            return rows;
        }
        using var ahead = (ParquetRecordReader)SourceFiles.Open(path);
        using var alone = (ParquetRecordReader)SourceFiles.Open(path);
        using var begun = (ParquetRecordReader)SourceFiles.Open(path);
        alone.ReadAheadLimit = 0;
        Assert.False(alone.BeginReading());
        Assert.True(begun.BeginReading()); // the first row group too, before the first Read
        Assert.False(begun.BeginReading());
        var a = Rows(ahead);
        Assert.Equal(a, Rows(alone));
        Assert.Equal(a, Rows(begun));
        Assert.Equal(5 * 4096, a.Count);
        Assert.Equal(4, ahead.RowGroupsReadAhead); // every row group after the first
        Assert.Equal(0, alone.RowGroupsReadAhead);
        Assert.Equal(5, begun.RowGroupsReadAhead);
        Assert.False(begun.BeginReading());

        // A build lowers the limit to an eighth of its budget: none of these row groups (about 0.9 MB each,
        // uncompressed) is read ahead at a budget of 4 MB, all at 256 MB (the first while the build compiles its loop).
        foreach (var (budget, readAhead) in new[] { (4L << 20, 0), (256L << 20, 5) })
        {
            using var r = (ParquetRecordReader)SourceFiles.Open(path);
            using var b = new GroupedDatasetBuilder(t[$"ds{budget}"], new BuildOptions { Key = KeySpec.FromColumns("user"), MemoryLimit = budget });
            b.AddAll(r);
            Assert.Equal(Math.Min(ParquetRecordReader.AheadMaxBytes, budget / 8), r.ReadAheadLimit);
            Assert.Equal(readAhead, r.RowGroupsReadAhead);
            Assert.Equal(5 * 4096, b.Complete().RecordCount);
        }
    }
}
