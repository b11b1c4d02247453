using DuckDB.NET.Data;
using Grouper.Format;
using Grouper.Keys;
using Grouper.Reading;
using Grouper.Sources;
using Grouper.Writer;
using Xunit;

namespace Grouper.Tests.ScaleOut;

public class ScaleOutTests
{
    /// <summary>Four CSV files; keys u0..u49 spread over all files (or, with <paramref name="keysPerFile"/>, confined to one file each).</summary>
    private static List<string> WriteInputs(TempDir t, bool keysPerFile = false)
    {
        var files = new List<string>();
        for (int f = 0; f < 4; f++)
        {
            var path = t[$"in/part-{f}.csv"];
            Directory.CreateDirectory(t["in"]);
            using var w = new StreamWriter(path);
            w.WriteLine("user,seq,text");
            for (int i = 0; i < 2500; i++)
            {
                int u = keysPerFile ? f * 50 + i % 50 : (i * 31 + f * 7) % 50;
                w.WriteLine($"u{u},{f * 10000 + i},\"t {i}\"");
            }
            files.Add(path);
        }
        return files;
    }

    private static DatasetManifest Build(string dest, IEnumerable<string> files, WorkerShare? worker = null, long memory = 8 << 20)
    {
        using var b = new GroupedDatasetBuilder(dest, new BuildOptions { Key = KeySpec.FromColumns("user"), Worker = worker, MemoryLimit = memory, ShardTargetBytes = 64 << 10 });
        foreach (var f in worker?.FilesOf(files.ToList()) ?? files)
            using (var r = SourceFiles.Open(f)) b.AddAll(r);
        return b.Complete();
    }

    private static void AssertSameGroups(string expectedPath, string actualPath)
    {
        using var a = GroupedDataset.Open(expectedPath);
        using var b = GroupedDataset.Open(actualPath);
        var ga = a.EnumerateGroups().ToList();
        var gb = b.EnumerateGroups().ToList();
        Assert.Equal(ga.Select(g => (g.Key, g.RecordCount, g.ByteCount)), gb.Select(g => (g.Key, g.RecordCount, g.ByteCount)));
        foreach (var (x, y) in ga.Zip(gb))
            Assert.Equal(a.ReadRecords(x).ToList(), b.ReadRecords(y).ToList());
        Assert.Equal(a.Columns, b.Columns);
    }

    [Fact]
    public void Four_workers_merged_equal_a_single_build()
    {
        using var t = new TempDir();
        var files = WriteInputs(t);
        Build(t["single"], files);
        var parts = Enumerable.Range(0, 4).Select(i =>
        {
            var m = Build(t[$"part-{i}"], files, new WorkerShare(i, 4));
            Assert.Equal(i, m.Worker!.Index);
            Assert.Equal(10_000, m.Worker.RecordsSeen);
            return t[$"part-{i}"];
        }).ToList();
        // Every group is in exactly one part.
        var perPart = parts.Select(p => { using var d = GroupedDataset.Open(p); return d.EnumerateGroups().Select(g => g.Key).ToList(); }).ToList();
        Assert.Equal(50, perPart.Sum(k => k.Count));
        Assert.All(perPart, k => Assert.NotEmpty(k));

        var merged = DatasetMerger.Merge(parts.AsEnumerable().Reverse().ToList(), t["merged"]);
        Assert.Equal(10_000, merged.RecordCount);
        Assert.Null(merged.Worker);
        AssertSameGroups(t["single"], t["merged"]);
        // The parts are still whole datasets (shards were linked or copied, not moved).
        foreach (var p in parts) using (GroupedDataset.Open(p)) { }
        Assert.Empty(Directory.GetDirectories(t.Path, ".*"));
    }

