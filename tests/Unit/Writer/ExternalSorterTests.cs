using System.Buffers.Binary;
using System.Text;
using Grouper.Writer;
using Xunit;

namespace Grouper.Tests.Writer;

public class ExternalSorterTests
{
    private const int Records = 120_000;

    /// <summary>Sorts the same records with a given fan-in; returns the sorter's runs, what it merged twice, and the order.</summary>
    private static (int Runs, long Remerged, int Blocks) Sort(string dir, int maxFanIn)
    {
        using var sorter = new ExternalSorter(dir, bufferMemory: 2 << 20, mergeMemory: 64 << 20, blockSize: 16 << 10, maxFanIn);
        var rng = new Random(11);
        Span<byte> row = stackalloc byte[60];
        for (int i = 0; i < Records; i++)
        {
            var key = Encoding.ASCII.GetBytes($"k{rng.Next(300):D3}");
            row.Fill((byte)'r');
            BinaryPrimitives.WriteInt32LittleEndian(row, i);
            sorter.Add(key, row);
        }
        int runs = sorter.RunCount;
        using var sorted = sorter.Sorted(CancellationToken.None);
        string previousKey = "";
        int previous = -1, n = 0;
        while (sorted.MoveNext())
        {
            var key = Encoding.ASCII.GetString(sorted.Key);
            int seq = BinaryPrimitives.ReadInt32LittleEndian(sorted.Row);
            int c = string.CompareOrdinal(previousKey, key);
            Assert.True(c < 0 || c == 0 && seq > previous, $"record {n}: {key}/{seq} after {previousKey}/{previous}");
            (previousKey, previous) = (key, seq);
            n++;
        }
        Assert.Equal(Records, n);
        return (runs, sorter.RecordsRemerged, sorter.ReaderBlocksAllocated);
    }

