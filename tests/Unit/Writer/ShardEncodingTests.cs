using DuckDB.NET.Data;
using Grouper.Keys;
using Grouper.Reading;
using Grouper.Schema;
using Grouper.Writer;
using Xunit;
using static Grouper.Tests.TestRecords;

namespace Grouper.Tests.Writer;

/// <summary>
/// Every column of Snappy and uncompressed shards is encoded by Grouper's own chunk writers (Format/OwnChunk.cs
/// and those on it); with Zstd or Gzip every column goes to Parquet.Net (as the tests' Parquet.Net-only
/// option makes it do for any codec). The two must make the same files: byte for byte where text is encoded
/// PLAIN and the other columns are right in both, and the same values, statistics and schema otherwise. Runs
/// of one value in ascending order (the key, and the column it is taken from) are written as a dictionary,
/// which every reader must read back as the values.
/// </summary>
public class ShardEncodingTests
{
    internal static void Build(string dest, ColumnSpec[] columns, IEnumerable<object?[]> rows, bool parquetNetOnly,
        ShardCompression compression = ShardCompression.Snappy, bool plainTextOnly = false, KeySpec? key = null)
    {
        var options = new BuildOptions
        {
            Key = key ?? KeySpec.FromColumns("user"), MemoryLimit = 64 << 20, RowGroupMaxRows = 700, ShardTargetBytes = 200_000,
            Compression = compression, EncodeWithParquetNetOnly = parquetNetOnly, PlainTextOnly = plainTextOnly,
        };
        using var b = new GroupedDatasetBuilder(dest, options);
        using (var r = new TestRecords("test-input", columns, rows)) b.AddAll(r);
        b.Complete();
    }

    private static string[] Shards(string dataset) =>
        Directory.GetFiles(Path.Combine(dataset, "data"), "*.parquet").Order(StringComparer.Ordinal).ToArray();

    private static IEnumerable<object?[]> TextRows(int count)
    {
        var rng = new Random(7);
        for (int i = 0; i < count; i++)
        {
            // note: nulls alone, in runs, and none for stretches; blob: binary with nulls; text: empty strings and non-ASCII too
            string? note = (i / 50 % 3) switch { 0 => null, 1 => i % 2 == 0 ? null : $"n{i}", _ => $"note {i % 9}" };
            byte[]? blob = i % 11 == 0 ? null : BitConverter.GetBytes(i * 2654435761L);
            string text = i % 13 == 0 ? "" : string.Concat(Enumerable.Repeat(i % 5 == 0 ? "grüße " : "text ", 1 + rng.Next(30)));
            yield return [$"u{rng.Next(400):D4}", text, note, blob, null];
        }
    }

    private static readonly ColumnSpec[] TextColumns =
        [Col("user", ValueKind.String), Col("text", ValueKind.String), Col("note", ValueKind.String, nullable: true), Col("blob", ValueKind.Binary, nullable: true),
         Col("never", ValueKind.String, nullable: true)]; // null in every row

    [Theory]
    [InlineData(ShardCompression.Snappy)]
    [InlineData(ShardCompression.None)]
    public void Text_and_binary_chunks_are_the_bytes_Parquet_Net_writes(ShardCompression compression)
    {
        using var t = new TempDir();
        var rows = TextRows(20_000).ToList();
        Build(t["own"], TextColumns, rows, parquetNetOnly: false, compression, plainTextOnly: true);
        Build(t["library"], TextColumns, rows, parquetNetOnly: true, compression);
        AssertSameShards(t["own"], t["library"]);
    }