    [Fact]
    public void Merge_refuses_missing_repeated_overlapping_and_mismatched_parts()
    {
        using var t = new TempDir();
        var files = WriteInputs(t);
        var parts = Enumerable.Range(0, 3).Select(i => { Build(t[$"p{i}"], files, new WorkerShare(i, 3)); return t[$"p{i}"]; }).ToList();

        var ex = Assert.Throws<GrouperException>(() => DatasetMerger.Merge(parts.Take(2).ToList(), t["out"]));
        Assert.Contains("worker(s) 2 of 3", ex.Message);
        ex = Assert.Throws<GrouperException>(() => DatasetMerger.Merge([parts[0], parts[0], parts[1], parts[2]], t["out"]));
        Assert.Contains("Worker 0 appears twice", ex.Message);
        Build(t["whole"], files);
        ex = Assert.Throws<GrouperException>(() => DatasetMerger.Merge([t["whole"], parts[0]], t["out"]));
        Assert.Contains("not a part of a sharded build", ex.Message);
        Build(t["other"], files.Take(3), new WorkerShare(2, 3));
        ex = Assert.Throws<GrouperException>(() => DatasetMerger.Merge([parts[0], parts[1], t["other"]], t["out"]));
        Assert.Contains("did not read the same input", ex.Message);

        // File splits where keys span files overlap.
        var fparts = Enumerable.Range(0, 2).Select(i => { Build(t[$"f{i}"], files, new WorkerShare(i, 2, WorkerSplit.File)); return t[$"f{i}"]; }).ToList();
        ex = Assert.Throws<GrouperException>(() => DatasetMerger.Merge(fparts, t["out"]));
        Assert.Contains("overlap", ex.Message);
        Assert.False(Directory.Exists(t["out"]));
        Assert.Empty(Directory.GetDirectories(t.Path, ".*"));
    }

    [Fact]
    public void Parts_whose_schemas_differ_are_refused_naming_the_column_and_both_types()
    {
        // File splits of JSON Lines: each worker infers its columns from its own files. The message said only
        // that the schemas differ.
        using var t = new TempDir();
        Directory.CreateDirectory(t["in"]);
        File.WriteAllText(t["in/0.jsonl"], "{\"user\":\"a\",\"n\":1}\n{\"user\":\"a\",\"n\":2.5}\n");
        File.WriteAllText(t["in/1.jsonl"], "{\"user\":\"b\",\"n\":1}\n{\"user\":\"b\",\"n\":null}\n");
        var files = new List<string> { t["in/0.jsonl"], t["in/1.jsonl"] };
        var parts = Enumerable.Range(0, 2).Select(i => { Build(t[$"f{i}"], files, new WorkerShare(i, 2, WorkerSplit.File)); return t[$"f{i}"]; }).ToList();
        var ex = Assert.Throws<GrouperException>(() => DatasetMerger.Merge(parts, t["out"]));
        Assert.Equal(GrouperErrorKind.SchemaMismatch, ex.Kind);
        Assert.Contains($"The schema of {t["f1"]} differs from that of {t["f0"]}: column 'n' is int64, nullable in it and double, never null in the other.", ex.Message);
        Assert.Contains("split by key", ex.Message);
        Assert.False(Directory.Exists(t["out"]));

        // Split by key, every worker infers the same schema, and the parts merge.
        parts = Enumerable.Range(0, 2).Select(i => { Build(t[$"k{i}"], files, new WorkerShare(i, 2)); return t[$"k{i}"]; }).ToList();
        Assert.Equal(4, DatasetMerger.Merge(parts, t["merged"]).RecordCount);
    }

    [Fact]
    public void File_splits_merge_when_groups_stay_within_files()
    {
        using var t = new TempDir();
        var files = WriteInputs(t, keysPerFile: true);
        Build(t["single"], files);
        var parts = Enumerable.Range(0, 2).Select(i => { Build(t[$"f{i}"], files, new WorkerShare(i, 2, WorkerSplit.File)); return t[$"f{i}"]; }).ToList();
        var m = DatasetMerger.Merge(parts, t["merged"], transfer: ShardTransfer.Copy);
        Assert.Equal(4, m.Sources.Count);
        AssertSameGroups(t["single"], t["merged"]);
    }

