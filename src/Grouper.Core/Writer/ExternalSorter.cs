using Grouper.Util;
using System.Runtime.CompilerServices;
namespace Grouper.Writer;

/// <summary>
/// The external sort under the writer (and the importer): (key, payload) records go into a sort buffer of
/// a fixed size, full buffers are sorted by (key, arrival) and spilled as LZ4 runs (stored as they are when
/// the input is small: <see cref="StoreRunsUpTo"/>), and
/// <see cref="Sorted"/> merges them, in levels when there are more runs than memory allows to open.
/// The memory is split into two buffers: while one is sorted and spilled on a second thread, records
/// fill the other, so reading and spilling overlap.
/// </summary>
internal sealed class ExternalSorter : IDisposable
{
    private readonly SortBuffer[] _buffers;
    private int _active;
    private Task? _spilling;
    // Whether the spill under way compresses blocks another thread can take (WaitForSpill): not a stored run's,
    // nor a held buffer's sort, which a waiting thread cannot help with and would only spin beside.
    private bool _spillHelps;
    private SortBuffer _buffer => _buffers[_active];
    private readonly string _spillDir;
    private readonly long _mergeMemory;
    private readonly List<string> _runs = new();
    // Each run's blocks (first keys, offsets, sizes), for the writing phase in halves. Spills add theirs on
    // the spilling thread; they are read after WaitForSpill.
    private readonly Dictionary<string, RunIndex> _runIndex = new();
    private int _maxFanIn;
    private bool _released;

    public ExternalSorter(string spillDir, long bufferMemory, long mergeMemory, int blockSize, int maxFanIn)
    {
        _spillDir = spillDir;
        var scratch = new SortBuffer.SortScratch(); // one radix scratch for both buffers: they are sorted one at a time
        _buffers = [new SortBuffer(bufferMemory / 2, scratch), new SortBuffer(bufferMemory / 2, scratch)];
        _mergeMemory = mergeMemory;
        BlockSize = blockSize;
        _maxFanIn = maxFanIn;
        Directory.CreateDirectory(spillDir);
    }

    public int BlockSize { get; }

    // The merge's readers' blocks, each reader's given back as it is disposed (at most the fan-in's worth, in halves
    // twice that, are out at once: what MergeReaderMemory counts).
    private RunBlockPool? _readerBlocks;
    private RunBlockPool ReaderBlocks => _readerBlocks ??= new(BlockSize);

    /// <summary>Blocks allocated by the merge's readers (tests: a merge in levels takes back the blocks of the merges before).</summary>
    internal int ReaderBlocksAllocated => _readerBlocks?.Allocated ?? 0;

    /// <summary>
    /// Memory the source holds beyond its share of the budget, given up by the buffers' fills (half by each: both
    /// are full at once while one is spilled). Within a source it only grows (<see cref="SourceHolds"/>), so that a
    /// row group holding a little less than the one before does not have chunks allocated again, to be given back
    /// at the next.
    /// </summary>
    public long SourceExcess => _sourceExcess;

    /// <summary>The source holds <paramref name="excess"/> bytes beyond its share; set by the reading thread between records.</summary>
    public void SourceHolds(long excess)
    {
        if (excess <= _sourceExcess) return;
        _sourceExcess = excess;
        foreach (var b in _buffers) b.Reserve = excess / 2;
    }

    /// <summary>The source is read: the next one counts its own.</summary>
    public void SourceEnded()
    {
        _sourceExcess = 0;
        foreach (var b in _buffers) b.Reserve = 0;
    }

    private long _sourceExcess;

    internal void SetMaxFanIn(int value) => _maxFanIn = value;
    public int RunCount => _runs.Count;
    /// <summary>True while everything still fits in memory (no run was spilled).</summary>
    public bool InMemory => _runs.Count == 0;
    public event Action? Spilled;

