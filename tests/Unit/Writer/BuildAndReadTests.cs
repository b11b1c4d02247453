using System.Text;
using Grouper.Format;
using Grouper.Keys;
using Grouper.Partitioning;
using Grouper.Reading;
using Grouper.Schema;
using Grouper.Sources;
using Grouper.Writer;
using Xunit;
using static Grouper.Tests.TestRecords;

namespace Grouper.Tests.Writer;

public class BuildAndReadTests
{
    private static readonly ColumnSpec[] Simple = [Col("user", ValueKind.String), Col("seq", ValueKind.Int64), Col("text", ValueKind.String)];

    private static DatasetManifest Build(string dest, IEnumerable<object?[]> rows, ColumnSpec[]? columns = null, KeySpec? key = null,
        long memory = 64 << 20, Func<BuildOptions, BuildOptions>? tweak = null, int fanIn = 128)
    {
        var options = new BuildOptions { Key = key ?? KeySpec.FromColumns("user"), MemoryLimit = memory };
        if (tweak is not null) options = tweak(options);
        using var b = new GroupedDatasetBuilder(dest, options) { MaxMergeFanIn = fanIn };
        using (var r = new TestRecords("test-input", columns ?? Simple, rows)) b.AddAll(r);
        return b.Complete();
    }

    private static Dictionary<string, List<object?[]>> Expected(IEnumerable<object?[]> rows, int keyColumn = 0)
    {
        var d = new Dictionary<string, List<object?[]>>();
        foreach (var r in rows)
        {
            var k = (string)r[keyColumn]!;
            if (!d.TryGetValue(k, out var l)) d[k] = l = new();
            l.Add(r);
        }
        return d;
    }

    private static void AssertDatasetEquals(string path, Dictionary<string, List<object?[]>> expected)
    {
        using var ds = GroupedDataset.Open(path);
        var groups = ds.EnumerateGroups().ToList();
        Assert.Equal(expected.Count, groups.Count);
        Assert.Equal(expected.Keys.OrderBy(k => k, StringComparer.Ordinal), groups.Select(g => g.Key));
        foreach (var g in groups)
        {
            var want = expected[g.Key];
            Assert.Equal(want.Count, g.RecordCount);
            var got = ds.ReadRecords(g).ToList();
            Assert.Equal(want.Count, got.Count);
            for (int i = 0; i < want.Count; i++) Assert.Equal(want[i], got[i]);
        }
    }

    private static IEnumerable<object?[]> Rows(int count, int groups, int seed = 1, int textLength = 20)
    {
        var rng = new Random(seed);
        for (int i = 0; i < count; i++)
            yield return [$"u{rng.Next(groups):D5}", (long)i, new string((char)('a' + i % 26), 1 + rng.Next(textLength))];
    }

    [Fact]
    public void Text_of_every_length_class_reads_back_whole()
    {
        // Text is transcoded to UTF-8 after room for the longest length prefix it could need and moved back
        // when its length takes fewer bytes: lengths around 128 and 16,384 bytes, one to four bytes a character.
        using var t = new TempDir();
        string[] units = ["a", "é", "€", "💥"];
        int[] lengths = [0, 1, 42, 43, 60, 127, 128, 129, 5461, 5462, 16383, 16384, 16385, 1 << 20, (1 << 20) + 1];
        var rows = (from u in units from n in lengths select new object?[] { $"u{u}", (long)n, string.Concat(Enumerable.Repeat(u, n)) }).ToList();
        Build(t["ds"], rows);
        AssertDatasetEquals(t["ds"], Expected(rows));
    }

    [Fact]
    public void Groups_are_contiguous_in_key_order_and_keep_input_order()
    {
        using var t = new TempDir();
        var rows = Rows(5000, 37).ToList();
        var m = Build(t["ds"], rows);
        Assert.Equal(5000, m.RecordCount);
        Assert.Equal(37, m.GroupCount);
        AssertDatasetEquals(t["ds"], Expected(rows));
        Assert.Empty(Directory.GetDirectories(t.Path, ".*"));
    }

