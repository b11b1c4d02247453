using System.Text.Json.Nodes;
using Grouper.Format;
using Grouper.Keys;
using Grouper.Reading;
using Grouper.Schema;
using Grouper.Sources;
using Grouper.Writer;
using Xunit;
using static Grouper.Tests.TestRecords;

namespace Grouper.Tests.Reliability;

/// <summary>The manifest's schema against the shards' own: the full check names a disagreement, readers refuse it in words.</summary>
public class ShardSchemaTests
{
    private static string Sample()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var csv = Path.Combine(dir.FullName, "samples", "debian-packages.csv");
            if (File.Exists(csv)) return csv;
        }
        throw new FileNotFoundException("samples/debian-packages.csv is not above the tests' folder.");
    }

    private static DatasetManifest BuildSample(string dest, string key = "section")
    {
        using var b = new GroupedDatasetBuilder(dest, new BuildOptions { Key = KeySpec.FromColumns(key) });
        using (var r = SourceFiles.Open(Sample())) b.AddAll(r);
        return b.Complete();
    }

    private static void EditManifest(string ds, Action<JsonArray> schema)
    {
        var path = Path.Combine(ds, DatasetManifest.FileName);
        var json = JsonNode.Parse(File.ReadAllText(path))!;
        schema(json["schema"]!.AsArray());
        File.WriteAllText(path, json.ToJsonString());
    }

    private static JsonObject Column(JsonArray schema, string name) => schema.Select(c => c!.AsObject()).Single(c => (string?)c["name"] == name);

    /// <summary>Every record of every group, read in full.</summary>
    private static List<object?[]> ReadAll(string ds)
    {
        using var d = GroupedDataset.Open(ds);
        return d.EnumerateGroups().SelectMany(g => d.ReadRecords(g)).ToList();
    }

    public static TheoryData<string, string> Edits => new()
    {
        { "type", "installed_size_kb" },
        { "text as number", "description" },
        { "renamed", "maintainer" },
        { "added", "homepage" },
    };

    [Theory]
    [MemberData(nameof(Edits))]
    public void A_manifest_schema_that_disagrees_with_the_shards_is_named_by_the_check_and_refused_by_readers(string edit, string column)
    {
        using var t = new TempDir();
        var ds = t["ds"];
        var m = BuildSample(ds);
        Assert.Empty(DatasetVerifier.Verify(ds));
        string shardType = m.Schema.SingleOrDefault(c => c.Name == column)?.Type ?? "";
        EditManifest(ds, schema =>
        {
            switch (edit)
            {
                case "type": Column(schema, column)["type"] = shardType == "string" ? "double" : "string"; break;
                case "text as number": Assert.Equal("string", shardType); Column(schema, column)["type"] = "int64"; break;
                case "renamed": Column(schema, column)["name"] = "maintainer_name"; break;
                case "added": schema.Add(new JsonObject { ["name"] = column, ["type"] = "string", ["nullable"] = true }); break;
            }
        });
        string named = edit == "renamed" ? "maintainer_name" : column;

        var problems = DatasetVerifier.Verify(ds).ToList();
        var schemaProblems = problems.Where(p => p.Check == "schema").ToList();
        Assert.NotEmpty(schemaProblems);
        Assert.Equal(m.Shards.Select(s => s.File).Order(), schemaProblems.Select(p => p.Target).Distinct().Order());
        Assert.Contains(schemaProblems, p => p.Message.StartsWith($"Column '{named}' "));
        // A column renamed is missing under its new name, and in the shard under its old one.
        if (edit == "renamed") Assert.Contains(schemaProblems, p => p.Message == "Column 'maintainer' is in the shard (string, never null) but not in the manifest.");

        var ex = Assert.Throws<GrouperException>(() => ReadAll(ds));
        Assert.Equal(GrouperErrorKind.InvalidDataset, ex.Kind);
        Assert.Contains($"'{named}'", ex.Message);
        Assert.Contains(Path.Combine(ds, m.Shards[0].File), ex.Message);
    }

    /// <summary>
    /// A column that may hold nulls in the shards, said never to; and a column Grouper reads through Parquet.Net
    /// (binary), said to be a number. A column said to be nullable that the shards hold as never null reads as it is.
    /// </summary>
    [Theory]
    [InlineData("n", "nullable", false)]
    [InlineData("blob", "type", "int64")]
    [InlineData("k2", "nullable", true)]
    public void Nullability_and_columns_Parquet_Net_reads_are_compared_too(string column, string field, object value)
    {
        using var t = new TempDir();
        var ds = t["ds"];
        var rows = Enumerable.Range(0, 3000).Select(i => new object?[] { $"k{i % 40:D2}", $"v{i % 7}", i % 5 == 0 ? null : (long)i, new byte[] { (byte)i, 1 } }).ToList();
        using (var b = new GroupedDatasetBuilder(ds, new BuildOptions { Key = KeySpec.FromColumns("k"), RowGroupMaxRows = 500, ShardTargetBytes = 16 << 10 }))
        {
            using (var r = new TestRecords("in", [Col("k", ValueKind.String), Col("k2", ValueKind.String), Col("n", ValueKind.Int64, nullable: true), Col("blob", ValueKind.Binary)], rows)) b.AddAll(r);
            b.Complete();
        }
        var m = DatasetManifest.Parse(File.ReadAllBytes(Path.Combine(ds, DatasetManifest.FileName)), ds);
        Assert.True(m.Shards.Count > 1);
        Assert.Empty(DatasetVerifier.Verify(ds));
        EditManifest(ds, schema => Column(schema, column)[field] = JsonValue.Create(value));
        if (value is true)
        {
            // Nulls the shards cannot hold are no harm: the records read as they were written.
            Assert.Empty(DatasetVerifier.Verify(ds));
            Assert.Equal(rows.Count, ReadAll(ds).Count);
            return;
        }
        var problems = DatasetVerifier.Verify(ds).Where(p => p.Check == "schema").ToList();
        Assert.Equal(m.Shards.Select(s => s.File).Order(), problems.Select(p => p.Target).Order());
        Assert.All(problems, p => Assert.Contains($"'{column}'", p.Message));
        var ex = Assert.Throws<GrouperException>(() => ReadAll(ds));
        Assert.Equal(GrouperErrorKind.InvalidDataset, ex.Kind);
        Assert.Contains($"'{column}'", ex.Message);
        Assert.Contains(Path.Combine(ds, m.Shards[0].File), ex.Message);
    }

    /// <summary>
    /// Parquet files with a column named as a Grouper shard's key column (a dataset's shards, copied elsewhere or
    /// re-indexed in place) are imported as they are: the manifest names that column as the files do, and the
    /// dataset reads back, the column's values as they were, and passes the full check.
    /// </summary>
    [Fact]
    public void Files_with_a_group_key_column_import_as_they_are_and_read_back()
    {
        using var t = new TempDir();
        var ds = t["ds"];
        var built = BuildSample(ds);
        var before = new Dictionary<string, List<string>>();
        using (var d = GroupedDataset.Open(ds))
            foreach (var g in d.EnumerateGroups())
                before[g.Key] = d.ReadRecords(g).Select(r => string.Join("|", r)).ToList();
        Directory.CreateDirectory(t["copied"]);
        foreach (var s in built.Shards) File.Copy(Path.Combine(ds, s.File), Path.Combine(t["copied"], Path.GetFileName(s.File)));

        DatasetImporter.Import(t["copied"], KeySpec.FromColumns("section"), t["imported"]);
        // In place, replacing the dataset's manifest and index: grouped by the same column, its groups lie as they are.
        DatasetImporter.Import(ds, KeySpec.FromColumns("section"), null, overwrite: true);
        foreach (var imported in new[] { t["imported"], ds })
        {
            Assert.Empty(DatasetVerifier.Verify(imported));
            using var d = GroupedDataset.Open(imported);
            Assert.Null(d.Manifest.KeyColumn);
            Assert.Equal([DatasetManifest.KeyColumnName, .. built.Schema.Select(c => c.Name)], d.Columns.Select(c => c.Name));
            var after = new Dictionary<string, List<string>>();
            foreach (var g in d.EnumerateGroups())
                after[g.Key] = d.ReadRecords(g).Select(r =>
                {
                    // The files' own key column holds each record's old key, here its section.
                    Assert.Equal(g.Key, r[0]);
                    return string.Join("|", r.Skip(1));
                }).ToList();
            Assert.Equal(before, after);
        }
    }
}