    // Several shards, each the same bytes in both datasets (the first difference shown, with the bytes around it).
    private static void AssertSameShards(string ownDataset, string libraryDataset)
    {
        var own = Shards(ownDataset);
        var library = Shards(libraryDataset);
        Assert.True(own.Length > 3, $"{own.Length} shards: the test wants several");
        Assert.Equal(library.Select(Path.GetFileName), own.Select(Path.GetFileName));
        for (int i = 0; i < own.Length; i++)
        {
            var (a, b) = (File.ReadAllBytes(own[i]), File.ReadAllBytes(library[i]));
            int at = a.AsSpan().CommonPrefixLength(b);
            string Around(byte[] x) => Convert.ToHexString(x.AsSpan(Math.Max(0, at - 16), Math.Min(48, x.Length - Math.Max(0, at - 16))));
            Assert.True(at == a.Length && a.Length == b.Length, $"{Path.GetFileName(own[i])} differs from byte {at} of {b.Length}: {Around(a)} vs {Around(b)}");
        }
    }

    // Every kind FixedWidthChunk, BooleanChunk and DecimalChunk encode, but timestamps of micro- and nanoseconds: their page statistics are
    // where the two differ (Parquet.Net writes them in milliseconds, a test below reads them back).
    internal static readonly ColumnSpec[] NumberColumns =
    [
        Col("user", ValueKind.String), Col("i8", ValueKind.Int8, nullable: true), Col("i16", ValueKind.Int16), Col("i32", ValueKind.Int32, nullable: true),
        Col("i64", ValueKind.Int64), Col("u8", ValueKind.UInt8), Col("u16", ValueKind.UInt16, nullable: true), Col("u32", ValueKind.UInt32),
        Col("u64", ValueKind.UInt64, nullable: true), Col("f32", ValueKind.Float, nullable: true), Col("f64", ValueKind.Double),
        Col("day", ValueKind.Date, nullable: true), Col("tod_ms", ValueKind.Time) with { Unit = TimeUnit.Millis }, Col("tod_us", ValueKind.Time, nullable: true),
        Col("tod_ns", ValueKind.Time) with { Unit = TimeUnit.Nanos }, Col("ts_ms", ValueKind.Timestamp, nullable: true) with { Unit = TimeUnit.Millis },
        Col("ts_ms_wall", ValueKind.Timestamp) with { Unit = TimeUnit.Millis, AdjustedToUtc = false },
        Col("flag", ValueKind.Boolean, nullable: true), Col("yes", ValueKind.Boolean), Col("no", ValueKind.Boolean, nullable: true),
        Col("d5", ValueKind.Decimal, nullable: true) with { Precision = 5, Scale = 2 }, Col("d18", ValueKind.Decimal) with { Precision = 18, Scale = 4 },
        Col("d29", ValueKind.Decimal, nullable: true) with { Precision = 29, Scale = 9 }, Col("d38", ValueKind.Decimal) with { Precision = 38, Scale = 9 },
    ];

