using DuckDB.NET.Data;
using Grouper.Keys;
using Grouper.Reading;
using Grouper.Schema;
using Grouper.Writer;
using Xunit;
using static Grouper.Tests.TestRecords;

namespace Grouper.Tests.Writer;

/// <summary>
/// Numbers, dates, times and timestamps are encoded by Grouper (Format/FixedWidthChunk.cs; byte for byte as
/// Parquet.Net where both are right: ShardEncodingTests). Where they differ: timestamps of local time under a
/// time zone other than UTC, NaN and chunks without a value in their statistics, nanoseconds out of range,
/// decimals their column cannot hold.
/// </summary>
public class NumberChunkTests
{
    private static readonly ColumnSpec[] TimeColumns =
    [
        Col("user", ValueKind.String),
        Col("utc_us", ValueKind.Timestamp), Col("utc_ms", ValueKind.Timestamp) with { Unit = TimeUnit.Millis }, Col("utc_ns", ValueKind.Timestamp) with { Unit = TimeUnit.Nanos },
        Col("wall_us", ValueKind.Timestamp) with { AdjustedToUtc = false }, Col("wall_ms", ValueKind.Timestamp) with { Unit = TimeUnit.Millis, AdjustedToUtc = false },
    ];

    // This machine's zone is UTC, where local time is UTC: the build is told of a zone four hours behind it.
    private static readonly TimeZoneInfo Behind = TimeZoneInfo.CreateCustomTimeZone("UTC-4 for tests", TimeSpan.FromHours(-4), "UTC-4", "UTC-4");

    [Theory]
    [InlineData(ShardCompression.Snappy)] // Grouper's encoder
    [InlineData(ShardCompression.Zstd)]   // Parquet.Net's
    public void Local_time_is_turned_into_UTC_only_in_columns_adjusted_to_UTC(ShardCompression compression)
    {
        using var t = new TempDir();
        var noon = new DateTime(2024, 6, 1, 12, 0, 0).AddTicks(1_234_567);
        DateTimeKind[] kinds = [DateTimeKind.Local, DateTimeKind.Utc, DateTimeKind.Unspecified];
        var rows = kinds.Select(k => (object?[])[$"{k}", .. Enumerable.Repeat<object?>(DateTime.SpecifyKind(noon, k), 5)]).ToList();
        var options = new BuildOptions { Key = KeySpec.FromColumns("user"), Compression = compression, LocalTimeZone = Behind };
        using (var b = new GroupedDatasetBuilder(t["ds"], options))
        {
            using (var r = new TestRecords("test", TimeColumns, rows)) b.AddAll(r);
            b.Complete();
        }
        using var ds = GroupedDataset.Open(t["ds"]);
        var micros = noon.AddTicks(-7); // 12:00:00.123456 (7 ticks below the microsecond dropped)
        var millis = noon.AddTicks(-4567);
        foreach (var kind in kinds)
        {
            var got = ds.ReadRecords(ds.FindGroup($"{kind}")!).Single();
            var shift = kind == DateTimeKind.Local ? TimeSpan.FromHours(4) : TimeSpan.Zero;
            Assert.Equal($"{kind}", got[0]);
            Assert.Equal((micros + shift, DateTimeKind.Utc), ((DateTime)got[1]!, ((DateTime)got[1]!).Kind));
            Assert.Equal(millis + shift, (DateTime)got[2]!);
            Assert.Equal(noon + shift, (DateTime)got[3]!);
            // Not adjusted to UTC: the wall clock as it was given, whatever its kind.
            Assert.Equal(micros.Ticks, ((DateTime)got[4]!).Ticks);
            Assert.Equal(millis.Ticks, ((DateTime)got[5]!).Ticks);
        }
    }

