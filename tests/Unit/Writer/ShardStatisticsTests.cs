using System.Globalization;
using DuckDB.NET.Data;
using Grouper.Keys;
using Grouper.Schema;
using Grouper.Writer;
using Xunit;
using static Grouper.Tests.TestRecords;

namespace Grouper.Tests.Writer;

/// <summary>
/// The shards' column statistics are what engines skip row groups by: a filter on any column must find every
/// row it matches. Parquet.Net 6.1 wrote the min and max of a timestamp column of microseconds or nanoseconds
/// in milliseconds, so DuckDB found no row of 2024 in shards full of them: where it encodes them (Zstd and Gzip
/// shards) they are left out; where Grouper does, they are right and kept.
/// </summary>
public class ShardStatisticsTests
{
    private const int N = 6000;
    private static readonly DateTime Start = new(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    // Every column grows with the row, so that row groups (one key's rows each) hold different ranges.
    private static readonly (ColumnSpec Spec, Func<int, object> Value, string Literal)[] Columns =
    [
        (Col("i32", ValueKind.Int32), i => i, "3000"),
        (Col("i64", ValueKind.Int64), i => (long)i * 1000, "3000000"),
        (Col("f64", ValueKind.Double), i => i * 0.5, "1500.0"),
        (Col("f32", ValueKind.Float), i => (double)(i * 0.25f), "750.0"),
        (Col("dec", ValueKind.Decimal) with { Precision = 18, Scale = 2 }, i => i / 4m, "750.0"),
        (Col("ts_us_utc", ValueKind.Timestamp), i => Start.AddSeconds(i), "TIMESTAMPTZ '2024-01-01 00:50:00+00'"),
        (Col("ts_ms", ValueKind.Timestamp) with { Unit = TimeUnit.Millis, AdjustedToUtc = false }, i => DateTime.SpecifyKind(Start.AddSeconds(i), DateTimeKind.Unspecified), "TIMESTAMP '2024-01-01 00:50:00'"),
        (Col("ts_ns_utc", ValueKind.Timestamp) with { Unit = TimeUnit.Nanos }, i => Start.AddSeconds(i), "TIMESTAMPTZ '2024-01-01 00:50:00+00'"),
        (Col("ts_us", ValueKind.Timestamp) with { AdjustedToUtc = false }, i => DateTime.SpecifyKind(Start.AddSeconds(i), DateTimeKind.Unspecified), "TIMESTAMP '2024-01-01 00:50:00'"),
        (Col("day", ValueKind.Date), i => DateOnly.FromDateTime(Start).AddDays(i), "DATE '2032-03-19'"),
        (Col("tod", ValueKind.Time), i => TimeSpan.FromSeconds(i), "TIME '00:50:00'"),
        // Small and unsigned integers rise in steps: the counts below come from the values, not from 3000.
        (Col("i8", ValueKind.Int8), i => (long)(i / 60 - 50), "0"),
        (Col("i16", ValueKind.Int16), i => (long)(i - 3000), "0"),
        (Col("u8", ValueKind.UInt8), i => (ulong)(i / 24), "125"),
        (Col("u32", ValueKind.UInt32), i => (ulong)i * 700_000, "2100000000"),
        (Col("u64", ValueKind.UInt64), i => ulong.MaxValue - (ulong)(N - i), "18446744073709548615"),
        (Col("flag", ValueKind.Boolean), i => i > 3000, "false"),
    ];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_filter_on_any_column_finds_every_row_it_matches(bool parquetNetOnly)
    {
        using var t = new TempDir();
        ColumnSpec[] specs = [Col("user", ValueKind.String), .. Columns.Select(c => c.Spec)];
        var rows = Enumerable.Range(0, N).Select(i => (object?[])[$"k{i % 7}", .. Columns.Select(c => c.Value(i))]).ToList();
        var options = new BuildOptions { Key = KeySpec.FromColumns("user"), RowGroupMaxRows = 300, EncodeWithParquetNetOnly = parquetNetOnly };
        using (var b = new GroupedDatasetBuilder(t["ds"], options))
        {
            using (var r = new TestRecords("test", specs, rows)) b.AddAll(r);
            b.Complete();
        }
        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        var files = Path.Combine(t["ds"], "data", "*.parquet");
        var wrong = new List<string>();
        foreach (var (spec, value, literal) in Columns)
        {
            // Rows 0..N-1 hold values that never fall; the literal is row 3000's value.
            long Count(string op)
            {
                cmd.CommandText = $"SELECT count(*) FROM read_parquet('{files}') WHERE {spec.Name} {op} {literal}";
                return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
            }
            var at = (IComparable)value(3000);
            int expected = Enumerable.Range(0, N).Count(i => at.CompareTo(value(i)) < 0);
            var (above, atMost) = (Count(">"), Count("<="));
            if (above != expected || atMost != N - expected) wrong.Add($"{spec.Name}: {above} above (not {expected}), {atMost} at most");
        }
        Assert.Empty(wrong);

        // Bounds of every row group for the timestamps Grouper encodes, none where Parquet.Net did (micro- and
        // nanoseconds); the footer names Grouper as the writer either way.
        cmd.CommandText = $"SELECT path_in_schema, count(*), count(stats_min_value), count(stats_max_value), min(created_by), max(created_by) " +
            $"FROM parquet_metadata('{files}') JOIN parquet_file_metadata('{files}') USING (file_name) WHERE path_in_schema IN ('ts_us_utc', 'ts_ns_utc', 'ts_us', 'ts_ms') GROUP BY 1 ORDER BY 1";
        using var rd = cmd.ExecuteReader();
        int seen = 0;
        while (rd.Read())
        {
            seen++;
            long rowGroups = rd.GetInt64(1);
            bool bounded = !parquetNetOnly || rd.GetString(0) == "ts_ms";
            Assert.True(rowGroups > 10, $"{rowGroups} row groups");
            Assert.Equal((rd.GetString(0), bounded ? rowGroups : 0, bounded ? rowGroups : 0), (rd.GetString(0), rd.GetInt64(2), rd.GetInt64(3)));
            Assert.StartsWith("Grouper version ", rd.GetString(4));
            Assert.Equal(rd.GetString(4), rd.GetString(5));
        }
        Assert.Equal(4, seen);
    }
}