    // Each column reaches its type's extremes in some row groups, negative and positive; nulls in runs and
    // scattered; floats of infinities, zeros of both signs.
    internal static IEnumerable<object?[]> NumberRows(int count)
    {
        var rng = new Random(5);
        var epoch = new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        for (int i = 0; i < count; i++)
        {
            bool edge = i % 97 == 0;
            long big = edge ? (i % 2 == 0 ? long.MinValue : long.MaxValue) : rng.NextInt64(-5_000_000_000, 5_000_000_000);
            double f = (i % 50) switch { 0 => double.PositiveInfinity, 1 => double.NegativeInfinity, 2 => -0.0, 3 => 0.0, _ => rng.NextDouble() * 2e6 - 1e6 };
            // Timestamps on both sides of 1970, to the tick: what lies below a millisecond is dropped.
            var ts = epoch.AddTicks(rng.NextInt64(-20_000_000_000_000_000, 20_000_000_000_000_000));
            yield return
            [
                $"u{rng.Next(300):D3}", i is >= 2100 and < 2800 || i % 9 == 0 ? null : (long)(edge ? sbyte.MinValue : rng.Next(-128, 128)),
                (long)(edge ? short.MaxValue : rng.Next(-32768, 32768)), i % 5 == 0 ? null : (long)(edge ? int.MinValue : rng.Next()),
                big, (ulong)(edge ? 255 : rng.Next(256)), i / 40 % 3 == 0 ? null : (ulong)rng.Next(65536),
                edge ? (ulong)uint.MaxValue : (ulong)(uint)rng.NextInt64(0, 1L << 32), i % 4 == 0 ? null : edge ? ulong.MaxValue : (ulong)rng.NextInt64() * 3,
                i % 6 == 0 ? null : (float)f, f,
                i % 7 == 0 ? null : DateOnly.FromDayNumber(edge ? (i % 2 == 0 ? 0 : DateOnly.MaxValue.DayNumber) : rng.Next(600_000, 800_000)),
                TimeSpan.FromTicks(rng.NextInt64(TimeSpan.TicksPerDay)), i % 3 == 0 ? null : TimeSpan.FromTicks(rng.NextInt64(TimeSpan.TicksPerDay)),
                TimeSpan.FromTicks(rng.NextInt64(TimeSpan.TicksPerDay)), i % 8 == 0 ? null : ts, DateTime.SpecifyKind(ts, DateTimeKind.Unspecified),
                // Booleans: both values, nulls; all true; false or null.
                i % 10 == 0 ? null : rng.Next(2) == 0, true, i % 3 == 0 ? null : false,
                // Decimals to their precision's extremes, of fewer decimals than the scale too (1.5 in scale 2).
                i % 6 == 0 ? null : edge ? (i % 2 == 0 ? -999.99m : 999.99m) : rng.Next(-99999, 100000) / 100m,
                edge ? (i % 2 == 0 ? -99_999_999_999_999.9999m : 99_999_999_999_999.9999m) : rng.NextInt64(-1_000_000_000_000, 1_000_000_000_000) / 10m,
                i % 4 == 0 ? null : edge ? (i % 2 == 0 ? -79_228_162_514_264_337_593.543950335m : 79_228_162_514_264_337_593.543950335m) : rng.NextInt64() / 1_000_000_000m,
                edge ? (i % 2 == 0 ? decimal.MinValue : decimal.MaxValue) : new decimal(rng.Next(), rng.Next(), rng.Next(1000), rng.Next(2) == 0, (byte)rng.Next(10)),
            ];
        }
    }

    [Theory]
    [InlineData(ShardCompression.Snappy)]
    [InlineData(ShardCompression.None)]
    public void Number_date_time_boolean_and_decimal_chunks_are_the_bytes_Parquet_Net_writes(ShardCompression compression)
    {
        using var t = new TempDir();
        var rows = NumberRows(12_000).ToList();
        Build(t["own"], NumberColumns, rows, parquetNetOnly: false, compression, plainTextOnly: true);
        Build(t["library"], NumberColumns, rows, parquetNetOnly: true, compression);
        AssertSameShards(t["own"], t["library"]);
    }

    private static readonly ColumnSpec[] MixedColumns =
    [
        Col("user", ValueKind.String), Col("n", ValueKind.Int64, nullable: true), Col("text", ValueKind.String, nullable: true),
        Col("x", ValueKind.Double), Col("flag", ValueKind.Boolean, nullable: true), Col("blob", ValueKind.Binary),
        Col("seen", ValueKind.Timestamp, nullable: true), Col("label", ValueKind.String),
    ];

    private static IEnumerable<object?[]> MixedRows(int count)
    {
        var rng = new Random(3);
        var start = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        for (int i = 0; i < count; i++)
            yield return
            [
                $"user-{rng.Next(250):D3}", i % 7 == 0 ? null : (long)i * 31, i % 5 == 0 ? null : new string('t', rng.Next(40)),
                i / 3.0, i % 4 == 0 ? null : i % 3 == 0, new byte[] { (byte)i, (byte)(i >> 8) },
                i % 6 == 0 ? null : start.AddSeconds(i), $"label-{i % 4}",
            ];
    }

