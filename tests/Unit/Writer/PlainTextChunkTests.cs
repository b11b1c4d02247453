using System.Text;
using DuckDB.NET.Data;
using Grouper.Format;
using Parquet;
using Parquet.Schema;
using Xunit;

namespace Grouper.Tests.Writer;

/// <summary>
/// Text chunks read straight from the file's pages agree with Parquet.Net's decoding, for every page
/// layout a plain chunk can have (pages of version 1 and 2, compressed or not, optional or required), and a
/// damaged chunk is an error naming the shard, never wrong text.
/// </summary>
public class PlainTextChunkTests
{
    [Theory]
    [InlineData("snappy", "v1")]
    [InlineData("uncompressed", "v1")]
    [InlineData("snappy", "v2")]
    [InlineData("zstd", "v2")]
    public async Task Pages_written_by_DuckDB_read_as_Parquet_Net_reads_them(string codec, string version)
    {
        using var t = new TempDir();
        var path = t[$"plain {codec} [{version}].parquet"];
        using (var db = new DuckDBConnection("Data Source=:memory:"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            // Distinct values and no dictionary: plain pages, several per chunk (small pages).
            cmd.CommandText = $"COPY (SELECT CASE WHEN i % 7 = 0 THEN NULL ELSE 'välue ' || i || repeat('x', (i % 13)::INT) END AS opt, " +
                $"'r' || i AS req FROM range(20000) r(i)) TO '{path.Replace("'", "''")}' " +
                $"(FORMAT parquet, COMPRESSION {codec}, PARQUET_VERSION {version}, ROW_GROUP_SIZE 8192, DICTIONARY_SIZE_LIMIT 1)";
            cmd.ExecuteNonQuery();
        }
        await using var fs = new FileStream(path, FileMode.Open, FileAccess.Read);
        await using var reader = await ParquetReader.CreateAsync(fs, leaveStreamOpen: true);
        int plain = 0;
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var rg = reader.OpenRowGroupReader(g);
            int rows = (int)rg.RowCount;
            foreach (var field in reader.Schema.DataFields)
            {
                var chunk = reader.Metadata!.RowGroups[g].Columns.Single(c => c.MetaData!.PathInSchema[0] == field.Name);
                // DuckDB marks its columns optional: required ones are Parquet.Net's, tested through the builds.
                // Its version 2 pages hold text in DELTA_LENGTH_BYTE_ARRAY, decoded into PLAIN values.
                Assert.True(PlainTextChunk.CanRead(chunk, field.IsNullable ? 1 : 0));
                Assert.Equal(version == "v2", chunk.MetaData!.Encodings!.Contains(Parquet.Meta.Encoding.DELTA_LENGTH_BYTE_ARRAY));
                plain++;
                var mine = new PlainTextChunk();
                mine.Load(fs.SafeFileHandle, path, chunk, rows, field.IsNullable);
                var theirs = new StringSlices(field);
                theirs.Load(rg, rows, default);
                for (int i = 0; i < rows; i++)
                {
                    Assert.Equal(theirs.IsNull(i), mine.IsNull(i));
                    Assert.Equal(theirs.GetString(i) ?? "", Encoding.UTF8.GetString(mine.GetUtf8(i)));
                }
            }
        }
        Assert.True(plain >= 4);
    }