    /// <summary>
    /// A timestamp not adjusted to UTC has no zone: read back as <see cref="DateTimeKind.Unspecified"/> by every reader
    /// (Parquet.Net gives Local, which ConvertTo-Json wrote with this machine's offset, and records piped into a new
    /// build were moved by it: 12:00 became 16:00 UTC four hours behind UTC).
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Naive_timestamps_read_back_without_a_zone_and_keep_their_wall_clock_when_piped_into_a_build(bool parquetNetOnly)
    {
        using var t = new TempDir();
        var noon = new DateTime(2024, 6, 1, 12, 0, 0).AddTicks(1_234_560);
        ColumnSpec[] columns = [Col("user", ValueKind.String), Col("wall", ValueKind.Timestamp) with { AdjustedToUtc = false }, Col("utc", ValueKind.Timestamp)];
        using (var b = new GroupedDatasetBuilder(t["ds"], new BuildOptions { Key = KeySpec.FromColumns("user") }))
        {
            using (var r = new TestRecords("test", columns, [["a", noon, DateTime.SpecifyKind(noon, DateTimeKind.Utc)]])) b.AddAll(r);
            b.Complete();
        }
        object?[] record;
        using (var ds = GroupedDataset.Open(t["ds"]))
        {
            ds.ReadWithParquetNetOnly = parquetNetOnly;
            record = ds.ReadRecords(ds.FindGroup("a")!).Single();
            var scanned = ds.ScanBatches([1, 2]).Single();
            Assert.Equal((noon, DateTimeKind.Unspecified), ((DateTime)scanned.GetValue(0, 0)!, ((DateTime)scanned.GetValue(0, 0)!).Kind));
            Assert.Equal(DateTimeKind.Utc, ((DateTime)scanned.GetValue(1, 0)!).Kind);
        }
        Assert.Equal((noon, DateTimeKind.Unspecified), ((DateTime)record[1]!, ((DateTime)record[1]!).Kind));
        Assert.Equal((noon, DateTimeKind.Utc), ((DateTime)record[2]!, ((DateTime)record[2]!).Kind));
        // The shard as a build's input, by Grouper's reader and by Parquet.Net's.
        using (var source = new Grouper.Sources.ParquetRecordReader(Directory.GetFiles(Path.Combine(t["ds"], "data"), "*.parquet").Single(), parquetNetOnly))
        {
            Assert.True(source.Read());
            int wall = source.GetOrdinal("wall");
            Assert.Equal((noon, DateTimeKind.Unspecified), (source.GetDateTime(wall), source.GetDateTime(wall).Kind));
        }

        // The records piped into a build on a machine four hours behind UTC: the wall clock is kept.
        using (var b = new GroupedDatasetBuilder(t["again"], new BuildOptions { Key = KeySpec.FromColumns("user"), LocalTimeZone = Behind }))
        {
            var r = new Grouper.Sources.ObjectRecordReader();
            r.SetCurrent(columns.Select((c, i) => new KeyValuePair<string, object?>(c.Name, record[i])), 1);
            b.Add(r);
            b.Complete();
        }
        using var again = GroupedDataset.Open(t["again"]);
        var back = again.ReadRecords(again.FindGroup("a")!).Single();
        Assert.Equal(noon.Ticks, ((DateTime)back[1]!).Ticks);
        Assert.Equal(noon.Ticks, ((DateTime)back[2]!).Ticks);
    }

    [Fact]
    public void Timestamps_before_1970_drop_what_lies_below_the_unit_toward_the_past()
    {
        using var t = new TempDir();
        var before = new DateTime(1969, 12, 31, 23, 59, 59, DateTimeKind.Utc).AddTicks(9_999_999); // 100 ns before 1970
        var options = new BuildOptions { Key = KeySpec.FromColumns("user") };
        using (var b = new GroupedDatasetBuilder(t["ds"], options))
        {
            using (var r = new TestRecords("test", TimeColumns, [["u", before, before, before, before, before]])) b.AddAll(r);
            b.Complete();
        }
        var got = DuckRow(t["ds"], "SELECT epoch_us(utc_us), epoch_ms(utc_ms), epoch_us(wall_us), epoch_ms(wall_ms) FROM read_parquet($files)");
        Assert.Equal(["-1", "-1", "-1", "-1"], got);
        // Nanoseconds hold the tick itself (DuckDB reads them as microseconds, toward zero).
        using var ds = GroupedDataset.Open(t["ds"]);
        Assert.Equal(before.Ticks, ((DateTime)ds.ReadRecords(ds.FindGroup("u")!).Single()[3]!).Ticks);
    }

