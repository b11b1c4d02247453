using Grouper.Format;
using Grouper.Keys;
using Grouper.Schema;
using Grouper.Writer;
using Xunit;
using static Grouper.Tests.TestRecords;

namespace Grouper.Tests.Reliability;

public class VerifierTests
{
    private static string Build(TempDir t, string name = "ds")
    {
        var rows = Enumerable.Range(0, 20_000).Select(i => new object?[] { $"k{i % 300:D3}", (long)i }).ToList();
        using var b = new GroupedDatasetBuilder(t[name], new BuildOptions { Key = KeySpec.FromColumns("k"), RowGroupMaxRows = 3000, ShardTargetBytes = 64 << 10 });
        using (var r = new TestRecords("in", [Col("k", ValueKind.String), Col("n", ValueKind.Int64)], rows)) b.AddAll(r);
        b.Complete();
        return t[name];
    }

    [Fact]
    public void A_sound_dataset_has_no_problems()
    {
        using var t = new TempDir();
        var ds = Build(t);
        Assert.Empty(DatasetVerifier.Verify(ds));
        Assert.Empty(DatasetVerifier.Verify(ds, quick: true));
        Assert.Empty(DatasetVerifier.Verify(ds, quick: false, keysWithParquetNetOnly: true));
    }

    [Fact]
    public void A_check_tells_how_far_each_step_is()
    {
        using var t = new TempDir();
        var ds = Build(t);
        int shards = DatasetManifest.Parse(File.ReadAllBytes(Path.Combine(ds, "manifest.json")), ds).Shards.Count;
        Assert.True(shards > 1);
        var reports = new List<VerifyProgress>();
        Assert.Empty(DatasetVerifier.Verify(ds, progress: new Collect(reports)).ToList());
        Assert.Equal(["checksum", "index", "statistics"], reports.Select(r => r.Check).Distinct());
        foreach (var (check, total) in new[] { ("checksum", shards + 1), ("index", shards), ("statistics", shards) })
            Assert.Equal(Enumerable.Range(0, total + 1), reports.Where(r => r.Check == check).Select(r => { Assert.Equal(total, r.Total); return r.Done; }));
        reports.Clear();
        Assert.Empty(DatasetVerifier.Verify(ds, quick: true, progress: new Collect(reports)).ToList());
        Assert.Equal(Enumerable.Range(0, shards + 2), reports.Select(r => { Assert.Equal("checksum", r.Check); return r.Done; }));
    }

    private sealed class Collect(List<VerifyProgress> into) : IProgress<VerifyProgress>
    {
        public void Report(VerifyProgress value) => into.Add(value);
    }

    /// <summary>Shards written before 2026-11-30 kept Parquet.Net's min/max of micro- and nanosecond timestamps, in milliseconds: named, per shard and column.</summary>
    [Fact]
    public void Timestamp_statistics_engines_misread_are_named()
    {
        using var t = new TempDir();
        var start = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var rows = Enumerable.Range(0, 5000).Select(i => new object?[] { $"k{i % 50:D2}", start.AddSeconds(i), start.AddSeconds(i), start.AddSeconds(i) }).ToList();
        ColumnSpec[] columns = [Col("k", ValueKind.String), Col("us", ValueKind.Timestamp), Col("ms", ValueKind.Timestamp) with { Unit = TimeUnit.Millis },
            Col("ns", ValueKind.Timestamp) with { Unit = TimeUnit.Nanos }];
        foreach (var old in new[] { false, true })
        {
            var ds = t[old ? "old" : "new"];
            using (var b = new GroupedDatasetBuilder(ds, new BuildOptions
            {
                Key = KeySpec.FromColumns("k"), RowGroupMaxRows = 1000, ShardTargetBytes = 32 << 10, AsShardsBeforeTimestampFix = old,
                EncodeWithParquetNetOnly = old, // as shards were written then (now Grouper writes timestamps, with right bounds)
            }))
            {
                using (var r = new TestRecords("in", columns, rows)) b.AddAll(r);
                b.Complete();
            }
            var problems = DatasetVerifier.Verify(ds).ToList();
            if (!old) { Assert.Empty(problems); continue; }
            var shards = DatasetManifest.Parse(File.ReadAllBytes(Path.Combine(ds, "manifest.json")), ds).Shards;
            Assert.True(shards.Count > 1);
            Assert.All(problems, p => Assert.Equal("statistics", p.Check));
            // The micro- and nanosecond columns of every shard; the millisecond one is right.
            Assert.Equal(shards.SelectMany(s => new[] { (s.File, "'ns'"), (s.File, "'us'") }).Order(),
                problems.Select(p => (p.Target, p.Message.Split(' ')[1])).Order());
        }

        // Another writer's file, imported as it is: its statistics are its own, and right.
        DuckSql.Run($"COPY (SELECT 'k' || (i % 5) AS k, TIMESTAMPTZ '2024-01-01 00:00:00+00' + INTERVAL (i) SECOND AS ts FROM range(3000) r(i) ORDER BY k) TO '{t["duck.parquet"]}' (FORMAT parquet)");
        DatasetImporter.Import(t["duck.parquet"], KeySpec.FromColumns("k"), t["imported"]);
        Assert.Equal("timestamp", DatasetManifest.Parse(File.ReadAllBytes(t["imported/manifest.json"]), t["imported"]).Schema.Single(c => c.Name == "ts").Type);
        Assert.Empty(DatasetVerifier.Verify(t["imported"]));
    }