    [MethodImpl(Hot.Path)]
    public void Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> payload)
    {
        if (_buffer.WouldOverflow(key.Length, payload.Length)) SpillInBackground();
        _buffer.Add(key, payload);
        _records++;
        _recordBytes += key.Length + payload.Length;
    }

    /// <summary>
    /// How much of the input has been read, from 0 to 1 (-1: unknown), asked when a buffer is full: when the
    /// rest of the input should fit in the other buffer, the full one is not spilled but held (<see cref="Held"/>).
    /// </summary>
    public Func<double>? ReadFraction { get; set; }

    private long _records, _recordBytes;

    // A full buffer kept in memory instead of spilled, sorted, because the rest of the input was expected to
    // fit in the other one: its records arrived after every run's and before the other buffer's. Holding
    // the last full buffer of a build saves its spill, the wait for it at the end of the input (24 ms of a
    // 100 MB build) and reading it back; both buffers are within the sort's memory as they always were.
    private SortBuffer? _held;

    /// <summary>True when a full buffer is held in memory rather than spilled (tests).</summary>
    internal bool Held => _held is not null;

    /// <summary>Held buffers spilled after all, the rest of the input not fitting (tests).</summary>
    internal int HeldThenSpilled { get; private set; }

    /// <summary>
    /// Runs after which a full buffer is no longer held. A build of 1 GB (22 runs) that held its last buffer
    /// kept 64 MB more through a merge already heavy with its runs' readers: its writing phase 8% longer and
    /// its peak 272 MB instead of 248 (over a 256 MB budget), to save one spill in 23. At 100 MB (2-3 runs
    /// before it) the held buffer saves a quarter of the spill: builds 1-5% shorter, 9 MB more at the peak.
    /// </summary>
    internal const int HoldAfterRunsAtMost = 4;

    // Whether the rest of the input, at the sort memory its records took so far a record (with a half more
    // for what an estimate misses), fits in the other buffer's fill; only in a build of few runs (above).
    private bool RestFits(SortBuffer other)
    {
        if (_runs.Count > HoldAfterRunsAtMost) return false;
        double read = ReadFraction?.Invoke() ?? -1;
        if (read is <= 0 or >= 1 || _records == 0) return false;
        double perRecord = (double)_recordBytes / _records + SortBuffer.EntryCost;
        double rest = _records * (1 - read) / read * perRecord * 1.5;
        return rest <= other.Limit;
    }

    /// <summary>Hands the full buffer to a second thread and switches to the other one (or holds it, above).</summary>
    private void SpillInBackground()
    {
        if (_held is { } held)
        {
            // The rest did not fit after all: the held buffer is spilled first (it arrived first), and this
            // thread waits for it, helping, to fill it again once this one is on its way to the disk.
            _held = null;
            HeldThenSpilled++;
            WaitForSpill();
            StartSpill(held);
        }
        // The buffer is sorted by whichever thread would otherwise wait: here, while the previous spill is
        // still running (CSV and JSON Lines, where gathering and compressing are the slower side: this thread
        // then compresses that spill's blocks until it is done, see WaitForSpill), or on the spilling thread
        // when it is done already (Parquet, where decoding the source is).
        if (_spilling is { IsCompleted: false }) _buffer.Sort();
        WaitForSpill(); // the other buffer is being spilled: it must be empty before it is filled again
        _buffers[_active ^ 1].Fit();
        // Asked once the other buffer is empty, so that its fill's limit is the one it will have.
        if (RestFits(_buffers[_active ^ 1]))
        {
            // Sorted on a worker while the rest is read, as a spill would sort it: the one sort scratch is then
            // the worker's until the next WaitForSpill, which comes before any other sort.
            var kept = _held = _buffer;
            if (!kept.IsSorted) (_spilling, _spillHelps) = (Workers.Run(kept.Sort), false);
            _active ^= 1;
            return;
        }
        StartSpill(_buffer);
        _active ^= 1;
    }

    /// <summary>Spills <paramref name="buffer"/> as the next run on a worker (after any spill before it has ended).</summary>
    private void StartSpill(SortBuffer buffer)
    {
        var path = NextRunPath();
        var blocks = SpillBlocks; // made here, so this thread, helping, always sees them whole
        bool store = StoreRun();
        Action? then = null;
        if (SecondHalfSpill is { } ask && (InputFraction?.Invoke() ?? -1) >= SecondHalfFrom)
        {
            SecondHalfSpill = null;
            then = ask();
        }
        _spilling = Workers.Run(() =>
        {
            SpillBuffer(buffer, path, blocks, store);
            then?.Invoke();
        });
        _spillHelps = !store;
    }

    /// <summary>
    /// Asked once, on the filling thread, as the first run of the input's second half (<see cref="InputFraction"/>)
    /// starts to spill; what it returns runs on the spilling thread once that run is written, where the thread
    /// would otherwise wait for the next buffer (a Parquet source's reading is the slower side). Never asked when
    /// how far the input is read is not known. The builder compiles the writing phase's loops there.
    /// </summary>
    public Func<Action?>? SecondHalfSpill { get; set; }

    /// <summary>How much of the input is read when <see cref="SecondHalfSpill"/> is asked, at the earliest.</summary>
    internal const double SecondHalfFrom = 0.5;

    /// <summary>
    /// Runs are stored as they are, not LZ4-compressed, in a build whose records are expected to come to at
    /// most this many bytes (0: always compressed). Such runs stay in the system's file cache and are read
    /// back within a second; compressing and decompressing them was a tenth of a 100 MB typed Parquet
    /// build's processor time (its reading phase 10% shorter stored, the build 4%). A larger input's runs
    /// are compressed: they meet the disk, and a 1 GB build was no faster stored.
    /// </summary>
    public long StoreRunsUpTo { get; set; }

    /// <summary>
    /// How much of the whole input has been read, from 0 to 1, when the build knows how much it is (-1 when it
    /// does not: files arriving one at a time, records from the pipeline). Asked for <see cref="StoreRunsUpTo"/>:
    /// the fraction of the file being read would take a thousand small files for a small input.
    /// </summary>
    public Func<double>? InputFraction { get; set; }

    /// <summary>Runs stored rather than compressed (tests).</summary>
    internal int StoredRuns { get; private set; }

    // Whether the next run is stored: the records read so far, at the fraction of the input they are, come to
    // at most StoreRunsUpTo (an input whose size is unknown is compressed).
    private bool StoreRun()
    {
        if (StoreRunsUpTo <= 0 || _records == 0) return false;
        double read = InputFraction?.Invoke() ?? -1;
        if (read is <= 0 or > 1 || _recordBytes / read > StoreRunsUpTo) return false;
        StoredRuns++;
        return true;
    }

    private string NextRunPath()
    {
        // Runs are numbered, and merged, in arrival order, whichever thread writes them.
        var path = Path.Combine(_spillDir, $"run-{_runs.Count:D6}.lz4");
        _runs.Add(path);
        return path;
    }

    private RunBlocks? _spillBlockStore;
    // Spills run one at a time (each waits for the one before), so one set of blocks serves them all.
    private RunBlocks SpillBlocks => _spillBlockStore ??= new RunBlocks(BlockSize);

    private void SpillBuffer(SortBuffer buffer, string path, RunBlocks blocks, bool store)
    {
        if (!buffer.IsSorted) buffer.Sort();
        using (var w = new RunWriter(path, BlockSize, blocks: blocks, store: store))
        using (var s = buffer.Stream())
        {
            w.WriteAll(s, CancellationToken.None);
            w.Finish();
            lock (_runIndex) _runIndex[path] = w.Index;
        }
        buffer.Clear();
        buffer.Grow(); // read by the filling thread only after it waited for this spill
    }

    /// <summary>
    /// Waits for the spill in progress, compressing its blocks meanwhile (<see cref="RunBlocks.Helping"/>); its
    /// failure (a full disk) surfaces here, on the caller's thread.
    /// </summary>
    private void WaitForSpill()
    {
        var pending = _spilling;
        if (pending is null) return;
        if (!pending.IsCompleted && _spillHelps && _spillBlockStore is { } blocks)
        {
            blocks.Helping = true;
            try
            {
                // Never SpinWait's millisecond sleeps: a block is gathered in a fraction of a millisecond, and
                // asleep this thread left the spilling thread to compress its ring alone (a 100 MB CSV build's
                // reading thread slept ~40 ms so; a 1 GB build's reading phase 2-4% longer).
                var spin = new SpinWait();
                while (!pending.IsCompleted)
                    if (blocks.TryCompressOne()) spin.Reset();
                    else spin.SpinOnce(sleep1Threshold: -1);
            }
            finally
            {
                blocks.Helping = false;
            }
        }
        _spilling = null;
        pending.GetAwaiter().GetResult();
        Spilled?.Invoke(); // on the caller's thread: progress handlers may not be thread-safe
    }

    /// <summary>All records sorted by (key, arrival): the sort buffer alone, or the merge of the spill runs.</summary>
    public RecordStream Sorted(CancellationToken ct)
    {
        // The records still in memory are sorted while the other buffer's spill (if one is running)
        // finishes on its thread; they are never spilled: they join the final merge as its last stream
        // (they arrived last), which saves writing and reading back a run.
        if (_held is not null) WaitForSpill(); // its sort has the scratch
        if (!_buffer.IsEmpty && !_buffer.IsSorted) _buffer.Sort();
        WaitForSpill();
        var residents = Residents(b => b.Stream());
        if (_runs.Count == 0) return residents.Count == 0 ? _buffer.Stream() : residents.Count == 1 ? residents[0] : new MergeStream(residents);
        Util.Faults.Hit("merge");
        RecordStream? resident = residents.Count switch { 0 => null, 1 => residents[0], _ => new MergeStream(residents) };
        ReleaseForMerge();
        return MergeRuns(resident, ct);
    }

    /// <summary>
    /// The records in two halves by key, for two threads to merge and write at once (<see cref="KeyHalves"/>);
    /// null when the records are fewer than <paramref name="minBytes"/>, all in memory, in runs too many for
    /// both halves to open them all, or of one key. Then <see cref="Sorted"/> gives them in one stream.
    /// </summary>
    public Halves? SortedHalves(long minBytes, long shardTarget, CancellationToken ct)
    {
        if (_held is not null) WaitForSpill(); // its sort has the scratch
        if (!_buffer.IsEmpty && !_buffer.IsSorted) _buffer.Sort();
        WaitForSpill();
        ct.ThrowIfCancellationRequested();
        // Each half opens every run: twice the merge's readers, within its share of memory.
        if (_runs.Count == 0 || 2 * _runs.Count > MergeFanIn() - 1) return null;
        var samples = new List<(byte[] Key, long Bytes)>();
        foreach (var run in _runs)
        {
            var index = _runIndex[run];
            for (int b = 0; b < index.FirstKeys.Count; b++) samples.Add((index.FirstKeys[b], index.RecordBytes[b]));
        }
        _held?.Sample(BlockSize, samples);
        if (!_buffer.IsEmpty) _buffer.Sample(BlockSize, samples);
        long total = 0;
        foreach (var (_, bytes) in samples) total += bytes;
        if (total < minBytes || KeyHalves.SplitKey(samples, KeyHalves.Goal(total, shardTarget), out long firstBytes) is not { } split) return null;
        Util.Faults.Hit("merge");
        // The collection before the readers' buffers are made, as in Sorted: after them it compacted them too
        // (a 1 GB build paused 100-110 ms in all instead of 15-21).
        SplitInHalves = true;
        ReleaseForMerge();
        var first = new List<RecordStream>();
        var second = new List<RecordStream>();
        foreach (var run in _runs)
        {
            first.Add(RunReader.Below(_runIndex[run], BlockSize, split, ReaderBlocks));
            second.Add(RunReader.From(_runIndex[run], BlockSize, split, ReaderBlocks));
        }
        // Arrived last (the held buffer before the active one): the last streams of each merge, as in Sorted.
        first.AddRange(Residents(b => b.StreamBelow(split)));
        second.AddRange(Residents(b => b.StreamFrom(split)));
        _spillBlockStore = null;
        return new Halves(new MergeStream(first), new MergeStream(second), firstBytes);
    }

    /// <summary>True once <see cref="SortedHalves"/> split the records: the merge's readers are open twice.</summary>
    public bool SplitInHalves { get; private set; }

    private int MergeFanIn() => (int)Math.Clamp(_mergeMemory / 2 / RunReader.MemoryPerRun(BlockSize), 2, _maxFanIn);

    // The buffers whose records the final merge reads from memory, in arrival order: the held one, then the active one.
    private List<RecordStream> Residents(Func<SortBuffer, RecordStream> stream)
    {
        var streams = new List<RecordStream>(2);
        if (_held is { } held) streams.Add(stream(held));
        if (!_buffer.IsEmpty) streams.Add(stream(_buffer));
        return streams;
    }

    /// <summary>Gives back the sort buffers the merge does not read (the resident ones stay when they hold records).</summary>
    private void ReleaseForMerge()
    {
        bool released = false;
        if (!_buffer.IsEmpty) ResidentBytes = _buffer.MemoryUsed;
        else { _buffer.Release(); released = true; }
        if (_held is { } held) ResidentBytes += held.MemoryUsed; // the other buffer
        else { _buffers[_active ^ 1].Release(); released = true; }
        // The other sort buffer's chunks are large; give them back before the merge takes memory. Aggressive:
        // the heap's free memory is returned to the system too, or a Parquet source's garbage, collected but
        // kept committed, stayed under the merge's memory (a 4 GB Parquet build peaked at 297-305 MB, 270 so).
        // Not while the process takes no more than the merge's share of the budget: the merge's memory on top
        // of it stays within the budget, and the collection cost more than its pause (7-10 ms for a 100 MB CSV
        // build), as the writing phase faulted in again the pages it had given back. Nor when both buffers stay
        // for the merge (one held, the other holding the last records): nothing large was given back, and the
        // collection only moved the buffers' live chunks (a 100 MB typed Parquet build paused 10-11 ms for it;
        // without: 0.62 against 0.63 s in 16 pairs, peak RSS 175 against 165 MB).
        CollectedBeforeMerge = released && Environment.WorkingSet > _mergeMemory;
        if (CollectedBeforeMerge) GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    /// <summary>Whether <see cref="Sorted"/> collected the garbage of the sort buffers before the merge.</summary>
    public bool CollectedBeforeMerge { get; private set; }

    /// <summary>Records written again by merges before the final one (runs beyond the fan-in).</summary>
    public long RecordsRemerged { get; private set; }

    /// <summary>Memory the merge's open runs take, at most the fan-in's worth (what the rest of the build must leave it).</summary>
    public long MergeReaderMemory => Math.Min(_runs.Count, _maxFanIn) * RunReader.MemoryPerRun(BlockSize) * (SplitInHalves ? 2 : 1);

    /// <summary>Memory the final merge keeps for records that were never spilled (0 when all were).</summary>
    public long ResidentBytes { get; private set; }

    private RecordStream MergeRuns(RecordStream? resident, CancellationToken ct)
    {
        // Fan-in bounded by memory: each open run holds a raw and a compressed block plus a file buffer.
        int fanIn = MergeFanIn();
        // The in-memory records take one input of the final merge.
        if (resident is not null) fanIn = Math.Max(2, fanIn - 1);
        var runs = _runs.ToList();
        int level = 0;
        while (runs.Count > fanIn)
        {
            // Merge only as many consecutive runs as it takes to bring the count down to the fan-in (each
            // merge of n runs removes n - 1), from the front; the others wait for the final merge. Merging
            // every run in batches, as a full level does, rewrote nearly all of a 4 GB build's 90 runs when
            // 7 would do. Consecutive runs keep the arrival order between runs.
            var next = new List<string>();
            int i = 0;
            while (i < runs.Count)
            {
                int excess = runs.Count - i + next.Count - fanIn;
                if (excess <= 0)
                {
                    next.AddRange(runs.Skip(i));
                    break;
                }
                int take = Math.Min(fanIn, Math.Min(runs.Count - i, excess + 1));
                var batch = runs.GetRange(i, take);
                i += take;
                if (batch.Count == 1) { next.Add(batch[0]); continue; }
                Util.Faults.Hit("merge");
                var path = Path.Combine(_spillDir, $"merge-{level}-{next.Count:D6}.lz4");
                using (var merged = new MergeStream(batch.Select(r => (RecordStream)new RunReader(r, BlockSize, pool: ReaderBlocks)).ToList()))
                using (var w = new RunWriter(path, BlockSize, blocks: SpillBlocks))
                {
                    w.WriteAll(merged, ct);
                    RecordsRemerged += w.Records;
                    w.Finish();
                    _runIndex[path] = w.Index;
                }
                foreach (var r in batch) File.Delete(r);
                next.Add(path);
                Spilled?.Invoke();
            }
            runs = next;
            level++;
        }
        _spillBlockStore = null; // no more runs are written: the final merge has their memory
        var inputs = runs.Select(r => (RecordStream)new RunReader(r, BlockSize, pool: ReaderBlocks)).ToList();
        if (resident is not null) inputs.Add(resident);
        return new MergeStream(inputs);
    }

    public void Release()
    {
        if (_released) return;
        _released = true;
        foreach (var b in _buffers) b.Release();
    }

    public void Dispose()
    {
        try { _spilling?.Wait(); } catch (Exception) { /* aborting: the spill folder goes */ }
        _spilling = null;
        Release();
        try { if (Directory.Exists(_spillDir)) Directory.Delete(_spillDir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