    [Fact]
    public async Task Dictionary_pages_written_by_DuckDB_read_as_Parquet_Net_reads_them()
    {
        // Low-cardinality text gets a dictionary (indexes of 1 to 9 bits here), unique text plain pages.
        using var t = new TempDir();
        var path = t["dict [v1].parquet"];
        using (var db = new DuckDBConnection("Data Source=:memory:"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"COPY (SELECT CASE WHEN i % 11 = 0 THEN NULL ELSE 'label-' || (i % 2) END AS two, " +
                $"'ciudad-ñ-' || (i * 7 % 300) AS city, CASE WHEN i % 5 = 0 THEN NULL ELSE 'u' || i END AS uniq " +
                $"FROM range(50000) r(i)) TO '{path.Replace("'", "''")}' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 20000)";
            cmd.ExecuteNonQuery();
        }
        await using var fs = new FileStream(path, FileMode.Open, FileAccess.Read);
        await using var reader = await ParquetReader.CreateAsync(fs, leaveStreamOpen: true);
        int dictionaries = 0;
        var chunkReader = new PlainTextChunk();
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var rg = reader.OpenRowGroupReader(g);
            int rows = (int)rg.RowCount;
            foreach (var field in reader.Schema.DataFields)
            {
                var chunk = reader.Metadata!.RowGroups[g].Columns.Single(c => c.MetaData!.PathInSchema[0] == field.Name);
                Assert.True(PlainTextChunk.CanRead(chunk, field.IsNullable ? 1 : 0), $"{field.Name} in row group {g}");
                if (chunk.MetaData!.DictionaryPageOffset is not null) dictionaries++;
                chunkReader.Load(fs.SafeFileHandle, path, chunk, rows, field.IsNullable); // one reader for all: buffers are reused
                var theirs = new StringSlices(field);
                theirs.Load(rg, rows, default);
                for (int i = 0; i < rows; i++)
                {
                    Assert.Equal(theirs.IsNull(i), chunkReader.IsNull(i));
                    Assert.Equal(theirs.GetString(i) ?? "", Encoding.UTF8.GetString(chunkReader.GetUtf8(i)));
                }
            }
        }
        Assert.True(dictionaries >= 2 * reader.RowGroupCount, $"{dictionaries} dictionary chunks");
    }

    [Fact]
    public async Task A_chunk_with_invalid_UTF_8_or_cut_short_is_an_error_naming_the_file()
    {
        using var t = new TempDir();
        var path = t["bad [text].parquet"];
        var field = new DataField<byte[]>("text", true);
        var values = Enumerable.Range(0, 100).Select(i => (ReadOnlyMemory<byte>?)Encoding.UTF8.GetBytes($"value-{i:D3}")).ToArray();
        await using (var file = File.Create(path))
        await using (var w = await ParquetWriter.CreateAsync(new ParquetSchema(field), file, new ParquetOptions { CompressionMethod = CompressionMethod.None }))
        {
            using var rg = w.CreateRowGroup();
            await rg.WriteAsync<ReadOnlyMemory<byte>>(field, values.AsMemory(), null, null, default);
        }
        var bytes = await File.ReadAllBytesAsync(path);
        int at = IndexOf(bytes, "value-042"u8);
        bytes[at + 6] = 0xFF; // not UTF-8
        await File.WriteAllBytesAsync(path, bytes);

        await using var fs = new FileStream(path, FileMode.Open, FileAccess.Read);
        await using var reader = await ParquetReader.CreateAsync(fs, leaveStreamOpen: true);
        var chunk = reader.Metadata!.RowGroups[0].Columns[0];
        Assert.True(PlainTextChunk.CanRead(chunk, 1));
        var ex = Assert.Throws<GrouperException>(() => new PlainTextChunk().Load(fs.SafeFileHandle, path, chunk, 100, optional: true));
        Assert.Contains(path, ex.Message);
        Assert.Contains("UTF-8", ex.Message);
        // More rows than the chunk holds: its pages run out.
        ex = Assert.Throws<GrouperException>(() => new PlainTextChunk().Load(fs.SafeFileHandle, path, chunk, 101, optional: true));
        Assert.Contains("damaged", ex.Message);
    }

    [Fact]
    public async Task A_character_split_between_two_values_is_invalid_though_the_two_together_are_UTF_8()
    {
        // "a" + first byte of "é", then its second byte + "b": together "aéb", each on its own broken.
        using var t = new TempDir();
        var path = t["split.parquet"];
        await WriteRequiredText(path, [new byte[] { 0x61, 0xC3 }, new byte[] { 0xA9, 0x62 }], CompressionMethod.Snappy);
        await AssertNotUtf8(path, 2);
    }

    [Fact]
    public async Task A_value_cut_mid_character_is_invalid_even_where_the_next_length_would_complete_it()
    {
        // The first value ends with the lead byte of "é" (C3); the second is 169 bytes long, and 169 is A9,
        // the byte that would complete it: read as one run of page bytes, "C3 A9" is valid UTF-8.
        using var t = new TempDir();
        var path = t["cut.parquet"];
        await WriteRequiredText(path, [new byte[] { 0x61, 0xC3 }, Encoding.ASCII.GetBytes(new string('b', 0xA9))], CompressionMethod.None);
        var bytes = await File.ReadAllBytesAsync(path);
        Assert.True(IndexOf(bytes, new byte[] { 0x61, 0xC3, 0xA9, 0, 0, 0 }) > 0, "the page holds the two values back to back");
        await AssertNotUtf8(path, 2);
    }

    // One row group of a required byte-array column "text" holding these values.
    private static async Task WriteRequiredText(string path, ReadOnlyMemory<byte>[] values, CompressionMethod compression)
    {
        var field = new DataField<byte[]>("text", false);
        await using var file = File.Create(path);
        await using var w = await ParquetWriter.CreateAsync(new ParquetSchema(field), file, new ParquetOptions { CompressionMethod = compression });
        using var rg = w.CreateRowGroup();
        await rg.WriteAsync<ReadOnlyMemory<byte>>(field, values.AsMemory(), null, null, default);
    }

    private static async Task AssertNotUtf8(string path, int rows)
    {
        await using var fs = new FileStream(path, FileMode.Open, FileAccess.Read);
        await using var reader = await ParquetReader.CreateAsync(fs, leaveStreamOpen: true);
        var chunk = reader.Metadata!.RowGroups[0].Columns[0];
        Assert.True(PlainTextChunk.CanRead(chunk, 0));
        var ex = Assert.Throws<GrouperException>(() => new PlainTextChunk().Load(fs.SafeFileHandle, path, chunk, rows, optional: false));
        Assert.Contains("UTF-8", ex.Message);
    }

    private static int IndexOf(byte[] haystack, ReadOnlySpan<byte> needle) => haystack.AsSpan().IndexOf(needle);
}