    [Fact]
    public void Runs_beyond_the_fan_in_are_merged_no_more_than_needed_and_keep_their_order()
    {
        using var t = new TempDir();
        var (runs, remerged, _) = Sort(t["all"], maxFanIn: 1000);
        Assert.True(runs >= 10, $"{runs} runs");
        Assert.Equal(0, remerged);

        // Two runs too many (the records still in memory take one input of the final merge): merging three
        // runs first is enough. A full level merged nearly all of them.
        var (runs2, remerged2, _) = Sort(t["few"], maxFanIn: runs - 1);
        Assert.Equal(runs, runs2);
        Assert.InRange(remerged2, 1, 4L * Records / runs);

        // Far more runs than the fan-in: several levels, still in order; each merge's readers take the blocks the
        // merge before gave back, so no more are allocated than three readers hold at once.
        var (runs3, remerged3, blocks) = Sort(t["deep"], maxFanIn: 3);
        Assert.True(remerged3 > Records / 2);
        Assert.True(runs3 >= 10, $"{runs3} runs");
        Assert.InRange(blocks, 2, 2 * 3);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)] // stored blocks, as a small build's runs are
    public void A_run_cut_anywhere_but_between_blocks_reads_as_truncated_and_a_bad_header_as_corrupt(bool compressed)
    {
        // Each block is read with the next one's header in the same call: a file that ends inside a header, inside
        // a block, or inside the header after a block says so, and the records before are read.
        using var t = new TempDir();
        var path = t["run [cut].lz4"];
        const int BlockSize = 4 << 10;
        using (var w = new RunWriter(path, BlockSize, store: !compressed))
        {
            var row = new byte[100];
            for (int i = 0; i < 2000; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(row, i);
                w.Write(Encoding.ASCII.GetBytes($"k{i / 7:D5}"), row);
            }
            w.Finish();
        }
        var whole = File.ReadAllBytes(path);
        int first = RunReader.HeaderSize + (compressed ? BinaryPrimitives.ReadInt32LittleEndian(whole.AsSpan(4)) : BinaryPrimitives.ReadInt32LittleEndian(whole));
        Assert.True(first < whole.Length / 2);

        int Read(byte[] bytes, out Exception? error)
        {
            File.WriteAllBytes(path, bytes);
            int n = 0;
            error = null;
            try
            {
                using var r = new RunReader(path, BlockSize);
                while (r.MoveNext())
                {
                    Assert.Equal(n, BinaryPrimitives.ReadInt32LittleEndian(r.Row));
                    n++;
                }
            }
            catch (InvalidDataException ex) { error = ex; }
            return n;
        }

        Assert.Equal(2000, Read(whole, out var none));
        Assert.Null(none);
        foreach (int cut in new[] { 3, RunReader.HeaderSize + 10, first - 1, first + 3, whole.Length - 1 })
        {
            int n = Read(whole[..cut], out var error);
            Assert.Contains("is truncated", Assert.IsType<InvalidDataException>(error).Message);
            if (cut < first) Assert.Equal(0, n);
            else Assert.True(n > 0, $"cut at {cut}: no record read");
        }
        // Cut between blocks the run ends early (a build counts its records: verified before it commits).
        Assert.InRange(Read(whole[..first], out var early), 1, 1999);
        Assert.Null(early);
        var bad = (byte[])whole.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(bad.AsSpan(first), -5);
        Read(bad, out var corrupt);
        Assert.Contains("is corrupt", Assert.IsType<InvalidDataException>(corrupt).Message);
    }

    [Theory]
    [InlineData(64 << 10)]
    [InlineData(256 << 10)]
    public void An_open_run_takes_the_memory_the_merge_fan_in_is_reckoned_with(int blockSize)
    {
        // The merge opens as many runs as half its memory holds at MemoryPerRun each: what a reader really
        // allocates must be within it (or the merge is over budget) and not far below (or the fan-in is
        // smaller than it could be, and a large build merges some runs twice).
        using var t = new TempDir();
        var path = Path.Combine(t.Path, "run.lz4");
        var rng = new Random(5);
        using (var w = new RunWriter(path, blockSize))
        {
            var row = new byte[200];
            for (int i = 0; i < 20_000; i++)
            {
                rng.NextBytes(row); // incompressible: the compressed block is as large as it gets
                w.Write(Encoding.ASCII.GetBytes($"k{i:D6}"), row);
            }
            w.Finish();
        }
        // Once first: what the first reader of the process initialises (the codec, the file's strategy) is
        // not what every open run takes.
        using (var first = new RunReader(path, blockSize)) while (first.MoveNext()) { }
        // The least of three readers: the runtime allocates on this thread too now and then (a method's tier-up
        // in a Debug build took 6 KB once), which is not the run's.
        long allocated = long.MaxValue;
        for (int pass = 0; pass < 3; pass++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            int n = 0;
            using (var reader = new RunReader(path, blockSize))
                while (reader.MoveNext()) n++;
            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
            Assert.Equal(20_000, n);
        }
        long reckoned = RunReader.MemoryPerRun(blockSize);
        Assert.InRange(allocated, reckoned * 9 / 10, reckoned);
    }

    [Theory]
    [InlineData(true)]   // a thread compresses blocks while the run is written, as the reading thread does while it waits
    [InlineData(false)]  // help announced but none comes: the writer compresses every block itself
    public void A_run_compressed_with_help_is_the_run_written_alone(bool helper)
    {
        using var t = new TempDir();
        const int BlockSize = 4 << 10;
        void Write(string path, RunBlocks blocks)
        {
            using var w = new RunWriter(path, BlockSize, blocks: blocks);
            var rng = new Random(8);
            var row = new byte[300];
            for (int i = 0; i < 20_000; i++)
            {
                rng.NextBytes(row.AsSpan(0, 100)); // part incompressible: blocks of several sizes
                w.Write(Encoding.ASCII.GetBytes($"k{i:D6}"), row.AsSpan(0, 100 + i % 200));
            }
            w.Finish();
        }
        Write(Path.Combine(t.Path, "alone.lz4"), new RunBlocks(BlockSize));

        var shared = new RunBlocks(BlockSize) { Helping = true };
        int helped = 0;
        using var done = new ManualResetEventSlim();
        var help = new Thread(() => { while (!done.IsSet) if (shared.TryCompressOne()) helped++; });
        if (helper) help.Start();
        try { Write(Path.Combine(t.Path, "helped.lz4"), shared); }
        finally
        {
            done.Set();
            if (helper) help.Join();
        }

        Assert.Equal(File.ReadAllBytes(Path.Combine(t.Path, "alone.lz4")), File.ReadAllBytes(Path.Combine(t.Path, "helped.lz4")));
        if (helper) Assert.True(helped > 0, "the helper compressed no block");
        // Every slot is free again for the next run.
        Assert.All(shared.Ring, slot => Assert.Equal(RunBlocks.Slot.Free, slot.State));
    }

    [Fact]
    public void Runs_written_one_after_another_share_their_blocks_and_keep_only_their_own_records()
    {
        // The sorter keeps one set of blocks for all its spills: a run must not carry records a run before
        // it left in the block (one abandoned when its spill failed), and a run must not allocate blocks anew.
        using var t = new TempDir();
        const int BlockSize = 16 << 10;
        var blocks = new RunBlocks(BlockSize);
        var row = new byte[100];
        using (var abandoned = new RunWriter(Path.Combine(t.Path, "failed.lz4"), BlockSize, blocks: blocks))
            for (int i = 0; i < 50; i++) abandoned.Write(Encoding.ASCII.GetBytes($"old{i:D3}"), row); // less than a block: never flushed

        long Write(string path, RunBlocks? given)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            using (var w = new RunWriter(path, BlockSize, blocks: given))
            {
                for (int i = 0; i < 1_000; i++) w.Write(Encoding.ASCII.GetBytes($"new{i:D4}"), row);
                w.Finish();
            }
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        var path = Path.Combine(t.Path, "run.lz4");
        long shared = Write(path, blocks);
        long own = Write(Path.Combine(t.Path, "own.lz4"), null);
        // Its own blocks: a raw and a compressed one, each a little over the block size.
        Assert.True(own - shared >= 2 * BlockSize, $"{shared} bytes allocated with the blocks given, {own} without");

        using var reader = new RunReader(path, BlockSize);
        int n = 0;
        while (reader.MoveNext())
        {
            Assert.Equal($"new{n:D4}", Encoding.ASCII.GetString(reader.Key));
            n++;
        }
        Assert.Equal(1_000, n);
    }

    [Fact]
    public void Two_buffers_sharing_the_radix_scratch_sort_correctly_when_sorted_at_once()
    {
        // The sorter's buffers share one scratch because they are sorted one at a time; if the threads'
        // timing ever makes them sort together, the second must wait, not write over the first's entries.
        var scratch = new SortBuffer.SortScratch();
        var buffers = new[] { new SortBuffer(8 << 20, scratch), new SortBuffer(8 << 20, scratch) };
        var expected = new List<(string Key, int Seq)>[2];
        for (int round = 0; round < 20; round++)
        {
            for (int b = 0; b < 2; b++)
            {
                buffers[b].Clear();
                var rng = new Random(round * 2 + b);
                expected[b] = new();
                for (int i = 0; i < 20_000; i++)
                {
                    // Keys past the 8-byte prefix and of several lengths: every pass of the radix sort moves entries.
                    var key = $"{rng.Next(1_000_000):D7}{(char)('a' + rng.Next(3))}";
                    var row = new byte[4];
                    BinaryPrimitives.WriteInt32LittleEndian(row, i);
                    buffers[b].Add(Encoding.ASCII.GetBytes(key), row);
                    expected[b].Add((key, i));
                }
                expected[b] = expected[b].OrderBy(e => e.Key, StringComparer.Ordinal).ThenBy(e => e.Seq).ToList();
            }
            using var start = new Barrier(2);
            Parallel.For(0, 2, new ParallelOptions { MaxDegreeOfParallelism = 2 }, b => { start.SignalAndWait(); buffers[b].Sort(); });
            for (int b = 0; b < 2; b++)
            {
                using var s = buffers[b].Stream();
                int n = 0;
                while (s.MoveNext())
                {
                    var (key, seq) = expected[b][n++];
                    Assert.Equal(key, Encoding.ASCII.GetString(s.Key));
                    Assert.Equal(seq, BinaryPrimitives.ReadInt32LittleEndian(s.Row));
                }
                Assert.Equal(expected[b].Count, n);
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(900)]
    [InlineData(4_999)]
    public void Keys_sort_fully_when_their_common_prefix_shrinks_after_records_were_added(int shrinkAt)
    {
        // Each record's sort prefix is taken after the bytes all keys added so far share. Keys that share a
        // long prefix come first, then one that shares less: the records added before it sort by their
        // whole keys all the same (and the buffer, reused, starts again from its first key).
        var buffer = new SortBuffer(8 << 20);
        for (int round = 0; round < 2; round++)
        {
            buffer.Clear();
            var rng = new Random(shrinkAt + round);
            var expected = new List<(string Key, int Seq)>();
            for (int i = 0; i < 5_000; i++)
            {
                string key = i < shrinkAt ? $"user_000{rng.Next(100_000):D6}" : $"{(char)('t' + rng.Next(3))}ser_000{rng.Next(100_000):D6}";
                var row = new byte[4];
                BinaryPrimitives.WriteInt32LittleEndian(row, i);
                buffer.Add(Encoding.ASCII.GetBytes(key), row);
                expected.Add((key, i));
            }
            SortsAs(buffer, expected);
        }
    }

    [Fact]
    public void A_buffer_stays_within_half_its_capacity_for_two_fills_and_within_all_of_it_after_with_the_next_chunk_prepared_ahead()
    {
        // The chunk after the current one is allocated (and its pages written) on a pool thread while the
        // buffer fills for the first time; it is counted as soon as it is asked for, so the buffer still says
        // it is full before its chunks and entries pass what it may take, and records sort across all chunks.
        // It may take half its capacity until it was spilled twice (Grow, as the sorter calls it), then all.
        const long Capacity = 8 << 20;
        var buffer = new SortBuffer(Capacity);
        var rng = new Random(3);
        var expected = new List<(string Key, int Seq)>();
        var used = new List<long>();
        for (int round = 0; round < 4; round++)
        {
            buffer.Clear();
            expected.Clear();
            for (int i = 0; ; i++)
            {
                var key = $"k{rng.Next(100_000):D6}";
                var row = new byte[rng.Next(50, 400)];
                BinaryPrimitives.WriteInt32LittleEndian(row, i);
                var k = Encoding.ASCII.GetBytes(key);
                if (buffer.WouldOverflow(k.Length, row.Length)) break;
                buffer.Add(k, row);
                expected.Add((key, i));
                Assert.True(buffer.MemoryUsed <= Capacity, $"record {i}: {buffer.MemoryUsed} bytes used");
                Assert.True(buffer.ChunkBytesAllocated <= buffer.MemoryUsed, $"record {i}: {buffer.ChunkBytesAllocated} bytes of chunks, {buffer.MemoryUsed} counted");
            }
            Assert.True(expected.Count > 10_000);
            SortsAs(buffer, expected);
            used.Add(buffer.MemoryUsed);
            buffer.Grow();
        }
        Assert.All(used.Take(2), u => Assert.InRange(u, Capacity / 2 * 3 / 4, Capacity / 2));
        Assert.All(used.Skip(2), u => Assert.InRange(u, Capacity * 3 / 4, Capacity));
    }

    [Fact]
    public void A_reserve_for_the_source_lowers_full_fills_not_the_half_ones_and_an_emptied_buffer_gives_its_chunks_back()
    {
        // A source holding more than its share of the budget (a Parquet row group of nested columns) takes it from
        // the buffers' capacity: the half-size first fills have room for it already, the full ones are lowered.
        const long Capacity = 8 << 20, Reserve = 3 << 20;
        var buffer = new SortBuffer(Capacity);
        var rng = new Random(5);
        var used = new List<long>();

        int Fill()
        {
            buffer.Fit(); // as the sorter asks before it fills an emptied buffer again
            var expected = new List<(string Key, int Seq)>();
            for (int i = 0; ; i++)
            {
                var k = Encoding.ASCII.GetBytes($"k{rng.Next(100_000):D6}");
                var row = new byte[rng.Next(50, 400)];
                BinaryPrimitives.WriteInt32LittleEndian(row, i);
                if (buffer.WouldOverflow(k.Length, row.Length)) break;
                buffer.Add(k, row);
                expected.Add((Encoding.ASCII.GetString(k), i));
                Assert.True(buffer.MemoryUsed <= buffer.Limit, $"record {i}: {buffer.MemoryUsed} bytes used, limit {buffer.Limit}");
            }
            SortsAs(buffer, expected);
            used.Add(buffer.MemoryUsed);
            buffer.Clear();
            buffer.Grow();
            return expected.Count;
        }

        buffer.Reserve = Reserve;
        Assert.Equal(Capacity / 2, buffer.Limit); // half-size fills: the reserve fits beside them
        Fill();
        Fill();
        Assert.Equal(Capacity - Reserve, buffer.Limit);
        Fill();
        Assert.InRange(used[^1], (Capacity - Reserve) * 3 / 4, Capacity - Reserve);

        // Without the reserve the buffer takes all of its capacity again; with a larger one, an emptied buffer gives
        // back what it no longer may hold before it is filled (it would otherwise be full at its first record).
        buffer.Reserve = 0;
        Fill();
        Assert.InRange(used[^1], Capacity * 3 / 4, Capacity);
        buffer.Reserve = Capacity / 2;
        Assert.True(buffer.ChunkBytesAllocated > buffer.Limit);
        int records = Fill();
        Assert.True(buffer.ChunkBytesAllocated <= buffer.Limit, $"{buffer.ChunkBytesAllocated} bytes of chunks kept, limit {buffer.Limit}");
        Assert.True(records > 5_000, $"{records} records");
        Assert.InRange(used[^1], Capacity / 2 * 3 / 4, Capacity / 2);

        // A reserve beyond the capacity leaves the buffer a quarter of it.
        buffer.Reserve = Capacity * 2;
        Assert.Equal(Capacity / 4, buffer.Limit);
    }

    [Theory]
    [InlineData(1L << 40, false)] // the process far within the merge's share: its garbage is the runtime's to collect
    [InlineData(1L << 20, true)]  // past it (a test host takes tens of MB): collected, the merge then takes its memory
    public void The_sort_buffers_are_collected_before_the_merge_only_when_the_process_takes_more_than_the_merges_share(long mergeMemory, bool collected)
    {
        using var t = new TempDir();
        using var sorter = new ExternalSorter(t["spill"], bufferMemory: 2 << 20, mergeMemory, blockSize: 16 << 10, maxFanIn: 100);
        var key = new byte[8];
        var row = new byte[100];
        const int N = 40_000; // 4 MB of rows through 1 MB buffers: spilled
        for (int i = 0; i < N; i++)
        {
            BinaryPrimitives.WriteInt64BigEndian(key, i % 101);
            BinaryPrimitives.WriteInt32LittleEndian(row, i);
            sorter.Add(key, row);
        }
        Assert.True(sorter.RunCount >= 2, $"{sorter.RunCount} runs");
        int full = GC.CollectionCount(2);
        using var sorted = sorter.Sorted(CancellationToken.None);
        Assert.Equal(collected, sorter.CollectedBeforeMerge);
        if (collected) Assert.True(GC.CollectionCount(2) > full);
        int n = 0;
        while (sorted.MoveNext()) n++;
        Assert.Equal(N, n);
    }

    [Fact]
    public void Nothing_is_collected_before_the_merge_when_both_buffers_stay_for_it()
    {
        // One buffer held, the other holding the last records: no sort buffer was given back, so a collection
        // would only move their chunks, however far past the merge's share the process is.
        using var t = new TempDir();
        using var sorter = new ExternalSorter(t["spill"], bufferMemory: 4 << 20, mergeMemory: 1L << 20, blockSize: 16 << 10, maxFanIn: 100);
        const int N = 60_000;
        int added = 0;
        sorter.ReadFraction = () => (double)added / N;
        var key = new byte[8];
        var row = new byte[40];
        for (int i = 0; i < N; i++)
        {
            BinaryPrimitives.WriteInt64BigEndian(key, i % 97);
            BinaryPrimitives.WriteInt32LittleEndian(row, i);
            sorter.Add(key, row);
            added++;
        }
        Assert.True(sorter.Held, "the last full buffer was not held");
        Assert.True(sorter.RunCount >= 1, $"{sorter.RunCount} runs");
        using var sorted = sorter.Sorted(CancellationToken.None);
        Assert.False(sorter.CollectedBeforeMerge);
        Assert.True(sorter.ResidentBytes > 0);
        int n = 0;
        while (sorted.MoveNext()) n++;
        Assert.Equal(N, n);
    }

    [Fact]
    public void The_sorter_spills_its_first_four_fills_at_half_the_size_of_the_later_ones()
    {
        // Each buffer's first two fills take half its capacity: the records between spills show it.
        using var t = new TempDir();
        using var sorter = new ExternalSorter(t["spill"], bufferMemory: 8 << 20, mergeMemory: 64 << 20, blockSize: 16 << 10, maxFanIn: 100);
        var key = new byte[8];
        var row = new byte[200];
        var fills = new List<int>();
        int since = 0, runs = 0;
        for (int i = 0; runs < 7; i++)
        {
            BinaryPrimitives.WriteInt64BigEndian(key, i % 977);
            BinaryPrimitives.WriteInt32LittleEndian(row, i);
            sorter.Add(key, row);
            since++;
            if (sorter.RunCount != runs)
            {
                runs = sorter.RunCount;
                fills.Add(since - 1); // the record that found the buffer full went into the next one
                since = 1;
            }
        }
        for (int f = 1; f < 4; f++) Assert.InRange(fills[f], fills[0] * 9 / 10, fills[0] * 11 / 10);
        for (int f = 4; f < 7; f++) Assert.InRange(fills[f], fills[0] * 17 / 10, fills[0] * 23 / 10);
        using var sorted = sorter.Sorted(CancellationToken.None);
        int n = 0;
        while (sorted.MoveNext()) n++;
        Assert.Equal(fills.Sum() + since, n);
    }

    /// <summary>Sorts the buffer and checks its records come out as (key ordinal, arrival) orders <paramref name="added"/> (rows hold the arrival number).</summary>
    private static void SortsAs(SortBuffer buffer, List<(string Key, int Seq)> added)
    {
        var expected = added.OrderBy(e => e.Key, StringComparer.Ordinal).ThenBy(e => e.Seq).ToList();
        buffer.Sort();
        using var s = buffer.Stream();
        int n = 0;
        while (s.MoveNext())
        {
            var (key, seq) = expected[n++];
            Assert.Equal(key, Encoding.ASCII.GetString(s.Key));
            Assert.Equal(seq, BinaryPrimitives.ReadInt32LittleEndian(s.Row));
        }
        Assert.Equal(expected.Count, n);
    }

    /// <summary>Sorted records with runs of repeated keys (empty keys, keys that are prefixes of others, runs across blocks).</summary>
    private static List<(byte[] Key, byte[] Row)> RepeatingRecords(int seed, int count)
    {
        var rng = new Random(seed);
        var records = new List<(byte[], byte[])>();
        string[] stems = ["", "a", "ab", "abc", "abd", "b"];
        int k = 0;
        while (records.Count < count)
        {
            // Keys in order: a stem, then a number; the stems come before their longer keys.
            var key = Encoding.ASCII.GetBytes(k < stems.Length ? stems[k] : $"key{k:D6}");
            k++;
            int repeats = rng.Next(4) == 0 ? 1 : rng.Next(1, 60);
            for (int r = 0; r < repeats && records.Count < count; r++)
            {
                var row = new byte[rng.Next(0, 300)];
                rng.NextBytes(row);
                records.Add((key, row));
            }
        }
        return records;
    }

    [Fact]
    public void A_key_repeated_within_a_block_is_marked_and_read_back_whole()
    {
        using var t = new TempDir();
        const int BlockSize = 2 << 10; // small blocks: many runs of a key go on in the next block
        var records = RepeatingRecords(3, 20_000);
        var path = Path.Combine(t.Path, "run.lz4");
        using (var w = new RunWriter(path, BlockSize))
        {
            foreach (var (key, row) in records) w.Write(key, row);
            w.Finish();
        }
        using var reader = new RunReader(path, BlockSize);
        int n = 0, marked = 0, repeated = 0;
        while (reader.MoveNext())
        {
            var (key, row) = records[n];
            Assert.Equal(key, reader.Key.ToArray());
            Assert.Equal(row, reader.Row.ToArray());
            if (n > 0 && key.AsSpan().SequenceEqual(records[n - 1].Key)) repeated++;
            if (reader.KeyRepeats)
            {
                marked++;
                Assert.True(n > 0 && key.AsSpan().SequenceEqual(records[n - 1].Key), $"record {n} marked as repeating its key");
            }
            n++;
        }
        Assert.Equal(records.Count, n);
        // Every repeat is marked but where a block starts (a block is read on its own).
        var file = File.ReadAllBytes(path);
        int blocks = 0;
        for (int at = 0; at < file.Length; at += 8 + BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(at + 4))) blocks++;
        Assert.True(blocks > 100, $"{blocks} blocks");
        Assert.InRange(marked, repeated - blocks, repeated);
    }

    [Fact]
    public void A_block_whose_first_record_repeats_a_key_is_refused_as_corrupt()
    {
        using var t = new TempDir();
        var path = Path.Combine(t.Path, "bad.lz4");
        var raw = new byte[] { 0, 1, 42 }; // no key before it: [0][row length 1][row]
        var compressed = new byte[SpillCodec.MaximumOutputSize(raw.Length)];
        int length = SpillCodec.Preferred.Compress(raw, compressed);
        using (var f = File.Create(path))
        {
            Span<byte> header = stackalloc byte[8];
            BinaryPrimitives.WriteInt32LittleEndian(header, raw.Length);
            BinaryPrimitives.WriteInt32LittleEndian(header[4..], length);
            f.Write(header);
            f.Write(compressed, 0, length);
        }
        using var reader = new RunReader(path, 1 << 10);
        var ex = Assert.Throws<InvalidDataException>(() => reader.MoveNext());
        Assert.Contains("bad.lz4", ex.Message);
    }

    [Fact]
    public void The_merge_keeps_key_and_stream_order_where_runs_repeat_their_keys()
    {
        // A run's repeated key stays at the top of the merge without a comparison: the records must still
        // come out by (key, run), and the merge's own mark must mean the key of the record it gave before.
        using var t = new TempDir();
        const int BlockSize = 4 << 10;
        var runs = new List<List<(byte[] Key, byte[] Row)>>();
        var streams = new List<RecordStream>();
        for (int r = 0; r < 5; r++)
        {
            var records = RepeatingRecords(100 + r, 6_000);
            runs.Add(records);
            var path = Path.Combine(t.Path, $"run{r}.lz4");
            using (var w = new RunWriter(path, BlockSize))
            {
                foreach (var (key, row) in records) w.Write(key, row);
                w.Finish();
            }
            streams.Add(new RunReader(path, BlockSize));
        }
        var expected = runs.SelectMany((records, run) => records.Select((rec, i) => (rec.Key, rec.Row, Run: run, Seq: i)))
            .OrderBy(e => e.Key, Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b)))
            .ThenBy(e => e.Run).ThenBy(e => e.Seq).ToList();
        using var merged = new MergeStream(streams);
        int n = 0, marked = 0;
        while (merged.MoveNext())
        {
            var e = expected[n];
            Assert.Equal(e.Key, merged.Key.ToArray());
            Assert.Equal(e.Row, merged.Row.ToArray());
            if (merged.KeyRepeats)
            {
                marked++;
                Assert.True(n > 0 && e.Key.AsSpan().SequenceEqual(expected[n - 1].Key), $"record {n} marked as repeating its key");
            }
            n++;
        }
        Assert.Equal(expected.Count, n);
        Assert.True(marked > expected.Count / 2, $"{marked} of {expected.Count} marked");
    }

    /// <summary>
    /// The last full buffer is held in memory when the rest of the input fits in the other one (no spill, no
    /// read-back), and spilled after all, first, when more comes than was said; the order is the same either way,
    /// in one stream and in two halves.
    /// </summary>
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)] // the fraction says more than was read: the rest does not fit
    public void The_last_full_buffer_is_held_when_the_rest_fits_and_the_order_is_the_same(bool sayFraction, bool overstate)
    {
        using var t = new TempDir();
        const int N = 60_000;
        var rng = new Random(3);
        var keys = Enumerable.Range(0, N).Select(_ => Encoding.ASCII.GetBytes($"k{rng.Next(500):D3}")).ToArray();
        List<(string, int)> Read(RecordStream s)
        {
            var all = new List<(string, int)>();
            using (s) while (s.MoveNext()) all.Add((Encoding.ASCII.GetString(s.Key), BinaryPrimitives.ReadInt32LittleEndian(s.Row)));
            return all;
        }
        var expected = keys.Select((k, i) => (Encoding.ASCII.GetString(k), i)).OrderBy(r => r.Item1, StringComparer.Ordinal).ThenBy(r => r.i).ToList();
        foreach (bool halves in new[] { false, true })
        {
            using var sorter = new ExternalSorter(t[$"{halves}"], bufferMemory: 4 << 20, mergeMemory: 64 << 20, blockSize: 16 << 10, maxFanIn: 100);
            int added = 0;
            // Read as far as the records added (or much further, overstated: the hold is a mistake then).
            if (sayFraction) sorter.ReadFraction = () => overstate ? Math.Min(0.999, 0.6 + (double)added / N) : (double)added / N;
            var row = new byte[40];
            bool heldOnce = false;
            for (int i = 0; i < N; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(row, i);
                sorter.Add(keys[i], row);
                added++;
                heldOnce |= sorter.Held;
            }
            Assert.Equal(sayFraction, heldOnce);
            Assert.Equal(sayFraction && !overstate, sorter.Held && sorter.HeldThenSpilled == 0);
            if (overstate) Assert.True(sorter.HeldThenSpilled > 0); // spilled after all, first
            Assert.True(sorter.RunCount >= 2, $"{sorter.RunCount} runs");
            List<(string, int)> got;
            if (halves)
            {
                var h = sorter.SortedHalves(0, 1 << 20, CancellationToken.None);
                Assert.NotNull(h);
                got = Read(h!.First);
                got.AddRange(Read(h.Second));
            }
            else got = Read(sorter.Sorted(CancellationToken.None));
            Assert.Equal(expected, got);
        }
    }

    [Fact]
    public void A_build_of_many_runs_holds_no_buffer()
    {
        // Its merge is heavy with the runs' readers already: a held buffer would take the merge's memory.
        using var t = new TempDir();
        using var sorter = new ExternalSorter(t.Path, bufferMemory: 2 << 20, mergeMemory: 64 << 20, blockSize: 16 << 10, maxFanIn: 100);
        const int N = 100_000;
        int added = 0;
        sorter.ReadFraction = () => (double)added / N;
        var row = new byte[40];
        bool held = false;
        for (int i = 0; i < N; i++)
        {
            sorter.Add(Encoding.ASCII.GetBytes($"k{i % 700:D3}"), row);
            added++;
            held |= sorter.Held;
        }
        Assert.True(sorter.RunCount > ExternalSorter.HoldAfterRunsAtMost + 1, $"{sorter.RunCount} runs");
        Assert.False(held);
    }
    [Fact]
    public void A_stored_run_reads_back_as_the_compressed_one_with_its_blocks_as_they_are()
    {
        using var t = new TempDir();
        const int BlockSize = 4 << 10;
        var records = RepeatingRecords(7, 8_000);
        var blocks = new RunBlocks(BlockSize);
        string Write(string name, bool store)
        {
            var path = Path.Combine(t.Path, name);
            using var w = new RunWriter(path, BlockSize, blocks: blocks, store: store);
            foreach (var (key, row) in records) w.Write(key, row);
            w.Finish();
            return path;
        }
        // Stored, compressed, stored again with the same blocks: a slot's stored mark does not outlive its run.
        var stored = Write("stored.lz4", true);
        var compressed = Write("compressed.lz4", false);
        var storedAgain = Write("stored-again.lz4", true);
        List<(string Key, string Row, bool Repeats)> Read(string path)
        {
            var all = new List<(string, string, bool)>();
            using var r = new RunReader(path, BlockSize);
            while (r.MoveNext()) all.Add((Convert.ToHexString(r.Key), Convert.ToHexString(r.Row), r.KeyRepeats));
            return all;
        }
        var expected = Read(compressed);
        Assert.Equal(records.Count, expected.Count);
        Assert.Equal(records.Select(r => Convert.ToHexString(r.Key)), expected.Select(e => e.Key));
        Assert.Equal(expected, Read(stored));
        Assert.Equal(File.ReadAllBytes(stored), File.ReadAllBytes(storedAgain));
        // Every block of the stored run says so and holds its raw bytes; the blocks are the compressed run's.
        List<(int Raw, int Compressed)> Blocks(string path)
        {
            var file = File.ReadAllBytes(path);
            var blocks = new List<(int, int)>();
            for (int at = 0; at < file.Length;)
            {
                int rawLength = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(at));
                int compressedLength = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(at + 4));
                blocks.Add((rawLength, compressedLength));
                at += 8 + (compressedLength == RunWriter.StoredBlock ? rawLength : compressedLength);
                Assert.True(at <= file.Length, "a block runs past the end of its run");
            }
            return blocks;
        }
        var storedBlocks = Blocks(stored);
        var compressedBlocks = Blocks(compressed);
        Assert.True(storedBlocks.Count > 10, $"{storedBlocks.Count} blocks");
        Assert.All(storedBlocks, b => Assert.Equal(RunWriter.StoredBlock, b.Compressed));
        Assert.All(compressedBlocks, b => Assert.True(b.Compressed > 0));
        Assert.Equal(compressedBlocks.Select(b => b.Raw), storedBlocks.Select(b => b.Raw));
        Assert.Equal(new FileInfo(stored).Length, storedBlocks.Sum(b => 8L + b.Raw));
    }

    [Fact]
    public void A_block_header_with_a_negative_length_other_than_stored_is_refused_as_corrupt()
    {
        using var t = new TempDir();
        var path = Path.Combine(t.Path, "bad.lz4");
        using (var f = File.Create(path))
        {
            var bytes = new byte[16];
            BinaryPrimitives.WriteInt32LittleEndian(bytes, 8);
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), -2);
            f.Write(bytes);
        }
        using var reader = new RunReader(path, 1 << 10);
        var ex = Assert.Throws<InvalidDataException>(() => reader.MoveNext());
        Assert.Contains("bad.lz4", ex.Message);
    }

    /// <summary>
    /// Runs are stored as they are only while the input read so far says its records come to no more than
    /// the threshold (not when nothing says how far the input is read); the records come out in the same order
    /// either way, in one stream and in two halves.
    /// </summary>
    [Theory]
    [InlineData(64L << 20, true, true)]
    [InlineData(1L << 20, true, false)]  // the records come to ~2.6 MB: more than the threshold
    [InlineData(0L, true, false)]        // never
    [InlineData(64L << 20, false, false)] // how far the input is read is not known
    public void Runs_are_stored_only_when_the_input_is_expected_to_come_to_at_most_the_threshold(long threshold, bool sayFraction, bool stored)
    {
        using var t = new TempDir();
        const int N = 60_000;
        var rng = new Random(9);
        var keys = Enumerable.Range(0, N).Select(_ => Encoding.ASCII.GetBytes($"k{rng.Next(800):D3}")).ToArray();
        var expected = keys.Select((k, i) => (Encoding.ASCII.GetString(k), i)).OrderBy(r => r.Item1, StringComparer.Ordinal).ThenBy(r => r.i).ToList();
        List<(string, int)> Read(RecordStream s)
        {
            var all = new List<(string, int)>();
            using (s) while (s.MoveNext()) all.Add((Encoding.ASCII.GetString(s.Key), BinaryPrimitives.ReadInt32LittleEndian(s.Row)));
            return all;
        }
        foreach (bool halves in new[] { false, true })
        {
            using var sorter = new ExternalSorter(t[$"{halves}"], bufferMemory: 2 << 20, mergeMemory: 64 << 20, blockSize: 16 << 10, maxFanIn: 100)
            {
                StoreRunsUpTo = threshold,
            };
            int added = 0;
            if (sayFraction) sorter.ReadFraction = sorter.InputFraction = () => (double)added / N;
            var row = new byte[40];
            for (int i = 0; i < N; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(row, i);
                sorter.Add(keys[i], row);
                added++;
            }
            Assert.True(sorter.RunCount >= 3, $"{sorter.RunCount} runs");
            // Every run but a held buffer spilled late is decided alike: all of them or none.
            Assert.Equal(stored ? sorter.RunCount : 0, sorter.StoredRuns);
            // Looked at once the merge has begun: the last spill has ended by then.
            var h = halves ? sorter.SortedHalves(0, 1 << 20, CancellationToken.None) : null;
            var whole = halves ? null : sorter.Sorted(CancellationToken.None);
            var files = Directory.GetFiles(t[$"{halves}"], "run-*.lz4");
            Assert.Equal(sorter.RunCount, files.Length);
            Assert.All(files, f => Assert.Equal(stored, BinaryPrimitives.ReadInt32LittleEndian(File.ReadAllBytes(f).AsSpan(4)) == RunWriter.StoredBlock));
            List<(string, int)> got;
            if (halves)
            {
                Assert.NotNull(h);
                got = Read(h!.First);
                got.AddRange(Read(h.Second));
            }
            else got = Read(whole!);
            Assert.Equal(expected, got);
        }
    }
    /// <summary>
    /// The builder's work for the writing phase (compiling its loops) is asked for once, on the filling thread, as the
    /// first run from the input's second half starts to spill, and runs on another thread once that run is written;
    /// never when how far the input is read is not known. The records come out as without it.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_work_asked_at_the_first_spill_of_the_inputs_second_half_runs_once_after_that_run_is_written(bool sayFraction)
    {
        using var t = new TempDir();
        const int N = 200_000;
        using var sorter = new ExternalSorter(t.Path, bufferMemory: 2 << 20, mergeMemory: 64 << 20, blockSize: 16 << 10, maxFanIn: 100);
        int added = 0, asks = 0, askedOn = -1, ranOn = -1, runsAtAsk = -1;
        double askedAt = -1;
        string? run = null;
        long runLength = -1;
        using var ran = new ManualResetEventSlim();
        if (sayFraction) sorter.InputFraction = () => (double)added / N;
        sorter.SecondHalfSpill = () =>
        {
            asks++;
            askedAt = (double)added / N;
            askedOn = Environment.CurrentManagedThreadId;
            runsAtAsk = sorter.RunCount;
            run = Path.Combine(t.Path, $"run-{runsAtAsk - 1:D6}.lz4");
            return () =>
            {
                ranOn = Environment.CurrentManagedThreadId;
                runLength = new FileInfo(run!).Length;
                ran.Set();
            };
        };
        var rng = new Random(5);
        var row = new byte[40];
        for (int i = 0; i < N; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(row, i);
            sorter.Add(Encoding.ASCII.GetBytes($"k{rng.Next(5000):D4}"), row);
            added++;
        }
        // Written whole by then: the run has the length it keeps.
        Assert.True(!sayFraction || ran.Wait(TimeSpan.FromSeconds(30)));
        if (sayFraction) Assert.Equal(new FileInfo(run!).Length, runLength);
        using (var sorted = sorter.Sorted(CancellationToken.None))
        {
            int n = 0;
            while (sorted.MoveNext()) n++;
            Assert.Equal(N, n);
        }
        Assert.True(sorter.RunCount >= 6, $"{sorter.RunCount} runs");
        if (!sayFraction)
        {
            Assert.Equal(0, asks);
            return;
        }
        Assert.Equal(1, asks);
        Assert.InRange(askedAt, 0.5, 0.75);
        Assert.True(runsAtAsk > 1, $"asked at run {runsAtAsk}");
        Assert.Equal(Environment.CurrentManagedThreadId, askedOn);
        Assert.NotEqual(askedOn, ranOn);
        Assert.True(runLength > 16 << 10, $"{runLength} bytes");
    }
}
