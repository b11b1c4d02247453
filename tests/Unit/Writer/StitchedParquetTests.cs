using DuckDB.NET.Data;
using Grouper.Format;
using Parquet;
using Parquet.Schema;
using Xunit;

namespace Grouper.Tests.Writer;

/// <summary>
/// Shards are stitched from row groups Parquet.Net encoded as separate files: the result must be one valid
/// Parquet file for Parquet.Net and for DuckDB, with every page where its metadata says.
/// </summary>
public class StitchedParquetTests
{
    private static readonly DataField<string> Name = new("name", false);
    private static readonly DataField<string> Label = new("label", true);
    private static readonly DataField<long> N = new("n", true);
    private static readonly ParquetSchema Schema = new(Name, Label, N);

    private static async Task<byte[]> Piece(int g, int rows)
    {
        using var ms = new MemoryStream();
        await using (var w = await ParquetWriter.CreateAsync(Schema, ms, new ParquetOptions { CompressionMethod = CompressionMethod.Snappy }))
        {
            using var rg = w.CreateRowGroup();
            // name: distinct, label: five values and nulls, n: nullable
            await rg.WriteAsync<ReadOnlyMemory<char>>(Name, Enumerable.Range(0, rows).Select(i => $"name-{g:D3}-{i:D5}".AsMemory()).ToArray().AsMemory(), null, null, default);
            await rg.WriteAsync<ReadOnlyMemory<char>>(Label, Enumerable.Range(0, rows).Select(i => i % 7 == 0 ? (ReadOnlyMemory<char>?)null : $"label-{i % 5}".AsMemory()).ToArray().AsMemory(), null, null, default);
            await rg.WriteAsync<long>(N, Enumerable.Range(0, rows).Select(i => i % 3 == 0 ? (long?)null : (long)g * 100_000 + i).ToArray().AsMemory(), null, null, default);
            rg.CompleteValidate();
        }
        return ms.ToArray();
    }

    /// <summary>A shard made of whole one-row-group files: the first one's footer is the template.</summary>
    private static StitchedParquetFile Stitch(Stream output, IReadOnlyList<byte[]> pieces, IReadOnlyList<int> rows)
    {
        var file = new StitchedParquetFile(output, StitchedParquetFile.FooterOf(pieces[0], out _).ToArray());
        var rowGroup = new EncodedRowGroup();
        for (int g = 0; g < pieces.Count; g++)
        {
            rowGroup.Reset(rows[g]);
            rowGroup.AddLibraryFile(pieces[g]);
            file.Append(rowGroup.Body.WrittenSpan, rowGroup.Metadata.WrittenSpan, rows[g]);
        }
        return file;
    }

    [Fact]
    public async Task Row_groups_encoded_apart_make_one_file_Parquet_Net_and_DuckDB_read_whole()
    {
        using var t = new TempDir();
        var path = t["stitched.parquet"];
        int[] sizes = Enumerable.Range(0, 20).Select(g => 500 + g * 37).ToArray(); // 20 > 15: the long list header
        using (var fs = File.Create(path))
        {
            var pieces = new List<byte[]>();
            for (int g = 0; g < sizes.Length; g++) pieces.Add(await Piece(g, sizes[g]));
            Stitch(fs, pieces, sizes).Finish();
        }

        await using (var reader = await ParquetReader.CreateAsync(path))
        {
            Assert.Equal(sizes.Length, reader.RowGroupCount);
            Assert.Equal(sizes.Sum(), reader.Metadata!.NumRows);
            for (int g = 0; g < sizes.Length; g++)
            {
                using var rg = reader.OpenRowGroupReader(g);
                Assert.Equal(sizes[g], rg.RowCount);
                var names = new StringSlices(Name);
                names.Load(rg, sizes[g], default);
                var labels = new StringSlices(Label);
                labels.Load(rg, sizes[g], default);
                var n = new long?[sizes[g]];
                await rg.ReadAsync<long>(N, n.AsMemory());
                for (int i = 0; i < sizes[g]; i++)
                {
                    Assert.Equal($"name-{g:D3}-{i:D5}", names.GetString(i));
                    Assert.Equal(i % 7 == 0 ? null : $"label-{i % 5}", labels.GetString(i));
                    Assert.Equal(i % 3 == 0 ? null : (long)g * 100_000 + i, n[i]);
                }
            }
        }

        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        var p = path.Replace("'", "''");
        cmd.CommandText = $"SELECT count(*), count(DISTINCT name), count(label), sum(n)::BIGINT FROM read_parquet('{p}')";
        using (var rd = cmd.ExecuteReader())
        {
            Assert.True(rd.Read());
            Assert.Equal(sizes.Sum(), rd.GetInt64(0));
            Assert.Equal(sizes.Sum(), rd.GetInt64(1));
            Assert.Equal(sizes.Sum(s => Enumerable.Range(0, s).Count(i => i % 7 != 0)), rd.GetInt64(2));
            Assert.Equal(sizes.Select((s, g) => Enumerable.Range(0, s).Where(i => i % 3 != 0).Sum(i => (long)g * 100_000 + i)).Sum(), Convert.ToInt64(rd.GetValue(3)));
        }
        // Every row group's statistics came along with it: DuckDB prunes row groups by them.
        cmd.CommandText = $"SELECT row_group_id, row_group_num_rows, stats_min_value, stats_max_value FROM parquet_metadata('{p}') WHERE path_in_schema = 'name' ORDER BY 1";
        using (var rd = cmd.ExecuteReader())
        {
            int g = 0;
            for (; rd.Read(); g++)
            {
                Assert.Equal(g, rd.GetInt64(0));
                Assert.Equal(sizes[g], rd.GetInt64(1));
                Assert.Equal($"name-{g:D3}-00000", rd.GetString(2));
                Assert.Equal($"name-{g:D3}-{sizes[g] - 1:D5}", rd.GetString(3));
            }
            Assert.Equal(sizes.Length, g);
        }
        cmd.CommandText = $"SELECT n FROM read_parquet('{p}') WHERE name = 'name-013-00100'";
        Assert.Equal(13L * 100_000 + 100, Convert.ToInt64(cmd.ExecuteScalar()));
    }

