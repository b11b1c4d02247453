using System.Text;
using CsCheck;
using Grouper.Keys;
using Grouper.Reading;
using Grouper.Schema;
using Grouper.Sources;
using Grouper.Writer;
using Xunit;
using static Grouper.Tests.TestRecords;

namespace Grouper.Tests.Reliability;

/// <summary>Malformed and hostile input, tried systematically: correct handling or a clear error naming file and row.</summary>
public class BadInputTests
{
    private static GrouperException BuildFails(TempDir t, string file, string key = "k")
    {
        var ex = Assert.Throws<GrouperException>(() =>
        {
            using var b = new GroupedDatasetBuilder(t["ds"], new BuildOptions { Key = KeySpec.FromColumns(key) });
            using (var r = SourceFiles.Open(file)) b.AddAll(r);
            b.Complete();
        });
        Assert.False(Directory.Exists(t["ds"]));
        Assert.Empty(Directory.GetDirectories(t.Path, ".*"));
        Assert.Contains(Path.GetFileName(file), ex.Message);
        return ex;
    }

    private static GroupedDataset BuildOk(TempDir t, string file, string key = "k")
    {
        using (var b = new GroupedDatasetBuilder(t["ok"], new BuildOptions { Key = KeySpec.FromColumns(key), Overwrite = true }))
        {
            using (var r = SourceFiles.Open(file)) b.AddAll(r);
            b.Complete();
        }
        return GroupedDataset.Open(t["ok"]);
    }

    [Theory]
    [InlineData("unbalanced.csv", "k,v\n1,\"open\n2,x\n", 2)]
    [InlineData("ragged.csv", "k,v\n1,a\n2\n", 3)]
    [InlineData("missing-key.csv", "x,v\n1,a\n", 1)]   // the header, which names the columns (checked before the first record)
    [InlineData("broken.jsonl", "{\"k\":1}\n{\"k\":\n", 2)]
    [InlineData("notobject.jsonl", "{\"k\":1}\n42\n", 2)]
    public void Malformed_text_names_file_and_row(string name, string text, int row)
    {
        using var t = new TempDir();
        File.WriteAllText(t[name], text);
        var ex = BuildFails(t, t[name]);
        Assert.Equal(row, ex.Row);
    }

    [Fact]
    public void Invalid_utf8_is_an_error_not_silent_replacement()
    {
        using var t = new TempDir();
        var bytes = Encoding.UTF8.GetBytes("k,v\na,ok\nb,").Concat(new byte[] { 0xC3, 0x28, (byte)'\n' }).ToArray();
        File.WriteAllBytes(t["bad.csv"], bytes);
        Assert.Contains("not valid UTF-8", BuildFails(t, t["bad.csv"]).Message);
        File.WriteAllBytes(t["bad.jsonl"], Encoding.UTF8.GetBytes("{\"k\":\"").Concat(new byte[] { 0xFF, (byte)'"', (byte)'}', (byte)'\n' }).ToArray());
        Assert.Equal(1, BuildFails(t, t["bad.jsonl"]).Row);
        // Not the key: a text value the writer would store as the line's own UTF-8 is checked all the same.
        File.WriteAllBytes(t["bad2.jsonl"], Encoding.UTF8.GetBytes("{\"k\":\"a\",\"v\":\"fine\"}\n{\"k\":\"b\",\"v\":\"x").Concat(new byte[] { 0xC3, 0x28, (byte)'"', (byte)'}', (byte)'\n' }).ToArray());
        var ex = BuildFails(t, t["bad2.jsonl"]);
        Assert.Equal(2, ex.Row);
        Assert.Contains("UTF-8", ex.Message);
    }

    [Fact]
    public void Empty_and_truncated_files()
    {
        using var t = new TempDir();
        File.WriteAllText(t["empty.csv"], "");
        BuildFails(t, t["empty.csv"]);
        File.WriteAllBytes(t["empty.parquet"], []);
        BuildFails(t, t["empty.parquet"]);
        File.WriteAllText(t["empty.jsonl"], "");
        using (var ds = BuildOk(t, t["empty.jsonl"])) Assert.Equal(0, ds.GroupCount);
        File.WriteAllText(t["header-only.csv"], "k,v\r\n");
        using (var ds = BuildOk(t, t["header-only.csv"])) Assert.Equal(0, ds.GroupCount);
        File.WriteAllBytes(t["junk.parquet"], Encoding.ASCII.GetBytes("PAR1 this is not parquet PAR1"));
        BuildFails(t, t["junk.parquet"]);
    }

    [Fact]
    public void Bom_crlf_and_a_10_MB_field_are_handled()
    {
        using var t = new TempDir();
        var big = new string('é', 5 << 20); // 10 MB of UTF-8
        File.WriteAllText(t["big.csv"], $"\uFEFFk,v\r\na,\"{big}\"\r\nb,small\r\n", new UTF8Encoding(false));
        using var ds = BuildOk(t, t["big.csv"]);
        Assert.Equal(["k", "v"], ds.Columns.Select(c => c.Name));
        Assert.Equal(big, ds.ReadRecords(ds.FindGroup("a")!).Single()[1]);
        Assert.Equal("small", ds.ReadRecords(ds.FindGroup("b")!).Single()[1]);
    }

