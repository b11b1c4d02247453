using System.Text;
using Grouper.Format;
using Grouper.Keys;
using Grouper.Reading;
using Grouper.Schema;
using Grouper.Writer;
using Xunit;
using static Grouper.Tests.TestRecords;

namespace Grouper.Tests.Writer;

/// <summary>The writing phase in two halves by key, each merged and written on a thread of its own.</summary>
public class HalvesTests
{
    private static readonly ColumnSpec[] Simple = [Col("user", ValueKind.String), Col("seq", ValueKind.Int64), Col("text", ValueKind.String)];

    // 16 MB budget: 40,000 rows of ~120 bytes spill a few runs, few enough for both halves to open them all.
    private static List<object?[]> Rows(int count = 40_000, int groups = 700, int seed = 5)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count)
            .Select(i => new object?[] { $"u{rng.Next(groups):D5}", (long)i, new string((char)('a' + i % 26), 1 + rng.Next(200)) })
            .ToList();
    }

    private static (DatasetManifest Manifest, bool Halves, bool? Expected) Build(string dest, IEnumerable<object?[]> rows, bool halves,
        long shardTarget = 512L << 20, int? expectedShards = null, IProgress<BuildProgress>? progress = null, CancellationToken ct = default)
    {
        var options = new BuildOptions
        {
            Key = KeySpec.FromColumns("user"), MemoryLimit = 16 << 20, ShardTargetBytes = shardTarget,
            HalvesFromBytes = halves ? 0 : long.MaxValue, HalvesExpectedShards = expectedShards, Progress = progress,
        };
        using var b = new GroupedDatasetBuilder(dest, options);
        using (var r = new TestRecords("test-input", Simple, rows)) b.AddAll(r, ct);
        var m = b.Complete(ct);
        return (m, b.WroteInHalves, b.SecondHalfShardsExpected);
    }

    private static List<(GroupInfo Group, List<object?[]> Records)> ReadAll(string path)
    {
        using var ds = GroupedDataset.Open(path);
        return ds.EnumerateGroups().Select(g => (g, ds.ReadRecords(g).ToList())).ToList();
    }

    [Theory]
    [InlineData(512L << 20)]   // one shard a half
    [InlineData(256L << 10)]   // each half spans several shards, groups across their ends
    public void Written_in_halves_a_dataset_holds_what_it_holds_written_whole(long shardTarget)
    {
        using var t = new TempDir();
        var rows = Rows();
        var whole = Build(t["whole"], rows, halves: false, shardTarget);
        var halves = Build(t["halves"], rows, halves: true, shardTarget);
        Assert.False(whole.Halves);
        Assert.True(halves.Halves);
        // Shards of the default size: the first half makes the ones expected, so the second half's index blocks
        // are copied. Shards smaller than a row group: one a row group, more than the bytes foretell; renumbered.
        Assert.Equal(shardTarget > 1 << 20, halves.Expected);

        // The same groups, in the same order, with the same records in input order; the statistics alike.
        var a = ReadAll(t["whole"]);
        var b = ReadAll(t["halves"]);
        Assert.Equal(a.Select(g => (g.Group.Key, g.Group.Ordinal, g.Group.RecordCount, g.Group.ByteCount)),
            b.Select(g => (g.Group.Key, g.Group.Ordinal, g.Group.RecordCount, g.Group.ByteCount)));
        for (int i = 0; i < a.Count; i++)
        {
            Assert.Equal(a[i].Records.Count, b[i].Records.Count);
            for (int r = 0; r < a[i].Records.Count; r++) Assert.Equal(a[i].Records[r], b[i].Records[r]);
        }
        Assert.Equal(rows.Count, b.Sum(g => g.Records.Count));
        Assert.Equal(whole.Manifest.RecordCount, halves.Manifest.RecordCount);
        Assert.Equal(whole.Manifest.GroupCount, halves.Manifest.GroupCount);
        Assert.Equal(whole.Manifest.ByteCount, halves.Manifest.ByteCount);
        Assert.Equal(whole.Manifest.LargestGroupRecords, halves.Manifest.LargestGroupRecords);
        Assert.Equal(whole.Manifest.Stats, halves.Manifest.Stats);

        // Shards numbered from 0 without a gap, their records adding up; every group found by key, where the
        // index says it starts (the second half's shards were renamed after the first's).
        Assert.Equal(Enumerable.Range(0, halves.Manifest.Shards.Count).Select(ShardWriter.ShardFileName), halves.Manifest.Shards.Select(s => s.File));
        Assert.Equal(halves.Manifest.Shards.Select(s => s.File).Order(),
            Directory.GetFiles(t["halves/data"]).Select(f => "data/" + Path.GetFileName(f)).Order());
        Assert.Equal(rows.Count, halves.Manifest.Shards.Sum(s => s.Records));
        if (shardTarget < 1 << 20) Assert.True(halves.Manifest.Shards.Count > 4, "each half should span several shards");
        using var ds = GroupedDataset.Open(t["halves"]);
        foreach (var (group, records) in b.Where((_, i) => i % 37 == 0 || i == b.Count - 1))
        {
            var found = ds.FindGroup(group.Key);
            Assert.NotNull(found);
            Assert.Equal(group, found);
            Assert.Equal(records, ds.ReadRecords(found!).ToList());
        }
    }

    [Fact]
    public void Written_in_halves_the_same_input_gives_byte_identical_files()
    {
        using var t = new TempDir();
        var rows = Rows(seed: 9);
        Assert.True(Build(t["a"], rows, halves: true, shardTarget: 256 << 10).Halves);
        Assert.True(Build(t["b"], rows, halves: true, shardTarget: 256 << 10).Halves);
        TempDir.AssertSameFiles(t["a"], t["b"]);
    }

    [Fact]
    public void When_the_first_half_makes_other_shards_than_expected_the_second_halfs_groups_are_renumbered()
    {
        using var t = new TempDir();
        var rows = Rows(seed: 11);
        var whole = Build(t["whole"], rows, halves: false, shardTarget: 256 << 10);
        var wrong = Build(t["wrong"], rows, halves: true, shardTarget: 256 << 10, expectedShards: 1000);
        Assert.True(wrong.Halves);
        Assert.False(wrong.Expected);
        var a = ReadAll(t["whole"]);
        var b = ReadAll(t["wrong"]);
        Assert.Equal(a.Select(g => (g.Group.Key, g.Group.RecordCount)), b.Select(g => (g.Group.Key, g.Group.RecordCount)));
        for (int i = 0; i < a.Count; i++) Assert.Equal(a[i].Records, b[i].Records);
        using var ds = GroupedDataset.Open(t["wrong"]);
        Assert.All(ds.EnumerateGroups(), g => Assert.InRange(g.Shard, 0, wrong.Manifest.Shards.Count - 1));
    }

    [Fact]
    public void Cancelled_while_the_halves_are_written_a_build_leaves_nothing_behind()
    {
        using var t = new TempDir();
        using var cts = new CancellationTokenSource();
        // Cancelled as the writing phase starts: each half stops at its next check (every 16,384 records).
        var progress = new SyncProgress<BuildProgress>(p =>
        {
            if (p.Phase == BuildPhase.Writing) cts.Cancel();
        });
        var options = new BuildOptions { Key = KeySpec.FromColumns("user"), MemoryLimit = 16 << 20, HalvesFromBytes = 0, Progress = progress };
        var b = new GroupedDatasetBuilder(t["ds"], options);
        using (var r = new TestRecords("x", Simple, Rows(count: 120_000))) b.AddAll(r);
        Assert.ThrowsAny<OperationCanceledException>(() => b.Complete(cts.Token));
        Assert.True(b.WroteInHalves);
        b.Dispose();
        Assert.Empty(Directory.GetFileSystemEntries(t.Path));
    }

    [Fact]
    public void A_run_read_below_a_key_and_from_it_gives_each_record_once_wherever_the_key_falls()
    {
        using var t = new TempDir();
        var path = Path.Combine(t.Path, "run.lz4");
        // Keys in runs (a key's records repeat it, so a block stores it once), blocks of 64 KB: a key's records
        // span blocks, and a block's first key is now a run's first record, now one in its middle.
        var records = new List<(string Key, int Seq)>();
        for (int k = 0; k < 400; k++)
            for (int r = 0; r < 1 + k % 9 * 40; r++) records.Add(($"key-{k:D4}", records.Count));
        RunIndex index;
        using (var w = new RunWriter(path, 64 << 10))
        {
            var row = new byte[100];
            foreach (var (key, seq) in records)
            {
                BitConverter.TryWriteBytes(row, seq);
                w.Write(Encoding.ASCII.GetBytes(key), row);
            }
            w.Finish();
            index = w.Index;
        }
        Assert.True(index.FirstKeys.Count > 10);
        static List<(string, int)> All(RecordStream s)
        {
            var got = new List<(string, int)>();
            using (s) while (s.MoveNext()) got.Add((Encoding.ASCII.GetString(s.Key), BitConverter.ToInt32(s.Row)));
            return got;
        }
        // Below every key, a block's first key, a key inside a block, a key absent between two, above every key.
        var limits = new[] { "key-", Encoding.ASCII.GetString(index.FirstKeys[5]), "key-0123", "key-0200x", "key-9999" };
        foreach (var limit in limits)
        {
            var l = Encoding.ASCII.GetBytes(limit);
            var below = All(RunReader.Below(index, 64 << 10, l));
            var from = All(RunReader.From(index, 64 << 10, l));
            Assert.Equal(records.Where(x => string.CompareOrdinal(x.Key, limit) < 0), below);
            Assert.Equal(records.Where(x => string.CompareOrdinal(x.Key, limit) >= 0), from);
        }
    }

    [Fact]
    public void The_split_halves_the_bytes_by_key_or_ends_the_first_half_at_a_shard_boundary()
    {
        static byte[] K(string s) => Encoding.UTF8.GetBytes(s);
        var samples = Enumerable.Range(0, 100).Select(i => (K($"k{i:D3}"), 10L)).Reverse().ToList();
        Assert.Equal(K("k050"), KeyHalves.SplitKey(samples, goal: 500, out long below));
        Assert.Equal(500, below);
        // The first half ends at the largest key it can take whole: keys below k050 hold 500 bytes, below k051 510.
        Assert.Equal(K("k050"), KeyHalves.SplitKey(samples, goal: 509, out _));
        // A key's samples count together (a large group spans many blocks).
        var heavy = new List<(byte[], long)> { (K("a"), 10), (K("b"), 300), (K("b"), 300), (K("c"), 10), (K("d"), 10) };
        Assert.Equal(K("b"), KeyHalves.SplitKey(heavy, goal: 315, out below));
        Assert.Equal(10, below);
        // The first key alone past the goal: the first half is that key's records.
        var first = new List<(byte[], long)> { (K("a"), 900), (K("b"), 10), (K("c"), 10) };
        Assert.Equal(K("b"), KeyHalves.SplitKey(first, goal: 460, out below));
        Assert.Equal(900, below);
        // One key only: no halves.
        Assert.Null(KeyHalves.SplitKey([(K("a"), 5), (K("a"), 5)], goal: 5, out _));

        // Half, unless a multiple of the shard size (less a 32nd) lies within 15% of the total from it.
        Assert.Equal(512 - 16, KeyHalves.Goal(total: 1100, shardTarget: 512));
        Assert.Equal(750, KeyHalves.Goal(total: 1500, shardTarget: 512));
        Assert.Equal(1024 - 16, KeyHalves.Goal(total: 2000, shardTarget: 512));
        Assert.Equal(100, KeyHalves.Goal(total: 200, shardTarget: 512));
    }

    [Fact]
    public void An_index_appended_to_another_reads_as_one_whether_its_blocks_are_copied_or_renumbered()
    {
        using var t = new TempDir();
        // Enough entries for several blocks in each part.
        static void Write(string path, int from, int to, int shardFrom)
        {
            using var w = new GroupIndexWriter(path);
            for (int i = from; i < to; i++) w.Add(Encoding.UTF8.GetBytes($"key-{i:D6}"), shardFrom + i / 1000, i % 1000, i + 1, 10L * i);
            w.Finish();
        }
        Write(t["first.gidx"], 0, 5000, 0);
        Write(t["second.gidx"], 5000, 12_000, 0);   // its shards numbered from 5 (5000 / 1000), as expected
        Write(t["second-wrong.gidx"], 5000, 12_000, 90); // numbered from 95: renumbered by -90
        foreach (var (second, shift, name) in new[] { ("second.gidx", 0, "copied.gidx"), ("second-wrong.gidx", -90, "renumbered.gidx") })
        {
            using (var w = new GroupIndexWriter(t[name]))
            {
                for (int i = 0; i < 5000; i++) w.Add(Encoding.UTF8.GetBytes($"key-{i:D6}"), i / 1000, i % 1000, i + 1, 10L * i);
                using var other = new GroupIndexReader(t[second]);
                w.Append(other, shift);
                Assert.Throws<InvalidOperationException>(() => w.Add("zzz"u8, 0, 0, 1, 1));
                w.Finish();
            }
            using var r = new GroupIndexReader(t[name]);
            Assert.Equal(12_000, r.GroupCount);
            var all = r.Enumerate().ToList();
            Assert.Equal(Enumerable.Range(0, 12_000).Select(i => new GroupInfo($"key-{i:D6}", i, i / 1000, i % 1000, i + 1, 10L * i)), all);
            Assert.Equal(new GroupInfo("key-007777", 7777, 7, 777, 7778, 77770), r.Find("key-007777"));
            Assert.Equal(new GroupInfo("key-004999", 4999, 4, 999, 5000, 49990), r.Find("key-004999"));
            Assert.Null(r.Find("key-012000"));
        }
    }
}