    [Fact]
    public void Every_type_round_trips_with_nulls()
    {
        using var t = new TempDir();
        ColumnSpec[] cols =
        [
            Col("k", ValueKind.String), Col("b", ValueKind.Boolean, true), Col("i8", ValueKind.Int8, true), Col("u8", ValueKind.UInt8),
            Col("i16", ValueKind.Int16), Col("u16", ValueKind.UInt16, true), Col("i32", ValueKind.Int32), Col("u32", ValueKind.UInt32),
            Col("i64", ValueKind.Int64, true), Col("u64", ValueKind.UInt64), Col("f", ValueKind.Float), Col("d", ValueKind.Double, true),
            Col("m", ValueKind.Decimal, true) with { Precision = 18, Scale = 4 }, Col("s", ValueKind.String, true), Col("bin", ValueKind.Binary, true),
            Col("ts", ValueKind.Timestamp, true), Col("date", ValueKind.Date, true), Col("time", ValueKind.Time, true),
        ];
        var rows = new List<object?[]>();
        for (int i = 0; i < 300; i++)
        {
            bool n = i % 7 == 3;
            rows.Add([
                $"g{i % 5}", n ? null : i % 2 == 0, n ? null : (sbyte)(i % 100 - 50), (byte)(i % 256), (short)(-i), n ? null : (ushort)i, i * -1000, (uint)i * 7,
                n ? null : long.MinValue + i, ulong.MaxValue - (ulong)i, i / 3f, n ? null : Math.PI * i, n ? null : 1234.5678m + i,
                n ? null : $"é✓ \"{i}\",\n", n ? null : new byte[] { 0, (byte)i, 255 },
                n ? null : new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc).AddTicks(i * 10L), n ? null : new DateOnly(2020, 2, 29).AddDays(i),
                n ? null : TimeSpan.FromMilliseconds(i * 1001.5),
            ]);
        }
        var m = Build(t["ds"], rows, cols, KeySpec.FromColumns("k"));
        Assert.Equal(cols.Select(c => c with { }), m.Columns);
        using var ds = GroupedDataset.Open(t["ds"]);
        Assert.Equal(cols.Select(c => c.Kind.ClrType()), ds.Columns.Select(c => c.Kind.ClrType()));
        AssertDatasetEquals(t["ds"], Expected(rows));
        // Values come back as the CLR type of their column, not merely equal numbers.
        var first = ds.ReadRecords(ds.FindGroup("g0")!).First();
        for (int c = 0; c < cols.Length; c++)
            if (first[c] is not null) Assert.IsType(cols[c].Kind.ClrType(), first[c]);
    }

    [Fact]
    public void A_group_larger_than_the_memory_budget_spills_merges_and_streams()
    {
        using var t = new TempDir();
        // 4 MB budget; the big group alone is ~12 MB of text.
        IEnumerable<object?[]> rows()
        {
            for (int i = 0; i < 60_000; i++)
            {
                yield return [i % 10 == 0 ? $"small{i % 7}" : "big", (long)i, new string('x', 200) + i];
            }
        }
        var progress = new List<BuildProgress>();
        var m = Build(t["ds"], rows(), memory: 4 << 20, tweak: o => new BuildOptions
        {
            Key = o.Key, MemoryLimit = o.MemoryLimit, RowGroupMaxRows = 5000, ShardTargetBytes = 3 << 20,
            Progress = new SyncProgress<BuildProgress>(progress.Add),
        });
        Assert.True(progress.Max(p => p.SpillRuns) > 3, "the build should have spilled several runs");
        Assert.True(m.Shards.Count > 3, "the big group should span several shards");
        using var ds = GroupedDataset.Open(t["ds"]);
        var big = ds.FindGroup("big")!;
        Assert.Equal(54_000, big.RecordCount);
        long expect = 0, seen = 0;
        foreach (var r in ds.ReadRecords(big))
        {
            while (expect % 10 == 0) expect++;
            Assert.Equal(expect, r[1]);
            Assert.Equal(new string('x', 200) + expect, r[2]);
            expect++;
            seen++;
        }
        Assert.Equal(54_000, seen);
        Assert.Equal(60_000, ds.EnumerateGroups().Sum(g => g.RecordCount));
    }

    [Fact]
    public void Multi_level_merge_keeps_order()
    {
        using var t = new TempDir();
        var rows = Rows(40_000, 500, seed: 3, textLength: 200).ToList();
        var progress = new List<BuildProgress>();
        Build(t["ds"], rows, memory: 4 << 20, fanIn: 2,
            tweak: o => new BuildOptions { Key = o.Key, MemoryLimit = o.MemoryLimit, Progress = new SyncProgress<BuildProgress>(progress.Add) });
        Assert.True(progress.Max(p => p.SpillRuns) >= 3);
        AssertDatasetEquals(t["ds"], Expected(rows));
    }

    [Fact]
    public void Keys_that_share_long_prefixes_or_differ_only_in_length_sort_in_byte_order()
    {
        // The sort buffer compares 8 bytes after the prefix all its keys share; keys equal there but
        // for their length (a trailing NUL) or beyond those 8 bytes must still come out in byte order,
        // across spilled runs and the records merged from memory, each group in input order.
        using var t = new TempDir();
        const string common = "tenant/2024/region-eu-west/";
        string[] tails = ["", "\0", "\0\0", "a", "a\0", "ab", "abcdefgh", "abcdefgh\0", "abcdefghi", "abcdefghij", "abcdefgh~", "é", "中文", "zzzzzzzzzzzz1", "zzzzzzzzzzzz0"];
        var rng = new Random(5);
        var rows = Enumerable.Range(0, 30_000)
            .Select(i => new object?[] { common + tails[rng.Next(tails.Length)], (long)i, new string('x', 1 + rng.Next(150)) })
            .ToList();
        var progress = new List<BuildProgress>();
        Build(t["ds"], rows, memory: 4 << 20,
            tweak: o => new BuildOptions { Key = o.Key, MemoryLimit = o.MemoryLimit, Progress = new SyncProgress<BuildProgress>(progress.Add) });
        Assert.True(progress.Max(p => p.SpillRuns) >= 2);
        AssertDatasetEquals(t["ds"], Expected(rows));
        // Without a spill: the same rows sorted in memory alone.
        Build(t["ds2"], rows, memory: 256 << 20);
        AssertDatasetEquals(t["ds2"], Expected(rows));
    }

    [Fact]
    public void Batches_stream_every_group_and_agree_with_records_whatever_the_access_order()
    {
        // Row groups of 7 rows and small shards, so groups span row groups and shards and the read-ahead
        // crosses both; a required and an optional text column; the scan is broken now and then by
        // reading all columns of the same group, a random other group, or only the start of a group.
        using var t = new TempDir();
        ColumnSpec[] columns = [Col("user", ValueKind.String), Col("seq", ValueKind.Int64), Col("text", ValueKind.String), Col("note", ValueKind.String, nullable: true)];
        var rng = new Random(9);
        var rows = Enumerable.Range(0, 3000).Select(i => new object?[]
        {
            i % 5 == 0 ? "big" : $"u{rng.Next(400):D4}", (long)i, (i % 3 == 0 ? "é€" : "") + new string((char)('a' + i % 26), 1 + rng.Next(30)), i % 4 == 0 ? null : $"n{i}ü",
        }).ToList();
        Build(t["ds"], rows, columns, tweak: o => new BuildOptions { Key = o.Key, MemoryLimit = o.MemoryLimit, RowGroupMaxRows = 7, ShardTargetBytes = 8 << 10 });
        var expected = Expected(rows);
        using var ds = GroupedDataset.Open(t["ds"]);
        Assert.True(ds.Manifest.Shards.Count > 2);
        var projection = ds.ColumnIndexes(["note", "text"]);
        var groups = ds.EnumerateGroups().ToList();
        var other = new Random(3);
        foreach (var g in groups)
        {
            var want = expected[g.Key];
            int i = 0;
            foreach (var b in ds.ReadBatches(g, projection))
            {
                Assert.Equal(projection[1], b.DatasetColumn(1));
                for (int r = 0; r < b.Count; r++, i++)
                {
                    // UTF-8 (as stored) and characters (decoded when first asked), in either order.
                    if (r % 2 == 0) Assert.Equal((string)want[i][2]!, Encoding.UTF8.GetString(b.GetUtf8(1, r)));
                    Assert.Equal((string)want[i][2]!, b.GetChars(1, r).ToString());
                    Assert.Equal((string)want[i][2]!, Encoding.UTF8.GetString(b.GetUtf8(1, r)));
                    Assert.Equal((string?)want[i][3] ?? "", Encoding.UTF8.GetString(b.GetUtf8(0, r)));
                    Assert.Equal(want[i][3] is null, b.IsNull(0, r));
                    Assert.Equal(want[i][3], b.GetString(0, r));
                }
            }
            Assert.Equal(want.Count, i);
            if (g.Ordinal % 13 == 0)
            {
                var all = ds.ReadRecords(g).ToList();
                for (int k = 0; k < want.Count; k++) Assert.Equal(want[k], all[k]);
                var o = groups[other.Next(groups.Count)];
                Assert.Equal(expected[o.Key][0], ds.ReadRecords(o).First());
                Assert.Equal(expected["big"][0][2], ds.ReadBatches(ds.FindGroup("big")!, projection).First().GetString(1, 0));
            }
        }
    }

    [Fact]
    public void A_scan_streams_every_group_in_storage_order_and_says_whose_records_each_batch_holds()
    {
        // Row groups of 7 rows and small shards: groups span row groups and shards, and many share one.
        using var t = new TempDir();
        ColumnSpec[] columns = [Col("user", ValueKind.String), Col("seq", ValueKind.Int64), Col("text", ValueKind.String, nullable: true)];
        var rng = new Random(5);
        var rows = Enumerable.Range(0, 4000).Select(i => new object?[]
        {
            i % 6 == 0 ? "big-ü" : $"u{rng.Next(900):D4}", (long)i, i % 9 == 0 ? null : $"t{i}-" + new string('é', rng.Next(4)),
        }).ToList();
        Build(t["ds"], rows, columns, tweak: o => new BuildOptions { Key = o.Key, MemoryLimit = o.MemoryLimit, RowGroupMaxRows = 7, ShardTargetBytes = 8 << 10 });
        var expected = Expected(rows);
        using var ds = GroupedDataset.Open(t["ds"]);
        Assert.True(ds.Manifest.Shards.Count > 2);
        var groups = ds.EnumerateGroups().ToList();
        Assert.True(groups.Count > 500);

        // All columns: every record, in every group's order, each batch naming its group.
        int gi = -1, inGroup = 0, batches = 0;
        foreach (var b in ds.ScanBatches())
        {
            batches++;
            if (b.IsGroupStart)
            {
                if (gi >= 0) Assert.Equal(groups[gi].RecordCount, inGroup);
                gi++;
                inGroup = 0;
            }
            var g = groups[gi];
            Assert.Equal(g.Ordinal, b.GroupOrdinal);
            Assert.Equal(g.Key, b.GroupKey);
            Assert.Equal(g.Key, Encoding.UTF8.GetString(b.GroupKeyUtf8));
            Assert.Equal(g.RecordCount, b.GroupRecordCount);
            Assert.Equal(inGroup, b.FirstRecordInGroup);
            for (int r = 0; r < b.Count; r++, inGroup++)
                for (int c = 0; c < columns.Length; c++) Assert.Equal(expected[g.Key][inGroup][c], b.GetValue(c, r));
        }
        Assert.Equal(groups.Count - 1, gi);
        Assert.Equal(groups[gi].RecordCount, inGroup);
        Assert.True(batches > groups.Count, "groups that span row groups come in several batches");

        // A projection, the key looked at only as UTF-8 (no string made), and a fetch of another group in
        // the middle of the scan: the scan goes on where it was.
        var projection = ds.ColumnIndexes(["text"]);
        long seen = 0;
        var other = new Random(2);
        foreach (var b in ds.ScanBatches(projection))
        {
            var key = Encoding.UTF8.GetString(b.GroupKeyUtf8);
            for (int r = 0; r < b.Count; r++)
            {
                var want = (string?)expected[key][(int)b.FirstRecordInGroup + r][2];
                Assert.Equal(want ?? "", Encoding.UTF8.GetString(b.GetUtf8(0, r)));
                Assert.Equal(want is null, b.IsNull(0, r));
            }
            seen += b.Count;
            if (b.GroupOrdinal % 97 == 5 && b.IsGroupStart)
            {
                var o = groups[other.Next(groups.Count)];
                Assert.Equal(expected[o.Key], ds.ReadRecords(o).ToList());
            }
        }
        Assert.Equal(rows.Count, seen);
    }

    [Fact]
    public void An_index_that_claims_more_records_than_the_shards_hold_is_a_clear_error_for_scans_and_reads()
    {
        // Two datasets with the same keys, one with ten times the records: the larger one's index put into
        // the smaller one (its manifest told the new index's size, as a careless copy would leave it).
        using var t = new TempDir();
        Build(t["small"], Enumerable.Range(0, 10).Select(i => new object?[] { $"g{i}", (long)i, "x" }));
        Build(t["large"], Enumerable.Range(0, 100).Select(i => new object?[] { $"g{i % 10}", (long)i, "x" }));
        File.Copy(Path.Combine(t["large"], "index.gidx"), Path.Combine(t["small"], "index.gidx"), overwrite: true);
        var manifestPath = Path.Combine(t["small"], DatasetManifest.FileName);
        var m = DatasetManifest.Parse(File.ReadAllBytes(manifestPath), manifestPath);
        var patched = new DatasetManifest
        {
            CreatedBy = m.CreatedBy, Key = m.Key, Schema = m.Schema, GroupCount = m.GroupCount, RecordCount = m.RecordCount, ByteCount = m.ByteCount,
            Sources = m.Sources, Shards = m.Shards, Index = new FileEntry { File = m.Index.File, Bytes = new FileInfo(Path.Combine(t["small"], "index.gidx")).Length, Xxh3 = m.Index.Xxh3 },
        };
        File.WriteAllBytes(manifestPath, patched.ToJson());

        using var ds = GroupedDataset.Open(t["small"]);
        var ex = Assert.Throws<GrouperException>(() => { foreach (var b in ds.ScanBatches()) _ = b.Count; });
        Assert.Equal(GrouperErrorKind.InvalidDataset, ex.Kind);
        Assert.Contains("damaged", ex.Message);
        Assert.Contains(t["small"], ex.Message);
        ex = Assert.Throws<GrouperException>(() => ds.ReadRecords(ds.FindGroup("g9")!).ToList());
        Assert.Contains("group 'g9'", ex.Message);
        Assert.NotEmpty(DatasetVerifier.Verify(t["small"]));
    }

    [Fact]
    public void A_scan_refuses_an_index_whose_groups_do_not_tile_the_shards()
    {
        // The index rewritten as a careless edit leaves it: one group's offset moved a row on and the group before
        // it a record longer (what a tester did to a byte of it), then one group a record shorter. A scan handed out
        // the neighbour's record as the group's own, one record more than the dataset holds, without a word.
        using var t = new TempDir();
        Build(t["ds"], Enumerable.Range(0, 40).Select(i => new object?[] { $"g{i % 4}", (long)i, "x" }));
        var index = Path.Combine(t["ds"], "index.gidx");
        List<GroupInfo> groups;
        using (var r = new GroupIndexReader(index)) groups = r.Enumerate().ToList();
        Assert.Equal([0L, 10, 20, 30], groups.Select(g => g.RowOffset));

        void Rewrite(Func<GroupInfo, (long Offset, long Count)> change, string says)
        {
            File.Delete(index);
            using (var w = new GroupIndexWriter(index))
            {
                foreach (var g in groups)
                {
                    var (offset, count) = change(g);
                    w.Add(Encoding.UTF8.GetBytes(g.Key), g.Shard, offset, count, g.ByteCount);
                }
                w.Finish();
            }
            var manifestPath = Path.Combine(t["ds"], DatasetManifest.FileName);
            var m = DatasetManifest.Parse(File.ReadAllBytes(manifestPath), manifestPath);
            File.WriteAllBytes(manifestPath, new DatasetManifest
            {
                CreatedBy = m.CreatedBy, Key = m.Key, Schema = m.Schema, GroupCount = m.GroupCount, RecordCount = m.RecordCount, ByteCount = m.ByteCount,
                Sources = m.Sources, Shards = m.Shards, Index = new FileEntry { File = m.Index.File, Bytes = new FileInfo(index).Length, Xxh3 = Grouper.Util.FileChecksum.Compute(index) },
            }.ToJson());
            using var ds = GroupedDataset.Open(t["ds"]);
            var ex = Assert.Throws<GrouperException>(() => { foreach (var b in ds.ScanBatches()) _ = b.Count; });
            Assert.Equal(GrouperErrorKind.InvalidDataset, ex.Kind);
            Assert.Contains(says, ex.Message);
            Assert.Contains(ds.Manifest.Shards[0].File, ex.Message);
        }
        Rewrite(g => g.Key switch { "g1" => (10, 11), "g2" => (21, 10), _ => (g.RowOffset, g.RecordCount) }, "group 'g3' at row 30 of the shard");
        Rewrite(g => g.Key == "g3" ? (30, 9) : (g.RowOffset, g.RecordCount), "rows 39 to 39");
    }

    [Fact]
    public void Many_tiny_groups_are_found_by_key()
    {
        using var t = new TempDir();
        var rows = Enumerable.Range(0, 100_000).Select(i => new object?[] { $"key-{i * 7919 % 100_000}", (long)i, "v" }).ToList();
        var m = Build(t["ds"], rows);
        Assert.Equal(100_000, m.GroupCount);
        using var ds = GroupedDataset.Open(t["ds"]);
        foreach (var i in new[] { 0, 1, 99_999, 50_000, 12_345 })
        {
            var g = ds.FindGroup($"key-{i}");
            Assert.NotNull(g);
            var rec = Assert.Single(ds.ReadRecords(g!));
            Assert.Equal($"key-{i}", rec[0]);
        }
        Assert.Null(ds.FindGroup("key-100000"));
        Assert.Null(ds.FindGroup(""));
        Assert.Null(ds.FindGroup("zzz"));
        var keys = ds.EnumerateGroups().Select(g => g.Key).ToList();
        Assert.Equal(keys.OrderBy(k => k, StringComparer.Ordinal), keys);
        Assert.Equal(Enumerable.Range(0, 100_000).Select(i => (long)i), ds.EnumerateGroups().Select(g => g.Ordinal));
    }

    [Fact]
    public void Same_input_gives_byte_identical_files()
    {
        using var t = new TempDir();
        var rows = Rows(20_000, 300, textLength: 100).ToList();
        Build(t["a"], rows, memory: 4 << 20);
        Build(t["b"], rows, memory: 4 << 20);
        TempDir.AssertSameFiles(t["a"], t["b"]);
    }

    [Fact]
    public void Checksums_in_the_manifest_match_the_files()
    {
        using var t = new TempDir();
        var m = Build(t["ds"], Rows(1000, 10));
        foreach (var f in m.Shards.Cast<FileEntry>().Append(m.Index))
        {
            Assert.Equal(new FileInfo(Path.Combine(t["ds"], f.File)).Length, f.Bytes);
            Assert.Equal(Util.FileChecksum.Compute(Path.Combine(t["ds"], f.File)), f.Xxh3);
        }
    }

    [Fact]
    public void An_existing_destination_is_left_alone_unless_overwrite()
    {
        using var t = new TempDir();
        Build(t["ds"], Rows(10, 2));
        var before = File.ReadAllBytes(t["ds/manifest.json"]);
        var ex = Assert.Throws<GrouperException>(() => Build(t["ds"], Rows(20, 3)));
        Assert.Equal(GrouperErrorKind.DestinationExists, ex.Kind);
        Assert.Equal(before, File.ReadAllBytes(t["ds/manifest.json"]));

        Build(t["ds"], Rows(20, 3), tweak: o => new BuildOptions { Key = o.Key, Overwrite = true });
        using (var ds = GroupedDataset.Open(t["ds"])) Assert.Equal(20, ds.Manifest.RecordCount);
        Assert.Single(Directory.GetFileSystemEntries(t.Path));
    }

    [Fact]
    public void A_destination_written_with_a_trailing_separator_is_that_folder()
    {
        using var t = new TempDir();
        var slashed = t["ds"] + Path.DirectorySeparatorChar;
        Build(slashed, Rows(10, 2));
        using (var ds = GroupedDataset.Open(t["ds"])) Assert.Equal(10, ds.Manifest.RecordCount);
        Assert.Equal(GrouperErrorKind.DestinationExists, Assert.Throws<GrouperException>(() => Build(slashed, Rows(20, 3))).Kind);
        // Replaced through the same spelling, as a shell's completion of the existing folder writes it.
        Build(slashed, Rows(20, 3), tweak: o => new BuildOptions { Key = o.Key, Overwrite = true });
        using (var ds = GroupedDataset.Open(slashed)) Assert.Equal(20, ds.Manifest.RecordCount);
        Assert.Equal([t["ds"]], Directory.GetFileSystemEntries(t.Path));
        Assert.Equal(["data", "index.gidx", "manifest.json"], Directory.GetFileSystemEntries(t["ds"]).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_file_inside_the_destination_is_not_input()
    {
        using var t = new TempDir();
        Build(t["ds"], Rows(10, 2)); // a dataset to replace, with a file beside its own
        File.WriteAllText(t["ds/in.csv"], "user,n\nu1,1\n");
        File.WriteAllText(t["elsewhere.csv"], "user,n\nu1,1\n");
        using var b = new GroupedDatasetBuilder(t["ds"], new BuildOptions { Key = KeySpec.FromColumns("user"), Overwrite = true });
        using (var r = SourceFiles.Open(t["ds/in.csv"]))
        {
            var ex = Assert.Throws<GrouperException>(() => b.AddAll(r));
            Assert.Equal(GrouperErrorKind.InvalidArgument, ex.Kind);
            Assert.Contains("is inside the destination", ex.Message);
            Assert.Equal(t["ds/in.csv"], ex.SourceName);
        }
        // A name that only starts like the destination's is outside it.
        Assert.False(SourceFiles.IsWithin(t["ds2/in.csv"], t["ds"]));
        Assert.True(SourceFiles.IsWithin(t["ds/a/b.csv"], t["ds"] + Path.DirectorySeparatorChar));
        Assert.True(SourceFiles.IsWithin(t["ds"] + Path.DirectorySeparatorChar, t["ds"]));
        Assert.True(SourceFiles.IsWithin(t["ds"], Path.GetPathRoot(t["ds"])!));
        using (var r = SourceFiles.Open(t["elsewhere.csv"])) b.AddAll(r);
        Assert.Equal(1, b.Complete().RecordCount);
    }

    [Fact]
    public void Overwrite_never_replaces_a_folder_that_is_not_a_dataset()
    {
        using var t = new TempDir();
        Directory.CreateDirectory(t["home"]);
        File.WriteAllText(t["home/keep.txt"], "precious");
        var ex = Assert.Throws<GrouperException>(() => Build(t["home"], Rows(10, 2), tweak: o => new BuildOptions { Key = o.Key, Overwrite = true }));
        Assert.Equal(GrouperErrorKind.DestinationExists, ex.Kind);
        Assert.Contains("not a Grouper dataset", ex.Message);
        Assert.Equal("precious", File.ReadAllText(t["home/keep.txt"]));
        Assert.Single(Directory.GetFileSystemEntries(t.Path));
        // An empty folder is fine.
        Directory.CreateDirectory(t["empty"]);
        Build(t["empty"], Rows(10, 2), tweak: o => new BuildOptions { Key = o.Key, Overwrite = true });
        Assert.True(File.Exists(t["empty/manifest.json"]));
    }

    [Fact]
    public void A_failed_build_leaves_nothing_behind()
    {
        using var t = new TempDir();
        IEnumerable<object?[]> rows()
        {
            for (int i = 0; i < 50_000; i++) yield return [i == 40_000 ? null : "u" + i % 10, (long)i, new string('y', 100)];
        }
        var ex = Assert.Throws<GrouperException>(() => Build(t["ds"], rows(), memory: 4 << 20));
        Assert.Equal(GrouperErrorKind.InvalidKey, ex.Kind);
        Assert.Contains("test-input, row 40001", ex.Message);
        Assert.Equal(40_001, ex.Row);
        Assert.Empty(Directory.GetFileSystemEntries(t.Path));

        // Nor the folders made for a destination whose parent did not exist; a dataset committed there keeps them.
        Assert.Throws<GrouperException>(() => Build(t["a/b [c]/ds"], rows(), memory: 4 << 20));
        Assert.Empty(Directory.GetFileSystemEntries(t.Path));
        Build(t["a/b [c]/ds"], Rows(10, 2));
        Assert.Equal([t["a/b [c]/ds"]], Directory.GetFileSystemEntries(t["a/b [c]"]));
    }

    [Fact]
    public void Cancelling_leaves_nothing_behind()
    {
        using var t = new TempDir();
        using var cts = new CancellationTokenSource();
        IEnumerable<object?[]> rows()
        {
            for (int i = 0; ; i++)
            {
                if (i == 30_000) cts.Cancel();
                yield return ["u" + i % 10, (long)i, new string('y', 100)];
            }
        }
        var b = new GroupedDatasetBuilder(t["ds"], new BuildOptions { Key = KeySpec.FromColumns("user"), MemoryLimit = 4 << 20 });
        using (var r = new TestRecords("x", Simple, rows()))
            Assert.ThrowsAny<OperationCanceledException>(() => b.AddAll(r, cts.Token));
        Assert.NotEmpty(Directory.GetFileSystemEntries(t.Path));
        b.Dispose();
        Assert.Empty(Directory.GetFileSystemEntries(t.Path));
    }

    [Fact]
    public void Null_keys_go_to_a_named_group_when_asked()
    {
        using var t = new TempDir();
        var rows = new List<object?[]> { new object?[] { "a", 1L, "x" }, new object?[] { null, 2L, "y" }, new object?[] { "", 3L, "z" } };
        Build(t["ds"], rows, columns: [Col("user", ValueKind.String, true), Simple[1], Simple[2]],
            key: new ColumnKeySpec(["user"]) { NullPolicy = NullKeyPolicy.Group, NullGroupName = "(none)" });
        using var ds = GroupedDataset.Open(t["ds"]);
        Assert.Equal(["(none)", "a"], ds.EnumerateGroups().Select(g => g.Key));
        Assert.Equal(2, ds.FindGroup("(none)")!.RecordCount);

        // A key column no record has (misspelt, in JSON Lines, whose columns come with their records) put every
        // record in the null group without a word; a column some records lack is what the null group is for.
        File.WriteAllText(t["d.jsonl"], "{\"user\":\"a\",\"n\":1}\n{\"n\":2}\n");
        foreach (var (column, fails) in new[] { ("usr", true), ("User", false), ("user", false) })
        {
            var dest = t["j " + column];
            var key = new ColumnKeySpec([column]) { NullPolicy = NullKeyPolicy.Group, NullGroupName = "(none)" };
            using var b = new GroupedDatasetBuilder(dest, new BuildOptions { Key = key });
            using (var r = SourceFiles.Open(t["d.jsonl"])) b.AddAll(r);
            if (!fails) { Assert.Equal(2, b.Complete().GroupCount); continue; }
            var ex = Assert.Throws<GrouperException>(() => b.Complete());
            Assert.Equal(GrouperErrorKind.MissingColumn, ex.Kind);
            Assert.Contains("'usr' is in none of the 2 records read (columns: user, n)", ex.Message);
            Assert.False(Directory.Exists(dest));
        }
    }

    [Fact]
    public void Composite_keys_use_the_escaped_canonical_form()
    {
        using var t = new TempDir();
        var rows = new List<object?[]> { new object?[] { "a|b", 1L, "x" }, new object?[] { "a", 2L, "b|x" }, new object?[] { @"c\", 3L, "1" } };
        Build(t["ds"], rows, key: KeySpec.FromColumns("user", "text"));
        using var ds = GroupedDataset.Open(t["ds"]);
        var keys = ds.EnumerateGroups().Select(g => g.Key).ToList();
        Assert.Equal([@"a\|b|x", @"a|b\|x", @"c\\|1"], keys);
        Assert.Equal(@"a\|b|x", KeyText.Compose(["a|b", "x"]));
        Assert.Equal(2L, ds.ReadRecords(ds.FindGroup(KeyText.Compose(["a", "b|x"]))!).Single()[1]);
    }

    [Fact]
    public void A_key_function_sees_the_record()
    {
        using var t = new TempDir();
        var rows = Rows(500, 20).ToList();
        Build(t["ds"], rows, key: KeySpec.FromFunction(r => ((string)r.GetValue(0)!).Substring(0, 4), "first four"));
        using var ds = GroupedDataset.Open(t["ds"]);
        Assert.Equal(rows.Select(r => ((string)r[0]!)[..4]).Distinct().Count(), ds.GroupCount);
        Assert.Equal("function", ds.Manifest.Key.Kind);
        Assert.Equal("first four", ds.Manifest.Key.Description);
    }

    [Fact]
    public void A_missing_key_column_names_the_source()
    {
        using var t = new TempDir();
        var ex = Assert.Throws<GrouperException>(() => Build(t["ds"], Rows(10, 2), key: KeySpec.FromColumns("nope")));
        Assert.Equal(GrouperErrorKind.MissingColumn, ex.Kind);
        Assert.Contains("'nope'", ex.Message);
        Assert.Contains("test-input", ex.Message);
        Assert.Empty(Directory.GetFileSystemEntries(t.Path));

        // A file of a header and no records says so too (it built an empty dataset keyed by a column it does not have).
        File.WriteAllText(t["header.csv"], "a,b\n");
        using (var b = new GroupedDatasetBuilder(t["empty"], new BuildOptions { Key = KeySpec.FromColumns("nope") }))
        using (var r = SourceFiles.Open(t["header.csv"]))
        {
            ex = Assert.Throws<GrouperException>(() => b.AddAll(r));
            Assert.Equal(GrouperErrorKind.MissingColumn, ex.Kind);
            Assert.Contains("(columns: a, b)", ex.Message);
        }
        Assert.False(Directory.Exists(t["empty"]));
        // With the key among its columns, the dataset is empty, and has the file's columns (it had none: even its key
        // column could not be read).
        using (var b = new GroupedDatasetBuilder(t["empty"], new BuildOptions { Key = KeySpec.FromColumns("a") }))
        {
            using (var r = SourceFiles.Open(t["header.csv"])) b.AddAll(r);
            Assert.Equal(0, b.Complete().GroupCount);
        }
        using (var ds = GroupedDataset.Open(t["empty"]))
        {
            Assert.Equal(["a", "b"], ds.Columns.Select(c => c.Name));
            Assert.Equal([1], ds.ColumnIndexes(["b"]));
            Assert.Empty(ds.ScanBatches(ds.ColumnIndexes(["a"])));
        }
        // A header alone beside files of records is checked as theirs are: the same columns join them, others are refused.
        File.WriteAllText(t["full.csv"], "a,b\nx,1\n");
        File.WriteAllText(t["other.csv"], "a,c\n");
        using (var b = new GroupedDatasetBuilder(t["joined"], new BuildOptions { Key = KeySpec.FromColumns("a") }))
        {
            using (var r = SourceFiles.Open(t["header.csv"])) b.AddAll(r);
            using (var r = SourceFiles.Open(t["full.csv"])) b.AddAll(r);
            using (var r = SourceFiles.Open(t["other.csv"]))
                Assert.Equal(GrouperErrorKind.SchemaMismatch, Assert.Throws<GrouperException>(() => b.AddAll(r)).Kind);
        }
    }

    [Fact]
    public void Sources_with_different_columns_are_refused()
    {
        using var t = new TempDir();
        using var b = new GroupedDatasetBuilder(t["ds"], new BuildOptions { Key = KeySpec.FromColumns("user") });
        using (var r = new TestRecords("one.csv", Simple, Rows(10, 2))) b.AddAll(r);
        using var r2 = new TestRecords("two.csv", [Simple[0], Simple[1], Col("other", ValueKind.String)], Rows(10, 2));
        var ex = Assert.Throws<GrouperException>(() => b.AddAll(r2));
        Assert.Equal(GrouperErrorKind.SchemaMismatch, ex.Kind);
        Assert.Contains("two.csv", ex.Message);
        Assert.Contains("one.csv", ex.Message);
        Assert.Contains("'text'", ex.Message);
    }

    [Fact]
    public void Reading_some_columns_decodes_only_those()
    {
        using var t = new TempDir();
        var rows = Rows(3000, 7).ToList();
        Build(t["ds"], rows, tweak: o => new BuildOptions { Key = o.Key, RowGroupMaxRows = 500 });
        using var ds = GroupedDataset.Open(t["ds"]);
        var cols = ds.ColumnIndexes(["text", "seq"]);
        Assert.Equal([2, 1], cols);
        foreach (var g in ds.EnumerateGroups())
        {
            var all = ds.ReadRecords(g).ToList();
            var some = ds.ReadRecords(g, cols).ToList();
            Assert.Equal(all.Select(r => new[] { r[2], r[1] }), some);
        }
        Assert.Equal(GrouperErrorKind.MissingColumn, Assert.Throws<GrouperException>(() => ds.ColumnIndexes(["nope"])).Kind);
        // Named as PowerShell names properties: case aside when no column is written so; each column once.
        Assert.Equal([2, 1], ds.ColumnIndexes(["TEXT", "Seq", "text"]));
    }

    [Fact]
    public void A_column_named_but_for_case_is_found_unless_two_columns_are()
    {
        using var t = new TempDir();
        Build(t["ds"], [["u1", "x", "y", "z"]], columns: [Col("user", ValueKind.String), Col("ab", ValueKind.String), Col("AB", ValueKind.String), Col("Label", ValueKind.String)]);
        using var ds = GroupedDataset.Open(t["ds"]);
        Assert.Equal([1, 2, 3], ds.ColumnIndexes(["ab", "AB", "label"]));
        var ex = Assert.Throws<GrouperException>(() => ds.ColumnIndex("Ab"));
        Assert.Equal(GrouperErrorKind.MissingColumn, ex.Kind);
        Assert.Contains("'ab', 'AB'", ex.Message);
        // The statistics take names the same way.
        Assert.Equal(["z"], Grouper.Stats.ContentStats.GlobalLabelCounts(ds, "LABEL").Keys);
    }

    [Fact]
    public void Key_label_and_id_columns_named_but_for_case_are_found_and_recorded_as_the_input_spells_them()
    {
        using var t = new TempDir();
        ColumnSpec[] columns = [Col("UserId", ValueKind.String), Col("seq", ValueKind.Int64), Col("Label", ValueKind.String)];
        var rows = Rows(200, 9).Select(r => new object?[] { r[0], r[1], (long)r[1]! % 3 == 0 ? "cat" : "dog" }).ToList();

        // A key column named as PowerShell matches properties: the groups are those of the column, and the manifest
        // names the column as the shards do (what a check of the dataset and a reader look it up by).
        var m = Build(t["by user"], rows, columns, KeySpec.FromColumns("userid"));
        Assert.Equal(["UserId"], m.Key.Columns);
        Assert.Equal("columns: UserId", m.Key.Description);
        AssertDatasetEquals(t["by user"], Expected(rows));
        Assert.Empty(DatasetVerifier.Verify(t["by user"]));
        // The same build with the exact name writes the same bytes.
        Build(t["exact"], rows, columns, KeySpec.FromColumns("UserId"));
        Assert.Equal(File.ReadAllBytes(Path.Combine(t["exact"], "manifest.json")), File.ReadAllBytes(Path.Combine(t["by user"], "manifest.json")));

        // A pattern over a column, hashed buckets of one, and a scheme's label and id columns the same way.
        Assert.Equal(["UserId"], Build(t["pattern"], rows, columns, new RegexKeySpec("USERID", "u(?<key>\\d{3})")).Key.Columns);
        Assert.Equal(["UserId"], Build(t["buckets"], rows, columns, new HashBucketKeySpec(KeySpec.FromColumns("userID"), 4)).Key.Columns);
        Assert.Equal(rows.Count, Build(t["dirichlet"], rows, columns, new DirichletScheme(3, "label", 0.5)).RecordCount);
        Build(t["iid"], rows, columns, new IidScheme(3, 7, "userid"));
        using (var ds = GroupedDataset.Open(t["iid"]))
        {
            // Records of one user go to one group (the id column was read, not the record's position).
            var groupOf = new Dictionary<string, string>();
            foreach (var g in ds.EnumerateGroups())
                foreach (var r in ds.ReadRecords(g))
                    Assert.Equal(groupOf.TryAdd((string)r[0]!, g.Key) ? g.Key : groupOf[(string)r[0]!], g.Key);
        }

        // Two columns that differ only in case: only the exact name tells them apart.
        ColumnSpec[] twins = [Col("user", ValueKind.String), Col("USER", ValueKind.String)];
        var ex = Assert.Throws<GrouperException>(() => Build(t["twins"], [["a", "b"]], twins, KeySpec.FromColumns("User")));
        Assert.Equal(GrouperErrorKind.MissingColumn, ex.Kind);
        Assert.Contains("(columns: user, USER)", ex.Message);
        Assert.Equal(["USER"], Build(t["twins exact"], [["a", "b"]], twins, KeySpec.FromColumns("USER")).Key.Columns);
    }

    [Fact]
    public void A_dataset_s_shards_grouped_again_keep_their_old_key_as_a_column_of_its_own()
    {
        using var t = new TempDir();
        Build(t["by user"], Rows(300, 7));
        // Its shards as input, grouped by another column: they hold the key column too, named as the new shards' own.
        using (var b = new GroupedDatasetBuilder(t["by seq"], new BuildOptions { Key = KeySpec.FromColumns("seq") }))
        {
            // The dataset's folder as input is its shards (its manifest is not JSON Lines input, nor its index).
            var files = SourceFiles.Expand(t["by user"]);
            Assert.Equal(Directory.GetFiles(t["by user/data"], "*.parquet").Order(StringComparer.Ordinal), files);
            foreach (var f in files)
                using (var r = SourceFiles.Open(f)) b.AddAll(r);
            b.Complete();
        }
        using var before = GroupedDataset.Open(t["by user"]);
        using var after = GroupedDataset.Open(t["by seq"]);
        Assert.Equal(["__group_key_1", .. before.Columns.Select(c => c.Name)], after.Columns.Select(c => c.Name));
        // The old key's values, not the new key's: each record's user.
        int user = after.ColumnIndex("user"), oldKey = after.ColumnIndex("__group_key_1");
        foreach (var g in after.EnumerateGroups())
            foreach (var r in after.ReadRecords(g))
                Assert.Equal(r[user], r[oldKey]);
        Assert.Empty(DatasetVerifier.Verify(t["by seq"]));
        // Every shard names each column once, as any engine needs.
        var shard = Path.Combine(t["by seq"], after.Manifest.Shards[0].File);
        Assert.Equal(string.Join(",", ["__group_key", "__group_key_1", .. before.Columns.Select(c => c.Name)]),
            DuckSql.Row($"SELECT string_agg(name, ',' ORDER BY rowid) FROM (SELECT name, row_number() OVER () AS rowid FROM parquet_schema('{shard}')) WHERE rowid > 1")[0]);
    }

    [Fact]
    public void Opening_what_is_not_a_dataset_folder_says_what_it_is()
    {
        using var t = new TempDir();
        Build(t["ds"], Rows(10, 2));
        File.WriteAllText(t["a.csv"], "k\n");
        Directory.CreateDirectory(t["plain"]);
        var ex = Assert.Throws<GrouperException>(() => GroupedDataset.Open(t["nothing"]));
        Assert.Equal((GrouperErrorKind.NotFound, $"There is no dataset at {t["nothing"]}."), (ex.Kind, ex.Message));
        ex = Assert.Throws<GrouperException>(() => GroupedDataset.Open(t["plain"]));
        Assert.Equal(GrouperErrorKind.InvalidDataset, ex.Kind);
        Assert.Contains("has no manifest.json", ex.Message);
        ex = Assert.Throws<GrouperException>(() => GroupedDataset.Open(t["a.csv"]));
        Assert.Equal(GrouperErrorKind.InvalidDataset, ex.Kind);
        Assert.Contains("a.csv is a file; a dataset is the folder", ex.Message);
        // Its manifest named instead of its folder: the folder is named back.
        ex = Assert.Throws<GrouperException>(() => GroupedDataset.Open(t["ds/manifest.json"]));
        Assert.EndsWith($"its index and its shards ({t["ds"]}).", ex.Message);
    }

    [Fact]
    public void Empty_strings_and_nulls_stay_apart()
    {
        using var t = new TempDir();
        var rows = new List<object?[]> { new object?[] { "a", "", null }, new object?[] { "a", "x", "" }, new object?[] { "a", "", "y" } };
        Build(t["ds"], rows, columns: [Col("user", ValueKind.String), Col("req", ValueKind.String), Col("opt", ValueKind.String, true)]);
        using var ds = GroupedDataset.Open(t["ds"]);
        Assert.Equal(rows, ds.ReadRecords(ds.FindGroup("a")!).ToList());
    }

    [Fact]
    public void An_empty_input_makes_an_empty_dataset()
    {
        using var t = new TempDir();
        var m = Build(t["ds"], []);
        Assert.Equal(0, m.GroupCount);
        using var ds = GroupedDataset.Open(t["ds"]);
        Assert.Empty(ds.EnumerateGroups());
        Assert.Null(ds.FindGroup("x"));
    }

    [Fact]
    public void A_damaged_dataset_is_reported()
    {
        using var t = new TempDir();
        var m = Build(t["ds"], Rows(100, 3));
        File.AppendAllText(Path.Combine(t["ds"], m.Shards[0].File), "junk");
        var ex = Assert.Throws<GrouperException>(() => GroupedDataset.Open(t["ds"]));
        Assert.Equal(GrouperErrorKind.InvalidDataset, ex.Kind);
        Assert.Contains("shard-00000.parquet", ex.Message);

        var manifest = File.ReadAllText(t["ds/manifest.json"]).Replace("\"formatVersion\": 1", "\"formatVersion\": 99");
        File.WriteAllText(t["ds/manifest.json"], manifest);
        ex = Assert.Throws<GrouperException>(() => GroupedDataset.Open(t["ds"]));
        Assert.Contains("version 99", ex.Message);
    }
}

/// <summary>IProgress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