    [Fact]
    public void Hostile_keys_stay_data_and_never_become_paths()
    {
        using var t = new TempDir();
        string[] keys = ["../../etc/passwd", "a/b\\c", "..", "\u0001\u0007\u001b[31m", "con", new string('z', 100_000), "x\ny", "💥"];
        var rows = keys.SelectMany((k, i) => new[] { new object?[] { k, (long)i }, new object?[] { k, (long)i + 100 } }).ToList();
        using (var b = new GroupedDatasetBuilder(t["ds"], new BuildOptions { Key = KeySpec.FromColumns("k") }))
        {
            using (var r = new TestRecords("in", [Col("k", ValueKind.String), Col("n", ValueKind.Int64)], rows)) b.AddAll(r);
            b.Complete();
        }
        using var ds = GroupedDataset.Open(t["ds"]);
        foreach (var k in keys) Assert.Equal(2, ds.FindGroup(k)!.RecordCount);
        // Only Grouper's own file names, all inside the dataset.
        var files = Directory.GetFiles(t.Path, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(t.Path, f)).Order().ToList();
        Assert.Equal(["ds/data/shard-00000.parquet", "ds/index.gidx", "ds/manifest.json"], files.Select(f => f.Replace('\\', '/')));
    }

    [Fact]
    public void Unpaired_surrogates_are_refused_not_replaced()
    {
        using var t = new TempDir();
        var ex = Assert.Throws<GrouperException>(() =>
        {
            using var b = new GroupedDatasetBuilder(t["ds"], new BuildOptions { Key = KeySpec.FromColumns("k") });
            using var r = new TestRecords("in", [Col("k", ValueKind.String), Col("v", ValueKind.String)], [["ok", "fine"], ["ok", "bad \ud83d"]]);
            b.AddAll(r);
        });
        Assert.Equal((GrouperErrorKind.InvalidData, 2L), (ex.Kind, ex.Row));
        ex = Assert.Throws<GrouperException>(() =>
        {
            using var b = new GroupedDatasetBuilder(t["ds"], new BuildOptions { Key = KeySpec.FromColumns("k") });
            using var r = new TestRecords("in", [Col("k", ValueKind.String), Col("v", ValueKind.String)], [["\udc00", "x"]]);
            b.AddAll(r);
        });
        Assert.Equal(GrouperErrorKind.InvalidKey, ex.Kind);
    }

    [Fact]
    public void Build_then_read_is_the_identity_on_groups()
    {
        // Keys and values from a generator that likes separators, quotes, control and non-BMP characters.
        string[] tokens = ["a", "b", "|", "\\", "\"", "\n", "\r\n", "\t", ",", "é", "💥", "\u0000", " ", "/", ".."];
        var text = Gen.Int[0, tokens.Length - 1].Select(i => tokens[i]).Array[0, 6].Select(p => string.Concat(p));
        var row = Gen.Select(text, text, Gen.Long);
        Gen.Select(row.Array[0, 300], Gen.Int[4, 64]).Sample((rows, budgetMb) =>
        {
            using var t = new TempDir();
            using (var b = new GroupedDatasetBuilder(t["ds"], new BuildOptions
            {
                Key = new ColumnKeySpec(["k"]) { NullPolicy = NullKeyPolicy.Group, NullGroupName = "(none)" },
                MemoryLimit = (long)budgetMb << 20, RowGroupMaxRows = 50,
            }))
            {
                using (var r = new TestRecords("gen", [Col("k", ValueKind.String), Col("v", ValueKind.String), Col("n", ValueKind.Int64)],
                    rows.Select(x => new object?[] { x.Item1, x.Item2, x.Item3 }))) b.AddAll(r);
                b.Complete();
            }
            var expected = rows.GroupBy(x => x.Item1.Length == 0 ? "(none)" : x.Item1)
                .OrderBy(g => Encoding.UTF8.GetBytes(g.Key), Comparer<byte[]>.Create((a, c) => a.AsSpan().SequenceCompareTo(c)))
                .ToList();
            using var ds = GroupedDataset.Open(t["ds"]);
            var groups = ds.EnumerateGroups().ToList();
            if (expected.Count != groups.Count) throw new Exception($"{groups.Count} groups, expected {expected.Count}");
            foreach (var (e, g) in expected.Zip(groups))
            {
                if (e.Key != g.Key) throw new Exception($"key {g.Key} != {e.Key}");
                var got = ds.ReadRecords(g).Select(r => ((string)r[0]!, (string)r[1]!, (long)r[2]!)).ToList();
                if (!got.SequenceEqual(e.Select(x => (x.Item1, x.Item2, x.Item3)))) throw new Exception($"records of {g.Key} differ");
            }
        }, iter: 60, threads: 1);
    }
}
