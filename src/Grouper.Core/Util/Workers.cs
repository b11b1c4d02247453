using System.Runtime.CompilerServices;
namespace Grouper.Util;

/// <summary>
/// Grouper's background threads: the work a build hands to another core (a spill, the next row group
/// read ahead, a row group's encoding, a sort chunk's pages written first) runs on these rather than on the
/// runtime's thread pool. A pool thread that finishes an item spins for the next one before it sleeps, and
/// with an item every few milliseconds (a build of 100 MB encodes ~140 row groups) those spins took a
/// core's slices from the threads doing the work: 13,000-17,000 involuntary context switches in a build of
/// the 11 MB typed Parquet file and 5-9% more processor time, against ~400 with the pool's spinning turned
/// off (<c>DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0</c>, which a module cannot set for pwsh). These
/// threads sleep as soon as there is nothing to do. A thread is started when an item finds none idle, up to
/// <see cref="MaxThreads"/>; they live for the process, as background threads. A scan's read-ahead stays on
/// the pool (GroupedDataset.StartLoad): there the pool's spinning thread takes the next item at once, where a
/// worker asleep must be woken.
/// </summary>
/// <remarks>
/// An item must not wait for another item (it could be queued behind it once every thread is busy); none of
/// Grouper's does. Items run outside any task, so what they call sees the default task scheduler.
/// </remarks>
internal static class Workers
{
    /// <summary>More items than this at once wait in the queue (a build keeps fewer than ten in flight).</summary>
    internal const int MaxThreads = 16;

    private static readonly object s_lock = new();
    private static readonly Queue<Action> s_queue = new();
    private static int s_threads;
    private static int s_idle; // threads waiting for an item and not yet woken for one

    /// <summary>Threads started so far (tests).</summary>
    internal static int Threads { get { lock (s_lock) return s_threads; } }

    /// <summary>Runs <paramref name="work"/> on a worker; the task completes with it (its exception included).</summary>
    public static Task Run(Action work)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(() =>
        {
            try
            {
                work();
                done.SetResult();
            }
            catch (OperationCanceledException ex) { done.SetCanceled(ex.CancellationToken); }
            catch (Exception ex) { done.SetException(ex); }
        });
        return done.Task;
    }

    /// <summary>Runs <paramref name="work"/> on a worker; the task completes with its result (or its exception).</summary>
    public static Task<T> Run<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(() =>
        {
            try { done.SetResult(work()); }
            catch (OperationCanceledException ex) { done.SetCanceled(ex.CancellationToken); }
            catch (Exception ex) { done.SetException(ex); }
        });
        return done.Task;
    }

    private static void Enqueue(Action item)
    {
        lock (s_lock)
        {
            s_queue.Enqueue(item);
            if (s_idle > 0)
            {
                s_idle--;
                Monitor.Pulse(s_lock);
            }
            else if (s_threads < MaxThreads)
            {
                s_threads++;
                new Thread(Loop) { IsBackground = true, Name = "Grouper worker" }.Start();
            }
        }
    }

    private static void Loop()
    {
        while (true) RunNext();
    }

    // An item is taken and run in a frame of its own, gone when it returns: Loop's frame kept the last item (and
    // copies of it the compiler made for the call), and what it held (a Parquet source's row groups read ahead)
    // reachable until another came, through a build's writing phase and after it.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RunNext()
    {
        Action item;
        lock (s_lock)
        {
            // Woken by Enqueue for an item another thread may have taken meanwhile: then wait again.
            while (s_queue.Count == 0)
            {
                s_idle++;
                Monitor.Wait(s_lock);
            }
            item = s_queue.Dequeue();
        }
        item(); // never throws: Run's wrappers hand every exception to the task
    }
}