    [Fact]
    public void Row_groups_mixing_both_encoders_read_back_as_written_by_Grouper_Parquet_Net_and_DuckDB()
    {
        using var t = new TempDir();
        var rows = MixedRows(12_000).ToList();
        Build(t["own"], MixedColumns, rows, parquetNetOnly: false);
        Build(t["library"], MixedColumns, rows, parquetNetOnly: true);

        using (var own = GroupedDataset.Open(t["own"]))
        using (var library = GroupedDataset.Open(t["library"]))
        {
            Assert.Equal(library.Columns.Select(c => (c.Name, c.Kind, c.Nullable)), own.Columns.Select(c => (c.Name, c.Kind, c.Nullable)));
            var groups = own.EnumerateGroups().ToList();
            Assert.Equal(library.EnumerateGroups().Select(g => (g.Key, g.Shard, g.RowOffset, g.RecordCount)), groups.Select(g => (g.Key, g.Shard, g.RowOffset, g.RecordCount)));
            var expected = rows.GroupBy(r => (string)r[0]!).ToDictionary(g => g.Key, g => g.ToList());
            foreach (var g in groups)
            {
                var got = own.ReadRecords(g).ToList();
                Assert.Equal(expected[g.Key].Count, got.Count);
                for (int i = 0; i < got.Count; i++) Assert.Equal(expected[g.Key][i], got[i]);
            }
        }

        // Every engine sees the same table and the same statistics in both; the key's min and max are per row group.
        static string Query(string dataset, string sql) => string.Join("\n", DuckRows(dataset, sql).Select(r => string.Join("|", r)));
        foreach (var sql in new[]
        {
            "SELECT count(*), count(n), sum(n), count(text), sum(length(text)), sum(round(x * 3))::BIGINT, count(flag), sum(flag::INT), sum(octet_length(blob)), count(seen), max(seen), count(DISTINCT label), count(DISTINCT __group_key) FROM read_parquet($files)",
            // Bounds but for the timestamps' (Parquet.Net's are wrong and left out; Grouper's are kept: ShardStatisticsTests).
            "SELECT file_name[-21:], row_group_id, path_in_schema, type, num_values, CASE WHEN path_in_schema <> 'seen' THEN stats_min_value END, " +
            "CASE WHEN path_in_schema <> 'seen' THEN stats_max_value END, stats_null_count FROM parquet_metadata($files) ORDER BY 1, 2, 3",
            "SELECT name, type, converted_type, logical_type, repetition_type FROM parquet_schema($files) ORDER BY file_name, name",
        })
        {
            var own = Query(t["own"], sql);
            Assert.False(string.IsNullOrEmpty(own));
            Assert.Equal(Query(t["library"], sql), own);
        }
        Assert.Equal(rows.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Query(t["own"], "SELECT count(*) FROM read_parquet($files) WHERE __group_key = user"));
    }

