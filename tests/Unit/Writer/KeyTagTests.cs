using System.Text;
using Grouper.Keys;
using Grouper.Sources;
using Grouper.Util;
using Grouper.Writer;
using Xunit;

namespace Grouper.Tests.Writer;

/// <summary>
/// A row going into the sort does not repeat the key's text when the key is one text column as it stands
/// (<see cref="RowCodec.KeyTag"/>); the shard writer puts the key back. The dataset must be the one a key
/// made by a function (no tag possible) gives: the same shards and index, byte for byte.
/// </summary>
public class KeyTagTests
{
    private static void WriteCsv(string path, int rows)
    {
        var rng = new Random(17);
        var sb = new StringBuilder("user,label,text,also_user\n");
        for (int i = 0; i < rows; i++)
        {
            var user = $"u{rng.Next(900):D4}";
            // also_user: the key's text in another column, which keeps its bytes; an empty key on some rows.
            sb.Append(i % 97 == 0 ? "" : user).Append(',').Append("l").Append(rng.Next(5)).Append(',')
              .Append('"').Append(new string('x', rng.Next(0, 300))).Append(" é").Append('"').Append(',').Append(user).Append('\n');
        }
        File.WriteAllText(path, sb.ToString(), new UTF8Encoding(false));
    }

    private static void Build(string input, string dest, KeySpec key)
    {
        // A small budget: several spill runs, so rows go through the spill, the merge and back.
        using var b = new GroupedDatasetBuilder(dest, new BuildOptions { Key = key, MemoryLimit = 4 << 20, RowGroupMaxRows = 500, ShardTargetBytes = 300_000 });
        using (var r = SourceFiles.Open(input)) b.AddAll(r);
        b.Complete();
    }

    [Fact]
    public void Rows_keyed_by_a_text_column_make_the_dataset_a_key_function_makes()
    {
        using var t = new TempDir();
        WriteCsv(t["in.csv"], 60_000);
        // Empty keys go to the null group (by GetKey, so their rows keep their empty text).
        Build(t["in.csv"], t["column"], new ColumnKeySpec(["user"]) { NullPolicy = NullKeyPolicy.Group });
        Build(t["in.csv"], t["function"], new FunctionKeySpec(r =>
        {
            var s = r.GetString(r.GetOrdinal("user"));
            return s.Length == 0 ? null : s;
        }, "user") { NullPolicy = NullKeyPolicy.Group });
        var files = Directory.GetFiles(t["column"], "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(t["column"], f)).Where(f => f != "manifest.json").Order(StringComparer.Ordinal).ToArray();
        Assert.Contains(files, f => f.EndsWith(".parquet", StringComparison.Ordinal));
        Assert.Contains("index.gidx", files);
        foreach (var f in files)
            Assert.True(File.ReadAllBytes(Path.Combine(t["column"], f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(t["function"], f))), $"{f} differs");
    }

    [Fact]
    public void The_key_column_is_a_tag_in_the_row_and_sizes_count_its_text()
    {
        using var t = new TempDir();
        WriteCsv(t["in.csv"], 3);
        using var r = SourceFiles.Open(t["in.csv"]);
        var schema = new SchemaBuilder();
        Assert.True(r.Read()); // row 0: an empty key, so the builder's tag path would not apply; take row 1
        Assert.True(r.Read());
        var map = schema.Bind(r);
        int user = r.GetOrdinal("user");
        var plain = new ByteBuffer(256);
        var tagged = new ByteBuffer(256);
        Assert.Equal(0, RowCodec.Encode(r, map, schema, plain));
        Assert.Equal(1, RowCodec.Encode(r, map, schema, tagged, user));
        Assert.True(r.TryGetUtf8(user, out var key));
        Assert.Equal(plain.Length, tagged.Length + RowCodec.KeyTagSaves(key.Length));
        Assert.Contains(RowCodec.KeyTag, tagged.Span.ToArray());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_preview_counts_each_group_s_bytes_as_the_index_does(bool keysOnly)
    {
        // Rows keyed by a text column carry a KeyTag for it: a preview that kept the rows (not keys only)
        // counted them without the key's text.
        using var t = new TempDir();
        WriteCsv(t["in.csv"], 5_000);
        var key = new ColumnKeySpec(["user"]) { NullPolicy = NullKeyPolicy.Group };
        Build(t["in.csv"], t["ds"], key);
        using var ds = Grouper.Reading.GroupedDataset.Open(t["ds"]);
        var index = ds.EnumerateGroups().Select(g => (g.Key, g.RecordCount, g.ByteCount)).ToList();
        using var b = new GroupedDatasetBuilder(t["preview"], new BuildOptions { Key = key, KeysOnly = keysOnly, MemoryLimit = 4 << 20 });
        using (var r = SourceFiles.Open(t["in.csv"])) b.AddAll(r);
        Assert.Equal(index, b.Preview().Select(g => (g.Key, g.RecordCount, g.ByteCount)).ToList());
    }
}