    [Fact]
    public async Task Dictionary_encoded_pieces_written_by_DuckDB_keep_their_dictionaries()
    {
        // Parquet.Net 6.1 writes no dictionary pages; DuckDB does, and its footers carry more fields
        // (key-value metadata, column orders): the stitching must move dictionary offsets too.
        using var t = new TempDir();
        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        const int pieces = 17, rows = 3000;
        for (int g = 0; g < pieces; g++)
        {
            cmd.CommandText = $"COPY (SELECT {g} AS g, i, 'label-' || (i % 4) AS label, CASE WHEN i % 9 = 0 THEN NULL ELSE 'text ' || i END AS text " +
                $"FROM range({rows}) r(i)) TO '{t[$"p{g}.parquet"].Replace("'", "''")}' (FORMAT parquet, COMPRESSION snappy)";
            cmd.ExecuteNonQuery();
        }
        var path = t["stitched.parquet"];
        using (var fs = File.Create(path))
        {
            var files = new List<byte[]>();
            for (int g = 0; g < pieces; g++) files.Add(await File.ReadAllBytesAsync(t[$"p{g}.parquet"]));
            Stitch(fs, files, Enumerable.Repeat(rows, pieces).ToArray()).Finish();
        }
        var p = path.Replace("'", "''");
        cmd.CommandText = $"SELECT count(*) FROM parquet_metadata('{p}') WHERE path_in_schema = 'label' AND dictionary_page_offset IS NOT NULL";
        Assert.Equal(pieces, Convert.ToInt64(cmd.ExecuteScalar()));
        cmd.CommandText = $"SELECT count(*), count(text), count(DISTINCT label), sum(g * i)::BIGINT, min(text), max(text) FROM read_parquet('{p}')";
        using (var rd = cmd.ExecuteReader())
        {
            Assert.True(rd.Read());
            Assert.Equal(pieces * rows, rd.GetInt64(0));
            Assert.Equal(pieces * Enumerable.Range(0, rows).Count(i => i % 9 != 0), rd.GetInt64(1));
            Assert.Equal(4, rd.GetInt64(2));
            Assert.Equal(Enumerable.Range(0, pieces).Sum(g => (long)g * Enumerable.Range(0, rows).Sum(i => (long)i)), Convert.ToInt64(rd.GetValue(3)));
            Assert.Equal("text 1", rd.GetString(4));
            Assert.Equal("text 998", rd.GetString(5));
        }
        await using var reader = await ParquetReader.CreateAsync(path);
        Assert.Equal(pieces, reader.RowGroupCount);
        var label = reader.Schema.DataFields.Single(f => f.Name == "label");
        for (int g = 0; g < pieces; g++)
        {
            using var rg = reader.OpenRowGroupReader(g);
            var labels = new StringSlices(label);
            labels.Load(rg, rows, default);
            for (int i = 0; i < rows; i++) Assert.Equal($"label-{i % 4}", labels.GetString(i));
        }
    }

    [Fact]
    public async Task A_piece_that_is_not_Parquet_is_refused()
    {
        var piece = await Piece(0, 10);
        var file = new StitchedParquetFile(new MemoryStream(), StitchedParquetFile.FooterOf(piece, out _).ToArray());
        var rowGroup = new EncodedRowGroup();
        Assert.Throws<InvalidDataException>(() => rowGroup.AddLibraryFile("PAR1 not a footer PAR1"u8));
        piece[^5] = 0x7F; // footer length far beyond the file
        Assert.Throws<InvalidDataException>(() => rowGroup.AddLibraryFile(piece));
        Assert.Throws<InvalidOperationException>(file.Finish);
    }
}