    [Fact]
    public void Damage_is_found_and_named()
    {
        using var t = new TempDir();
        var ds = Build(t);
        var m = DatasetManifest.Parse(File.ReadAllBytes(Path.Combine(ds, "manifest.json")), ds);
        var shard = Path.Combine(ds, m.Shards[1].File);

        // One flipped byte: same size (quick check passes), wrong checksum.
        var bytes = File.ReadAllBytes(shard);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(shard, bytes);
        Assert.Empty(DatasetVerifier.Verify(ds, quick: true));
        var p = Assert.Single(DatasetVerifier.Verify(ds));
        Assert.Equal(("checksum", m.Shards[1].File), (p.Check, p.Target));

        // A missing shard.
        File.Delete(shard);
        p = Assert.Single(DatasetVerifier.Verify(ds, quick: true));
        Assert.Equal(("file", m.Shards[1].File), (p.Check, p.Target));
        Assert.Contains("missing", p.Message);

        // No manifest.
        File.Delete(Path.Combine(ds, "manifest.json"));
        Assert.Equal("manifest", Assert.Single(DatasetVerifier.Verify(ds)).Check);
    }

    /// <summary>What opening the dataset refuses, every reader refuses: a quick check, of presence and sizes, reports it too.</summary>
    [Fact]
    public void A_quick_check_reports_what_opening_the_dataset_refuses()
    {
        using var t = new TempDir();
        var ds = Build(t);
        var manifestPath = Path.Combine(ds, "manifest.json");
        var sound = File.ReadAllText(manifestPath);
        var json = System.Text.Json.Nodes.JsonNode.Parse(sound)!;
        json["groupCount"] = 5;
        File.WriteAllText(manifestPath, json.ToJsonString());
        var opening = Assert.Throws<GrouperException>(() => Reading.GroupedDataset.Open(ds));
        foreach (var quick in new[] { true, false })
        {
            var p = Assert.Single(DatasetVerifier.Verify(ds, quick));
            Assert.Equal(("index", "index.gidx", opening.Message), (p.Check, p.Target, p.Message));
            Assert.Contains("the index has 300 groups, the manifest 5", p.Message);
        }

        // The index's first byte flipped: its size is right, its header is not.
        File.WriteAllText(manifestPath, sound);
        var indexPath = Path.Combine(ds, "index.gidx");
        var bytes = File.ReadAllBytes(indexPath);
        bytes[0] ^= 0xFF;
        File.WriteAllBytes(indexPath, bytes);
        var quickProblem = Assert.Single(DatasetVerifier.Verify(ds, quick: true));
        Assert.Equal(("index", "index.gidx"), (quickProblem.Check, quickProblem.Target));
        Assert.Contains("its header is wrong", quickProblem.Message);
        // The full check stops at the checksum, which the flipped byte changed.
        Assert.Equal("checksum", Assert.Single(DatasetVerifier.Verify(ds)).Check);
    }