    [Theory]
    [InlineData(ShardCompression.Zstd)]
    [InlineData(ShardCompression.Gzip)]
    public void Zstd_and_Gzip_shards_encoded_by_Parquet_Net_read_back_as_the_Snappy_ones(ShardCompression compression)
    {
        using var t = new TempDir();
        var rows = MixedRows(5_000).ToList();
        Build(t["snappy"], MixedColumns, rows, parquetNetOnly: false);
        Build(t["other"], MixedColumns, rows, parquetNetOnly: false, compression);
        using var snappy = GroupedDataset.Open(t["snappy"]);
        using var other = GroupedDataset.Open(t["other"]);
        var groups = other.EnumerateGroups().ToList();
        Assert.Equal(snappy.EnumerateGroups().Select(g => (g.Key, g.RecordCount)), groups.Select(g => (g.Key, g.RecordCount)));
        foreach (var g in groups)
            Assert.Equal(snappy.ReadRecords(snappy.FindGroup(g.Key)!).ToList(), other.ReadRecords(g).ToList());
        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        // Every column chunk, the key's and the text columns' among them, has the codec asked for.
        cmd.CommandText = $"SELECT count(*), count(*) FILTER (WHERE compression = '{compression.ToString().ToUpperInvariant()}') " +
            $"FROM parquet_metadata('{Path.Combine(t["other"], "data", "*.parquet").Replace("'", "''")}')";
        using var rd = cmd.ExecuteReader();
        Assert.True(rd.Read());
        Assert.True(rd.GetInt64(0) > 0);
        Assert.Equal(rd.GetInt64(0), rd.GetInt64(1));
    }

    private static readonly ColumnSpec[] RunColumns =
    [
        Col("user", ValueKind.String, nullable: true), Col("region", ValueKind.String), Col("note", ValueKind.String, nullable: true),
        Col("text", ValueKind.String), Col("tag", ValueKind.Binary),
    ];

    // user: the key. Null or empty, the record goes to the null group (__null__, first in key order), where
    // the user column holds nulls and empty strings that are not the key. region: the same value through a
    // group. note: nulls among a value per group. text: a new value on most rows. tag: one value everywhere.
    private static IEnumerable<object?[]> RunRows(int count)
    {
        var rng = new Random(11);
        for (int i = 0; i < count; i++)
        {
            int u = rng.Next(400);
            string? user = i % 29 == 0 ? null : i % 31 == 0 ? "" : $"u{u:D4}";
            yield return [user, $"region-{(u * 7919) % 13}", i % 3 == 0 ? null : $"note of u{u:D4}", $"text {rng.Next(1000)}", new byte[] { 1, 2, 3 }];
        }
    }

    [Theory]
    [InlineData(ShardCompression.Snappy)]
    [InlineData(ShardCompression.None)]
    public void The_key_is_written_as_a_dictionary_that_Grouper_Parquet_Net_and_DuckDB_read_back(ShardCompression compression)
    {
        using var t = new TempDir();
        var rows = RunRows(20_000).ToList();
        var key = new ColumnKeySpec(["user"]) { NullPolicy = NullKeyPolicy.Group };
        Build(t["runs"], RunColumns, rows, parquetNetOnly: false, compression, key: key);
        Build(t["plain"], RunColumns, rows, parquetNetOnly: false, compression, plainTextOnly: true, key: key);

        // The same rows in the same order, whichever way the chunks were written.
        var expected = Rows(t["plain"]);
        Assert.Equal(rows.Count, expected.Count);
        Assert.Contains(expected, r => r[0] == "__null__" && r[1] == "");
        Assert.Contains(expected, r => r[0] == "__null__" && r[1] is null);
        Assert.Equal(expected, Rows(t["runs"]));
        Assert.Equal(expected, ParquetNetRows(t["runs"]));
        Assert.Equal(expected, DuckRows(t["runs"], "SELECT __group_key, user, region, note, text, hex(tag) FROM read_parquet($files, filename = true) ORDER BY filename, file_row_number"));

        // Which chunks are dictionaries: the key's and the user column's, whose runs ascend (so their values are
        // distinct: the null group's empty strings and nulls sort first); tag, one value; region, 13 values in
        // runs that do not ascend, as a set from the second row group on; note the same (its values follow the
        // users' but not in the null group's rows, in the first row group); not text, too many values for a set.
        var encodings = DuckRows(t["runs"], "SELECT path_in_schema, bool_and(encodings LIKE '%RLE_DICTIONARY%'), bool_or(encodings LIKE '%RLE_DICTIONARY%'), count(*) FROM parquet_metadata($files) GROUP BY 1 ORDER BY 1");
        Assert.Equal(
            ["__group_key|True|True", "note|False|True", "region|False|True", "tag|True|True", "text|False|False", "user|True|True"],
            encodings.Select(r => string.Join("|", r.Take(3))));
        Assert.All(encodings, r => Assert.True(int.Parse(r[3]!) > 10, $"{r[3]} row groups: the test wants many"));
        Assert.Empty(DuckRows(t["plain"], "SELECT path_in_schema FROM parquet_metadata($files) WHERE encodings LIKE '%DICTIONARY%'"));

        // The key's statistics are kept, and the shards are smaller.
        var stats = "SELECT file_name[-21:], row_group_id, stats_min_value, stats_max_value, stats_null_count FROM parquet_metadata($files) WHERE path_in_schema = '__group_key' ORDER BY 1, 2";
        Assert.Equal(DuckRows(t["plain"], stats), DuckRows(t["runs"], stats));
        Assert.True(Shards(t["runs"]).Sum(f => new FileInfo(f).Length) < 0.95 * Shards(t["plain"]).Sum(f => new FileInfo(f).Length));
    }

    [Fact]
    public void Dictionaries_of_one_value_and_of_indexes_wider_than_a_byte_read_back()
    {
        using var t = new TempDir();
        // "big" (first in key order) spans several row groups: chunks of one run. Then groups of about two
        // rows: 300-odd runs in a 700-row row group, indexes of 9 bits written in two bytes.
        var rows = Enumerable.Range(0, 20_000).Select(i => new object?[]
            { i % 10 < 3 ? "big" : $"u{i / 3:D5}", "r", $"note {i % 7}", $"text {i}", new byte[] { (byte)i } }).ToList();
        Build(t["runs"], RunColumns, rows, parquetNetOnly: false);
        Build(t["plain"], RunColumns, rows, parquetNetOnly: false, plainTextOnly: true);

        var expected = Rows(t["plain"]);
        Assert.Equal(expected, Rows(t["runs"]));
        Assert.Equal(expected, ParquetNetRows(t["runs"]));
        Assert.Equal(expected, DuckRows(t["runs"], "SELECT __group_key, user, region, note, text, hex(tag) FROM read_parquet($files, filename = true) ORDER BY filename, file_row_number"));
        var keysPerRowGroup = expected.Chunk(700).Select(c => c.Select(r => r[0]).Distinct().Count()).ToList();
        Assert.Contains(1, keysPerRowGroup);
        Assert.True(keysPerRowGroup.Max() is > 256 and <= 350, $"{keysPerRowGroup.Max()} keys in a row group");
        Assert.Equal(["True"], DuckRows(t["runs"], "SELECT DISTINCT encodings LIKE '%RLE_DICTIONARY%' FROM parquet_metadata($files) WHERE path_in_schema IN ('__group_key', 'user', 'region')").Select(r => r[0]));
    }

    // A dataset's rows in shard order through Grouper's reader: key, then the run columns (binary as hex).
    private static List<string?[]> Rows(string dataset)
    {
        using var ds = GroupedDataset.Open(dataset);
        var result = new List<string?[]>();
        foreach (var g in ds.EnumerateGroups())
            foreach (var r in ds.ReadRecords(g))
                result.Add([g.Key, (string?)r[0], (string)r[1]!, (string?)r[2], (string)r[3]!, Convert.ToHexString((byte[])r[4]!)]);
        return result;
    }

    private static List<string?[]> ParquetNetRows(string dataset)
    {
        var result = new List<string?[]>();
        foreach (var shard in Shards(dataset))
        {
            var reader = Parquet.ParquetReader.CreateAsync(shard).GetAwaiter().GetResult();
            try
            {
            var fields = reader.Schema.DataFields;
            for (int g = 0; g < reader.RowGroupCount; g++)
            {
                using var rg = reader.OpenRowGroupReader(g);
                int n = (int)rg.RowCount;
                var text = fields.Take(5).Select(f => { var s = new Grouper.Format.StringSlices(f); s.Load(rg, n, default); return s; }).ToArray();
                var tags = new ReadOnlyMemory<byte>[n];
                rg.ReadAsync<ReadOnlyMemory<byte>>(fields[5], tags.AsMemory(), null, default).AsTask().GetAwaiter().GetResult();
                for (int i = 0; i < n; i++)
                    result.Add([.. text.Select(s => s.GetString(i)), Convert.ToHexString(tags[i].Span)]);
            }
            }
            finally { reader.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
        }
        return result;
    }

    private static List<string?[]> DuckRows(string dataset, string sql)
    {
        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql.Replace("$files", $"'{Path.Combine(dataset, "data", "*.parquet").Replace("'", "''")}'");
        using var rd = cmd.ExecuteReader();
        var result = new List<string?[]>();
        while (rd.Read())
            result.Add(Enumerable.Range(0, rd.FieldCount).Select(i => rd.IsDBNull(i) ? null : Convert.ToString(rd.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        return result;
    }
}
