using DuckDB.NET.Data;
using Grouper.Keys;
using Grouper.Reading;
using Grouper.Schema;
using Grouper.Writer;
using Xunit;
using static Grouper.Tests.TestRecords;

namespace Grouper.Tests.Writer;

/// <summary>
/// Text and binary columns are encoded by Grouper's own chunk writer (Format/ByteArrayChunk.cs), the other
/// columns by Parquet.Net; with Zstd or Gzip every column goes to Parquet.Net. The two must make the same
/// files: byte for byte where only text is encoded, and the same values, statistics and schema where a
/// row group mixes both encoders.
/// </summary>
public class ShardEncodingTests
{
    private static void Build(string dest, ColumnSpec[] columns, IEnumerable<object?[]> rows, bool parquetNetOnly,
        ShardCompression compression = ShardCompression.Snappy)
    {
        var options = new BuildOptions
        {
            Key = KeySpec.FromColumns("user"), MemoryLimit = 64 << 20, RowGroupMaxRows = 700, ShardTargetBytes = 200_000,
            Compression = compression, EncodeWithParquetNetOnly = parquetNetOnly,
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
        Build(t["own"], TextColumns, rows, parquetNetOnly: false, compression);
        Build(t["library"], TextColumns, rows, parquetNetOnly: true, compression);
        var own = Shards(t["own"]);
        var library = Shards(t["library"]);
        Assert.True(own.Length > 3, $"{own.Length} shards: the test wants several");
        Assert.Equal(library.Select(Path.GetFileName), own.Select(Path.GetFileName));
        for (int i = 0; i < own.Length; i++)
            Assert.True(File.ReadAllBytes(own[i]).AsSpan().SequenceEqual(File.ReadAllBytes(library[i])), $"{Path.GetFileName(own[i])} differs");
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
        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        string Query(string dataset, string sql)
        {
            cmd.CommandText = sql.Replace("$files", $"'{Path.Combine(dataset, "data", "*.parquet").Replace("'", "''")}'");
            using var rd = cmd.ExecuteReader();
            var lines = new List<string>();
            while (rd.Read()) lines.Add(string.Join("|", Enumerable.Range(0, rd.FieldCount).Select(i => Convert.ToString(rd.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
            return string.Join("\n", lines);
        }
        foreach (var sql in new[]
        {
            "SELECT count(*), count(n), sum(n), count(text), sum(length(text)), sum(round(x * 3))::BIGINT, count(flag), sum(flag::INT), sum(octet_length(blob)), count(seen), max(seen), count(DISTINCT label), count(DISTINCT __group_key) FROM read_parquet($files)",
            "SELECT file_name[-21:], row_group_id, path_in_schema, type, num_values, stats_min_value, stats_max_value, stats_null_count FROM parquet_metadata($files) ORDER BY 1, 2, 3",
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
}