    /// <summary>Two keys swapped in the index's stored entries (its checksum made right): the key order is named, as stored.</summary>
    [Fact]
    public void An_index_out_of_key_order_is_named()
    {
        using var t = new TempDir();
        var ds = Build(t);
        var indexPath = Path.Combine(ds, "index.gidx");
        var bytes = File.ReadAllBytes(indexPath);
        int Only(string key)
        {
            var k = System.Text.Encoding.ASCII.GetBytes(key);
            int at = bytes.AsSpan().IndexOf(k);
            Assert.True(at > 0 && bytes.AsSpan(at + 1).IndexOf(k) < 0, key);
            return at;
        }
        int a = Only("k005"), b = Only("k006");
        bytes[a + 3] = (byte)'6';
        bytes[b + 3] = (byte)'5';
        File.WriteAllBytes(indexPath, bytes);
        var manifestPath = Path.Combine(ds, "manifest.json");
        var m = DatasetManifest.Parse(File.ReadAllBytes(manifestPath), ds);
        File.WriteAllText(manifestPath, File.ReadAllText(manifestPath)
            .Replace($"\"xxh3\": \"{m.Index.Xxh3}\"", $"\"xxh3\": \"{Util.FileChecksum.Compute(indexPath)}\""));
        var problems = DatasetVerifier.Verify(ds).ToList();
        var order = Assert.Single(problems, p => p.Message.Contains("out of key order"));
        Assert.Equal(("index", "k005"), (order.Check, order.Target));
        Assert.Equal("The index is out of key order: 'k005' follows 'k006'.", order.Message);
        // The shards' rows then disagree with the index where the swapped groups lie.
        Assert.Contains(problems, p => p.Check == "group");
    }

    /// <summary>Keys read by Grouper's page reader and (the way for chunks it does not decode) by Parquet.Net.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_index_that_disagrees_with_the_shards_is_found(bool keysWithParquetNetOnly)
    {
        using var t = new TempDir();
        var ds = Build(t);
        var manifestPath = Path.Combine(ds, "manifest.json");
        var m = DatasetManifest.Parse(File.ReadAllBytes(manifestPath), ds);
        List<GroupInfo> groups;
        using (var d = Reading.GroupedDataset.Open(ds)) groups = d.EnumerateGroups().ToList();
        // Move the boundary between the first two groups by one row; counts still add up, and the
        // manifest gets the new index's size and checksum, so only the shards can tell.
        var indexPath = Path.Combine(ds, "index.gidx");
        File.Delete(indexPath);
        using (var w = new GroupIndexWriter(indexPath))
        {
            for (int i = 0; i < groups.Count; i++)
            {
                var g = groups[i];
                long count = i == 0 ? g.RecordCount + 1 : i == 1 ? g.RecordCount - 1 : g.RecordCount;
                long row = i == 1 ? g.RowOffset + 1 : g.RowOffset;
                w.Add(System.Text.Encoding.UTF8.GetBytes(g.Key), g.Shard, row, count, g.ByteCount);
            }
            w.Finish();
        }
        var json = File.ReadAllText(manifestPath)
            .Replace($"\"xxh3\": \"{m.Index.Xxh3}\"", $"\"xxh3\": \"{Util.FileChecksum.Compute(indexPath)}\"");
        File.WriteAllText(manifestPath, json);
        Assert.Empty(DatasetVerifier.Verify(ds, quick: true));
        var p = Assert.Single(DatasetVerifier.Verify(ds, quick: false, keysWithParquetNetOnly));
        Assert.Equal("group", p.Check);
        Assert.Equal(groups[0].Key, p.Target);
        Assert.Contains($"has key '{groups[1].Key}'", p.Message);
    }

