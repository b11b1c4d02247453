using System.Buffers.Binary;
using System.Text;
using Grouper.Writer;
using Xunit;

namespace Grouper.Tests.Writer;

public class ExternalSorterTests
{
    private const int Records = 120_000;

    /// <summary>Sorts the same records with a given fan-in; returns the sorter's runs, what it merged twice, and the order.</summary>
    private static (int Runs, long Remerged) Sort(string dir, int maxFanIn)
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
        return (runs, sorter.RecordsRemerged);
    }

    [Fact]
    public void Runs_beyond_the_fan_in_are_merged_no_more_than_needed_and_keep_their_order()
    {
        using var t = new TempDir();
        var (runs, remerged) = Sort(t["all"], maxFanIn: 1000);
        Assert.True(runs >= 10, $"{runs} runs");
        Assert.Equal(0, remerged);

        // Two runs too many (the records still in memory take one input of the final merge): merging three
        // runs first is enough. A full level merged nearly all of them.
        var (runs2, remerged2) = Sort(t["few"], maxFanIn: runs - 1);
        Assert.Equal(runs, runs2);
        Assert.InRange(remerged2, 1, 4L * Records / runs);

        // Far more runs than the fan-in: several levels, still in order.
        var (_, remerged3) = Sort(t["deep"], maxFanIn: 3);
        Assert.True(remerged3 > Records / 2);
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
        long before = GC.GetAllocatedBytesForCurrentThread();
        using var reader = new RunReader(path, blockSize);
        int n = 0;
        while (reader.MoveNext()) n++;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(20_000, n);
        long reckoned = RunReader.MemoryPerRun(blockSize);
        Assert.InRange(allocated, reckoned * 9 / 10, reckoned);
    }
}