    [Fact]
    public void Statistics_leave_NaN_out_and_a_chunk_without_values_has_no_minimum_or_maximum()
    {
        using var t = new TempDir();
        ColumnSpec[] columns = [Col("user", ValueKind.String), Col("x", ValueKind.Double), Col("f", ValueKind.Float), Col("never", ValueKind.Int64, nullable: true)];
        // Group "a": NaN first, then 1..300; group "b": NaN alone. Row groups of 100 rows: one of NaN and values, some of values, one of NaN.
        var rows = Enumerable.Range(0, 301).Select(i => (object?[])["a", i == 0 ? double.NaN : i, i == 0 ? float.NaN : (float)i, null])
            .Concat(Enumerable.Range(0, 100).Select(_ => (object?[])["b", double.NaN, float.NaN, null])).ToList();
        var options = new BuildOptions { Key = KeySpec.FromColumns("user"), RowGroupMaxRows = 100 };
        using (var b = new GroupedDatasetBuilder(t["ds"], options))
        {
            using (var r = new TestRecords("test", columns, rows)) b.AddAll(r);
            b.Complete();
        }
        // Every filter finds every row it matches, NaN (above every number in DuckDB's order) among them.
        Assert.Equal(["401", "101", "101", "300", "101", "300"], DuckRow(t["ds"],
            "SELECT count(*) FILTER (WHERE x >= 1), count(*) FILTER (WHERE isnan(x)), count(*) FILTER (WHERE x > 1000), " +
            "count(*) FILTER (WHERE f <= 300), count(*) FILTER (WHERE isnan(f)), (SELECT count(*) FROM read_parquet($files) WHERE x < 1000) FROM read_parquet($files)"));
        // The chunk of NaN alone and the column of nulls alone have no bounds; the null count stays.
        Assert.Equal(["x|0|0|5", "f|0|0|5", "never|0|0|5"], DuckRows(t["ds"],
            "SELECT path_in_schema, count(stats_min_value) FILTER (WHERE row_group_id = 4), count(stats_max_value) FILTER (WHERE row_group_id = 4 OR path_in_schema = 'never'), count(*) " +
            "FROM parquet_metadata($files) WHERE path_in_schema IN ('x', 'f', 'never') GROUP BY 1 ORDER BY min(column_id)"));
        Assert.Equal(["401"], DuckRows(t["ds"], "SELECT sum(stats_null_count) FROM parquet_metadata($files) WHERE path_in_schema = 'never'"));
    }

    [Theory]
    [InlineData(ShardCompression.Snappy)]
    [InlineData(ShardCompression.Zstd)] // Parquet.Net encodes the shards: the same check first
    public void A_timestamp_beyond_the_years_of_nanoseconds_stops_the_build_naming_the_column(ShardCompression compression)
    {
        using var t = new TempDir();
        var options = new BuildOptions { Key = KeySpec.FromColumns("user"), Compression = compression };
        var ex = Assert.ThrowsAny<Exception>(() =>
        {
            using var b = new GroupedDatasetBuilder(t["ds"], options);
            using (var r = new TestRecords("test", TimeColumns, [["u", .. Enumerable.Repeat<object?>(new DateTime(2300, 1, 1, 0, 0, 0, DateTimeKind.Utc), 5)]])) b.AddAll(r);
            b.Complete();
        });
        Assert.Contains("'utc_ns'", ex.Message);
        Assert.Contains("2300-01-01", ex.Message);
        Assert.False(Directory.Exists(t["ds"]) && Directory.EnumerateFileSystemEntries(t["ds"]).Any(), "a failed build leaves no dataset");
    }

    [Theory]
    [InlineData(1234.5, ShardCompression.Snappy)]   // more digits before the point than decimal(5,2) has
    [InlineData(1.005, ShardCompression.Snappy)]    // more after it
    [InlineData(1234.5, ShardCompression.Zstd)]     // Parquet.Net encodes the shards: the same check first
    [InlineData(1.005, ShardCompression.Gzip)]
    public void A_decimal_its_column_cannot_hold_stops_the_build_rather_than_change(double value, ShardCompression compression)
    {
        using var t = new TempDir();
        // A declared column takes its source's values as they are (they are the source's own): the writer checks.
        ColumnSpec[] columns = [Col("user", ValueKind.String), Col("price", ValueKind.Decimal) with { Precision = 5, Scale = 2 }];
        var ex = Assert.ThrowsAny<Exception>(() =>
        {
            using var b = new GroupedDatasetBuilder(t["ds"], new BuildOptions { Key = KeySpec.FromColumns("user"), Compression = compression });
            using (var r = new TestRecords("test", columns, [["u", 999.99m], ["u", (decimal)value]])) b.AddAll(r);
            b.Complete();
        });
        Assert.Contains("'price' is decimal(5,2)", ex.Message);
        Assert.Contains(((decimal)value).ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message);
        Assert.False(Directory.Exists(t["ds"]) && Directory.EnumerateFileSystemEntries(t["ds"]).Any(), "a failed build leaves no dataset");
    }

    private static string[] DuckRow(string dataset, string sql) => DuckRows(dataset, sql).Single().Split('|');

    private static List<string> DuckRows(string dataset, string sql)
    {
        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql.Replace("$files", $"'{Path.Combine(dataset, "data", "*.parquet").Replace("'", "''")}'");
        using var rd = cmd.ExecuteReader();
        var result = new List<string>();
        while (rd.Read())
            result.Add(string.Join("|", Enumerable.Range(0, rd.FieldCount).Select(i => rd.IsDBNull(i) ? "" : Convert.ToString(rd.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
        return result;
    }
}