    /// <summary>
    /// Every chunk's statistics hold its values, for every kind with bounds (unsigned integers, decimals of each
    /// width and sign, NaN among doubles); a bound its values pass is named with the row group and the value.
    /// Snappy shards (Grouper's encoders) and Zstd and Gzip shards (Parquet.Net's, their pages decompressed for the check).
    /// </summary>
    [Theory]
    [InlineData(ShardCompression.Snappy)]
    [InlineData(ShardCompression.Zstd)]
    [InlineData(ShardCompression.Gzip)]
    public void Statistics_that_do_not_hold_their_values_are_named(ShardCompression compression)
    {
        using var t = new TempDir();
        const long Marker = 0x0102030405060708; // the largest n, its bytes found in the footer below
        var rows = Enumerable.Range(0, 6000).Select(i => new object?[]
        {
            $"k{i % 40:D2}", i == 4321 ? Marker : (long)i - 3000, i % 97 == 0 ? double.NaN : i % 2 == 0 ? -0.0 : i * 0.25,
            i % 3 == 0 ? uint.MaxValue : (uint)i, (i - 3000) * 1.25m, (i - 3000) * 1_000_000_000_000_000.01m,
            new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddTicks(i * 17L),
        }).ToList();
        ColumnSpec[] columns = [Col("k", ValueKind.String), Col("n", ValueKind.Int64), Col("x", ValueKind.Double), Col("u", ValueKind.UInt32),
            Col("d", ValueKind.Decimal) with { Precision = 10, Scale = 2 }, Col("big", ValueKind.Decimal) with { Precision = 30, Scale = 2 },
            Col("ts", ValueKind.Timestamp) with { Unit = TimeUnit.Nanos }];
        var ds = t["ds"];
        using (var b = new GroupedDatasetBuilder(ds, new BuildOptions { Key = KeySpec.FromColumns("k"), RowGroupMaxRows = 500, ShardTargetBytes = 64 << 10, Compression = compression }))
        {
            using (var r = new TestRecords("in", columns, rows)) b.AddAll(r);
            b.Complete();
        }
        Assert.Empty(DatasetVerifier.Verify(ds));

        // The marker's chunk says its maximum is 5: the last place of its bytes is the footer's statistics.
        var manifestPath = Path.Combine(ds, "manifest.json");
        var m = DatasetManifest.Parse(File.ReadAllBytes(manifestPath), ds);
        var marker = BitConverter.GetBytes(Marker);
        var shard = m.Shards.Single(s => File.ReadAllBytes(Path.Combine(ds, s.File)).AsSpan().IndexOf(marker) >= 0);
        var path = Path.Combine(ds, shard.File);
        var bytes = File.ReadAllBytes(path);
        BitConverter.GetBytes(5L).CopyTo(bytes, bytes.AsSpan().LastIndexOf(marker));
        File.WriteAllBytes(path, bytes);
        File.WriteAllText(manifestPath, File.ReadAllText(manifestPath).Replace($"\"xxh3\": \"{shard.Xxh3}\"", $"\"xxh3\": \"{Util.FileChecksum.Compute(path)}\""));
        var p = Assert.Single(DatasetVerifier.Verify(ds));
        Assert.Equal(("statistics", shard.File), (p.Check, p.Target));
        // The first of the chunk's values above 5 (by position: the marker or one before it).
        Assert.Matches(@"^Column 'n' of row group \d+ holds -?\d+, outside its statistics \(minimum -?\d+, maximum 5\): engines that filter by them skip matching rows", p.Message);
    }
    /// <summary>A Zstd or Gzip page that does not decompress to its header's size, or an uncompressed page whose two sizes differ, is named, not skipped.</summary>
    [Theory]
    [InlineData(ShardCompression.Zstd)]
    [InlineData(ShardCompression.Gzip)]
    [InlineData(ShardCompression.None)]
    public void A_damaged_page_is_named_by_the_statistics_check(ShardCompression compression)
    {
        using var t = new TempDir();
        var rows = Enumerable.Range(0, 4000).Select(i => new object?[] { $"k{i % 20:D2}", (long)i * 7919 % 100_003 }).ToList();
        ColumnSpec[] columns = [Col("k", ValueKind.String), Col("n", ValueKind.Int64)];
        var ds = t["ds"];
        using (var b = new GroupedDatasetBuilder(ds, new BuildOptions { Key = KeySpec.FromColumns("k"), RowGroupMaxRows = 1000, Compression = compression }))
        {
            using (var r = new TestRecords("in", columns, rows)) b.AddAll(r);
            b.Complete();
        }
        Assert.Empty(DatasetVerifier.Verify(ds));
        // Column n's first data page told half its compressed length (the chunk's bytes stay where they are).
        var shard = ShortenFirstPage(ds, "n", size => size / 2);
        var p = Assert.Single(DatasetVerifier.Verify(ds));
        Assert.Equal(("statistics", shard.File), (p.Check, p.Target));
        Assert.Matches(compression == ShardCompression.None
            ? @"^Column 'n' of row group 0 cannot be read to check its statistics: .* is damaged: an uncompressed page has the wrong size"
            : @"^Column 'n' of row group 0 cannot be read to check its statistics: .* is damaged: a page (does not decompress|decompresses to the wrong size)", p.Message);
    }

