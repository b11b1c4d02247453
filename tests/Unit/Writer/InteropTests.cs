using DuckDB.NET.Data;
using Grouper.Keys;
using Grouper.Reading;
using Grouper.Schema;
using Grouper.Writer;
using Xunit;
using static Grouper.Tests.TestRecords;

namespace Grouper.Tests.Writer;

/// <summary>The shards are ordinary Parquet: another engine (DuckDB) reads them as a table.</summary>
public class InteropTests
{
    [Fact]
    public void DuckDB_reads_the_shards_and_its_group_counts_equal_the_index()
    {
        using var t = new TempDir();
        ColumnSpec[] cols = [Col("user", ValueKind.String), Col("n", ValueKind.Int64), Col("x", ValueKind.Double, true),
            Col("ts", ValueKind.Timestamp), Col("amount", ValueKind.Decimal) with { Precision = 12, Scale = 2 }];
        var rng = new Random(5);
        var rows = Enumerable.Range(0, 30_000).Select(i => new object?[]
        {
            $"user-{(i % 2 == 0 ? "ü" : "u")}{(int)Math.Pow(rng.Next(1, 60), 2)}", (long)i, i % 5 == 0 ? null : i * 0.5,
            new DateTime(2023, 5, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(i), 10.25m + i,
        }).ToList();
        var options = new BuildOptions { Key = KeySpec.FromColumns("user"), MemoryLimit = 4 << 20, RowGroupMaxRows = 4000, ShardTargetBytes = 256 << 10 };
        using (var b = new GroupedDatasetBuilder(t["ds"], options))
        {
            using var r = new TestRecords("in", cols, rows);
            b.AddAll(r);
            Assert.True(b.Complete().Shards.Count > 1);
        }

        using var ds = GroupedDataset.Open(t["ds"]);
        var index = ds.EnumerateGroups().ToDictionary(g => g.Key, g => g.RecordCount);

        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        var glob = Path.Combine(t["ds"], "data", "*.parquet").Replace("'", "''");
        cmd.CommandText = $"SELECT __group_key, count(*), sum(n)::BIGINT, count(x), min(ts), sum(amount)::DECIMAL(18,2) FROM read_parquet('{glob}') GROUP BY 1";
        var duck = new Dictionary<string, long>();
        using (var rd = cmd.ExecuteReader())
        {
            while (rd.Read())
            {
                var key = rd.GetString(0);
                duck[key] = rd.GetInt64(1);
                var mine = rows.Where(r => (string)r[0]! == key).ToList();
                Assert.Equal(mine.Sum(r => (long)r[1]!), Convert.ToInt64(rd.GetValue(2)));
                Assert.Equal(mine.Count(r => r[2] is not null), rd.GetInt64(3));
                Assert.Equal(mine.Min(r => (DateTime)r[3]!), DateTime.SpecifyKind(rd.GetDateTime(4), DateTimeKind.Utc));
                Assert.Equal(mine.Sum(r => (decimal)r[4]!), Convert.ToDecimal(rd.GetValue(5)));
            }
        }
        Assert.Equal(index.OrderBy(p => p.Key, StringComparer.Ordinal), duck.OrderBy(p => p.Key, StringComparer.Ordinal));

        // Text columns are text to another engine (the shards annotate their UTF-8 byte arrays as strings).
        cmd.CommandText = $"SELECT typeof(user), typeof(__group_key), count(*) FROM read_parquet('{glob}') WHERE user = __group_key AND user LIKE 'user-ü%' GROUP BY ALL";
        using (var rd = cmd.ExecuteReader())
        {
            Assert.True(rd.Read());
            Assert.Equal("VARCHAR", rd.GetString(0));
            Assert.Equal("VARCHAR", rd.GetString(1));
            Assert.Equal(rows.Count(r => ((string)r[0]!).StartsWith("user-ü", StringComparison.Ordinal)), rd.GetInt64(2));
            Assert.False(rd.Read());
        }

        // Each group's rows are contiguous in the shards' concatenated row order, in key order.
        cmd.CommandText = $"SELECT __group_key FROM read_parquet('{glob}', file_row_number = true, filename = true) ORDER BY filename, file_row_number";
        var order = new List<string>();
        using (var rd = cmd.ExecuteReader()) while (rd.Read()) order.Add(rd.GetString(0));
        var runs = order.Where((k, i) => i == 0 || order[i - 1] != k).ToList();
        Assert.Equal(index.Count, runs.Count);
        Assert.Equal(runs.OrderBy(k => k, StringComparer.Ordinal), runs);

        // Every row group's __group_key has min/max statistics (its first and last key), so that an engine
        // skips the row groups a key is not in (docs/format.md).
        cmd.CommandText = $"SELECT file_name, row_group_id, row_group_num_rows, stats_min_value, stats_max_value FROM parquet_metadata('{glob}') WHERE path_in_schema = '__group_key' ORDER BY file_name, row_group_id";
        int rowGroups = 0, at = 0;
        using (var rd = cmd.ExecuteReader())
            while (rd.Read())
            {
                rowGroups++;
                int n = Convert.ToInt32(rd.GetValue(2));
                Assert.False(rd.IsDBNull(3), $"row group {rd.GetValue(1)} of {rd.GetString(0)} has no key statistics");
                Assert.Equal(order[at], rd.GetString(3));
                Assert.Equal(order[at + n - 1], rd.GetString(4));
                at += n;
            }
        Assert.Equal(order.Count, at);
        Assert.True(rowGroups >= 30_000 / 4000);
    }
}