    private static void Duck(string sql)
    {
        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static Dictionary<string, List<long>> DuckGroups(string glob)
    {
        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT user_id, list(n ORDER BY n) FROM read_parquet('{glob}') GROUP BY 1";
        var d = new Dictionary<string, List<long>>();
        using var r = cmd.ExecuteReader();
        while (r.Read()) d[r.GetString(0)] = ((System.Collections.IEnumerable)r.GetValue(1)).Cast<object>().Select(Convert.ToInt64).ToList();
        return d;
    }

    [Fact]
    public void DuckDB_output_made_by_the_documented_recipe_imports_in_place_and_to_a_new_dataset()
    {
        using var t = new TempDir();
        var dir = t["duck out"];
        // The README's recipe: hash-partition by key, sort by key within each partition.
        Duck($"""
            CREATE TABLE src AS SELECT 'user' || (i * 7919 % 700) AS user_id, i AS n, 'x' || i AS payload FROM range(60000) r(i);
            COPY (SELECT *, hash(user_id) % 4 AS bucket FROM src ORDER BY bucket, user_id) TO '{dir}' (FORMAT parquet, PARTITION_BY (bucket));
            """);
        var expected = DuckGroups(Path.Combine(dir, "**", "*.parquet"));

        var m = DatasetImporter.Import(dir, KeySpec.FromColumns("user_id"), t["imported"], memoryLimit: 4 << 20);
        Assert.Equal(700, m.GroupCount);
        Assert.Equal(4, m.Shards.Count);
        using (var ds = GroupedDataset.Open(t["imported"]))
        {
            Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), ds.EnumerateGroups().Select(g => g.Key));
            int n = ds.Columns.ToList().FindIndex(c => c.Name == "n");
            foreach (var g in ds.EnumerateGroups())
                Assert.Equal(expected[g.Key], ds.ReadRecords(g).Select(r => (long)r[n]!).Order().ToList());
            var one = ds.FindGroup("user42")!;
            Assert.All(ds.ReadRecords(one), r => Assert.Equal("user42", r[0]));
            // DuckDB's dictionary pages go through Parquet.Net: UTF-8 is made from its characters.
            int read = 0;
            foreach (var b in ds.ReadBatches(one, ds.ColumnIndexes(["user_id"])))
                for (int r = 0; r < b.Count; r++, read++)
                {
                    Assert.Equal("user42"u8.ToArray(), b.GetUtf8(0, r).ToArray());
                    Assert.Equal("user42", b.GetChars(0, r).ToString());
                }
            Assert.Equal(one.RecordCount, read);
            // The shards have no key column, and the manifest read back says so.
            Assert.Null(ds.Manifest.KeyColumn);
        }
        Assert.Contains("\"keyColumn\": null", File.ReadAllText(Path.Combine(t["imported"], DatasetManifest.FileName)));
        Assert.Empty(DatasetVerifier.Verify(t["imported"]));

        // In place: the files stay where they are; the index and manifest are added beside them.
        DatasetImporter.Import(dir, KeySpec.FromColumns("user_id"), null);
        using (var ds = GroupedDataset.Open(dir))
        {
            Assert.Equal(700, ds.GroupCount);
            Assert.StartsWith("bucket=", ds.Manifest.Shards[0].File);
            Assert.Equal(expected["user7"].Count, ds.FindGroup("user7")!.RecordCount);
            Assert.Null(ds.Manifest.KeyColumn);
        }
        Assert.Empty(DatasetVerifier.Verify(dir));
        Assert.Equal(GrouperErrorKind.DestinationExists, Assert.Throws<GrouperException>(() => DatasetImporter.Import(dir, KeySpec.FromColumns("user_id"), null)).Kind);
    }

    [Fact]
    public void Import_names_the_first_group_that_is_not_contiguous()
    {
        using var t = new TempDir();
        Directory.CreateDirectory(t["bad"]);
        Duck($"COPY (SELECT 'k' || (i % 3) AS user_id, i AS n FROM range(30) r(i)) TO '{t["bad/a.parquet"]}' (FORMAT parquet)");
        var ex = Assert.Throws<GrouperException>(() => DatasetImporter.Import(t["bad"], KeySpec.FromColumns("user_id"), t["out"]));
        Assert.Contains("'k0'", ex.Message);
        Assert.Contains("a.parquet", ex.Message);
        Assert.Contains("-Regroup", ex.Message);
        Assert.False(Directory.Exists(t["out"]));

        Directory.CreateDirectory(t["split"]);
        Duck($"COPY (SELECT 'k' || (i // 10) AS user_id, i AS n FROM range(20) r(i) ORDER BY 1) TO '{t["split/1.parquet"]}' (FORMAT parquet)");
        Duck($"COPY (SELECT 'k1' AS user_id, 99::BIGINT AS n) TO '{t["split/2.parquet"]}' (FORMAT parquet)");
        ex = Assert.Throws<GrouperException>(() => DatasetImporter.Import(t["split"], KeySpec.FromColumns("user_id"), t["out"]));
        Assert.Contains("'k1'", ex.Message);
        Assert.Contains("1.parquet", ex.Message);
        Assert.Contains("2.parquet", ex.Message);
        Assert.Empty(Directory.GetDirectories(t.Path, ".*"));
    }
}
