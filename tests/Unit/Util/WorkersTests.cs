using Grouper.Util;
using Xunit;

namespace Grouper.Tests;

/// <summary>Grouper's background threads: results, failures and cancellations reach the task; items beyond the threads wait their turn.</summary>
public class WorkersTests
{
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static (Task Done, WeakReference Held) RunHolding()
    {
        var held = new byte[1 << 20];
        return (Workers.Run(() => GC.KeepAlive(held)), new WeakReference(held));
    }

    [Fact]
    public async Task What_an_item_holds_is_garbage_once_it_ran()
    {
        // A worker waiting for its next item kept the last one in its frame, and with it what the item held: a
        // Parquet source's row groups, read ahead, through a build's writing phase and after it.
        for (int round = 0; round < 3; round++)
        {
            var (done, held) = RunHolding();
            await done;
            await Task.Delay(50); // the worker back at its wait
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            Assert.False(held.IsAlive, $"round {round}: what the item held is still reachable");
        }
    }

    [Fact]
    public async Task Results_failures_and_cancellations_reach_the_task()
    {
        Assert.Equal(42, await Workers.Run(() => 6 * 7));
        int ran = 0;
        await Workers.Run(() => { Interlocked.Increment(ref ran); });
        Assert.Equal(1, ran);

        var failed = Workers.Run(() => throw new InvalidDataException("damaged"));
        Assert.Equal("damaged", (await Assert.ThrowsAsync<InvalidDataException>(() => failed)).Message);
        Assert.True(failed.IsFaulted);

        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var cancelled = Workers.Run<int>(() => { cts.Token.ThrowIfCancellationRequested(); return 1; });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.True(cancelled.IsCanceled);
    }

    [Fact]
    public async Task More_items_than_threads_all_run_and_the_threads_stay_bounded()
    {
        // Items that hold their thread until all have started would never finish beyond MaxThreads; these
        // only overlap, so every one runs, some of them queued.
        int running = 0, most = 0, done = 0;
        var tasks = Enumerable.Range(0, 4 * Workers.MaxThreads).Select(i => Workers.Run(() =>
        {
            int now = Interlocked.Increment(ref running);
            int seen;
            while ((seen = Volatile.Read(ref most)) < now && Interlocked.CompareExchange(ref most, now, seen) != seen) { }
            Thread.Sleep(2);
            Interlocked.Decrement(ref running);
            Interlocked.Increment(ref done);
        })).ToArray();
        await Task.WhenAll(tasks);
        Assert.Equal(4 * Workers.MaxThreads, done);
        Assert.InRange(most, 1, Workers.MaxThreads);
        Assert.InRange(Workers.Threads, 1, Workers.MaxThreads);
    }

    [Fact]
    public async Task An_item_runs_outside_any_task_scheduler_of_its_caller()
    {
        // What an item calls (Parquet.Net's async code, waited on) must not be sent back to the caller's scheduler.
        var scheduler = await Task.Factory.StartNew(() => Workers.Run(() => TaskScheduler.Current),
            CancellationToken.None, TaskCreationOptions.None, new ConcurrentExclusiveSchedulerPair().ExclusiveScheduler).Unwrap();
        Assert.Same(TaskScheduler.Default, scheduler);
    }
}
