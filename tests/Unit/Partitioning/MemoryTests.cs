using System.Diagnostics;
using DuckDB.NET.Data;
using Grouper.Keys;
using Grouper.Partitioning;
using Grouper.Sources;
using Grouper.Schema;
using Grouper.Writer;
using Xunit;
using static Grouper.Tests.TestRecords;

namespace Grouper.Tests.Partitioning;

[CollectionDefinition(nameof(MemoryCollection), DisableParallelization = true)]
public sealed class MemoryCollection { }

/// <summary>
/// A scheme on input several times the budget keeps the process's memory flat: four times the input
/// does not raise the peak working set. Runs alone (no other test allocates meanwhile).
/// </summary>
[Collection(nameof(MemoryCollection))]
public class MemoryTests
{
    private static IEnumerable<object?[]> Rows(long count)
    {
        var text = new string('t', 120);
        for (long i = 0; i < count; i++) yield return [i, $"label{i % 10}", text];
    }

    private static long PeakDuringBuild(string dest, long records, long budget)
    {
        long peak = 0;
        using var stop = new CancellationTokenSource();
        using var sampling = new ManualResetEventSlim();
        // A thread of its own, sampling before the build starts: a pool task was once not run at all while the build
        // kept both cores busy (a peak of 0 MB).
        var sampler = new Thread(() =>
        {
            var p = Process.GetCurrentProcess();
            while (true)
            {
                p.Refresh();
                peak = Math.Max(peak, p.WorkingSet64);
                sampling.Set();
                if (stop.IsCancellationRequested) return;
                Thread.Sleep(10);
            }
        }) { IsBackground = true };
        sampler.Start();
        sampling.Wait();
        var options = new BuildOptions { Key = new DirichletScheme(50, "label", 0.3, seed: 1), MemoryLimit = budget, ShardTargetBytes = 64L << 20 };
        using (var b = new GroupedDatasetBuilder(dest, options))
        {
            using (var r = new TestRecords("gen", [Col("id", ValueKind.Int64), Col("label", ValueKind.String), Col("text", ValueKind.String)], Rows(records))) b.AddAll(r);
            b.Complete();
        }
        stop.Cancel();
        sampler.Join();
        return peak;
    }

    [Fact]
    public void Memory_does_not_grow_with_input_size()
    {
        using var t = new TempDir();
        const long budget = 16L << 20;
        // ~150 encoded bytes a record: 300k ≈ 45 MB (3x the budget), 1.2M ≈ 180 MB (11x).
        PeakDuringBuild(t["warm"], 50_000, budget); // JIT and pools first, so they do not count as growth
        long small = PeakDuringBuild(t["small"], 300_000, budget);
        long large = PeakDuringBuild(t["large"], 1_200_000, budget);
        Assert.True(large <= small * 1.25 + (16L << 20), $"peak working set {small >> 20} MB for 3x the budget, {large >> 20} MB for 11x");
    }

    [Fact]
    public async Task A_parquet_input_with_large_row_groups_keeps_the_heap_near_the_budget()
    {
        // DuckDB writes row groups of 122,880 rows: each decodes to ~50 MB of characters that are garbage
        // once read. The heap, garbage included, must stay near the budget, not grow with the input.
        using var t = new TempDir();
        var path = t["big-groups.parquet"];
        using (var db = new DuckDBConnection("Data Source=:memory:"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"""
                COPY (SELECT 'u' || (i % 1000) AS user_id, repeat(chr(97 + (i % 26)::INT), 200) || i::VARCHAR AS text
                      FROM range(1200000) r(i))
                TO '{path}' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 122880)
                """;
            cmd.ExecuteNonQuery();
        }
        const long budget = 64L << 20;
        long baseline = GC.GetTotalMemory(forceFullCollection: true); // what earlier tests left alive
        long peak = 0;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, GC.GetTotalMemory(false));
                Thread.Sleep(2);
            }
        });
        using (var b = new GroupedDatasetBuilder(t["ds"], new BuildOptions { Key = KeySpec.FromColumns("user_id"), MemoryLimit = budget }))
        {
            using (var r = SourceFiles.Open(path)) b.AddAll(r);
            stop.Cancel();
            await sampler;
            b.Complete();
        }
        // Twice the budget (sort buffers, what piles up between two checks) and two row groups of ~55 MB (one
        // being decoded while the last is still referenced): ~240 MB. Left to itself the runtime let this
        // input's garbage reach 300 MB, and a 1 GB input 900 MB.
        peak -= baseline;
        Assert.True(peak < budget * 2 + 2 * (55L << 20), $"the heap grew by {peak >> 20} MB with a {budget >> 20} MB budget");
    }
}