    [Theory]
    [InlineData(8)] // the trailer, the CRC-32 and the length
    [InlineData(3)] // part of the length
    public void A_Gzip_page_cut_in_its_trailer_alone_is_named(int cut)
    {
        using var t = new TempDir();
        var rows = Enumerable.Range(0, 4000).Select(i => new object?[] { $"k{i % 20:D2}", (long)i * 7919 % 100_003 }).ToList();
        ColumnSpec[] columns = [Col("k", ValueKind.String), Col("n", ValueKind.Int64)];
        var ds = t["ds"];
        using (var b = new GroupedDatasetBuilder(ds, new BuildOptions { Key = KeySpec.FromColumns("k"), RowGroupMaxRows = 1000, Compression = ShardCompression.Gzip }))
        {
            using (var r = new TestRecords("in", columns, rows)) b.AddAll(r);
            b.Complete();
        }
        Assert.Empty(DatasetVerifier.Verify(ds));
        // The page's values decompress whole without the member's trailer: .NET's GZipStream ends at the end of
        // the data, and checks a trailer only when there is one.
        var shard = ShortenFirstPage(ds, "n", size => size - cut);
        var p = Assert.Single(DatasetVerifier.Verify(ds));
        Assert.Equal(("statistics", shard.File), (p.Check, p.Target));
        Assert.Matches(@"^Column 'n' of row group 0 cannot be read to check its statistics: .* is damaged: a page decompresses to the wrong size", p.Message);
    }

    [Fact]
    public void A_Gzip_page_must_end_with_its_last_members_trailer()
    {
        static byte[] Member(byte[] content)
        {
            var ms = new MemoryStream();
            using (var gz = new System.IO.Compression.GZipStream(ms, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true)) gz.Write(content);
            return ms.ToArray();
        }
        var first = System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 500).Select(i => $"value {i};")));
        var second = System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 300).Select(i => $"other {i * 7};")));
        byte[] content = [.. first, .. second];
        byte[] one = Member(content), two = [.. Member(first), .. Member(second)];
        Assert.True(PlainTextChunk.GzipTrailerHolds(one, content));
        // Several members, as a writer may make a page: the last one's trailer covers the end of the content.
        Assert.True(PlainTextChunk.GzipTrailerHolds(two, content));
        foreach (var page in new[] { one, two })
            for (int cut = 1; cut <= 8; cut++)
                Assert.False(PlainTextChunk.GzipTrailerHolds(page.AsSpan(0, page.Length - cut), content));
        // A trailer whose length is more than the page holds.
        Assert.False(PlainTextChunk.GzipTrailerHolds(Member([.. content, 1, 2, 3]), content));
    }

    /// <summary>
    /// Rewrites the compressed length in the header of <paramref name="column"/>'s first data page in the first
    /// shard, in as many bytes as it took (nothing after it moves), and the shard's checksum in the manifest.
    /// </summary>
    private static ShardInfo ShortenFirstPage(string ds, string column, Func<long, long> newSize)
    {
        var manifestPath = Path.Combine(ds, "manifest.json");
        var m = DatasetManifest.Parse(File.ReadAllBytes(manifestPath), ds);
        var shard = m.Shards[0];
        var path = Path.Combine(ds, shard.File);
        long pageAt;
        using (var fs = File.OpenRead(path))
            pageAt = ParquetFooter.ReadLayout(fs).RowGroups[0].Columns.Single(c => c.MetaData!.PathInSchema[0] == column).MetaData!.DataPageOffset;
        var bytes = File.ReadAllBytes(path);
        // PageHeader (Thrift compact): field 1 type, field 2 uncompressed size, field 3 compressed size, each an
        // i32 (header byte 0x15) and a zigzag varint.
        int at = (int)pageAt;
        for (int field = 1; field <= 2; field++)
        {
            Assert.Equal(0x15, bytes[at++]);
            while ((bytes[at++] & 0x80) != 0) { }
        }
        Assert.Equal(0x15, bytes[at++]);
        int start = at, shift = 0;
        long zigzag = 0;
        do { zigzag |= (long)(bytes[at] & 0x7F) << shift; shift += 7; } while ((bytes[at++] & 0x80) != 0);
        long shorter = newSize(zigzag >> 1) << 1;
        for (int i = start; i < at; i++, shorter >>= 7) bytes[i] = (byte)((int)(shorter & 0x7F) | (i < at - 1 ? 0x80 : 0));
        Assert.Equal(0, shorter);
        File.WriteAllBytes(path, bytes);
        File.WriteAllText(manifestPath, File.ReadAllText(manifestPath).Replace($"\"xxh3\": \"{shard.Xxh3}\"", $"\"xxh3\": \"{Util.FileChecksum.Compute(path)}\""));
        return shard;
    }
}
