namespace Grouper.Writer;

/// <summary>
/// The external sort under the writer (and the importer): (key, payload) records go into a sort buffer of
/// a fixed size, full buffers are sorted by (key, arrival) and spilled as LZ4 runs, and
/// <see cref="Sorted"/> merges them, in levels when there are more runs than memory allows to open.
/// </summary>
internal sealed class ExternalSorter : IDisposable
{
    private readonly SortBuffer _buffer;
    private readonly string _spillDir;
    private readonly long _mergeMemory;
    private readonly List<string> _runs = new();
    private int _maxFanIn;
    private bool _released;

    public ExternalSorter(string spillDir, long bufferMemory, long mergeMemory, int blockSize, int maxFanIn)
    {
        _spillDir = spillDir;
        _buffer = new SortBuffer(bufferMemory);
        _mergeMemory = mergeMemory;
        BlockSize = blockSize;
        _maxFanIn = maxFanIn;
        Directory.CreateDirectory(spillDir);
    }

    public int BlockSize { get; }

    internal void SetMaxFanIn(int value) => _maxFanIn = value;
    public int RunCount => _runs.Count;
    /// <summary>True while everything still fits in memory (no run was spilled).</summary>
    public bool InMemory => _runs.Count == 0;
    public event Action? Spilled;

    public void Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> payload)
    {
        if (_buffer.WouldOverflow(key.Length, payload.Length)) Spill();
        _buffer.Add(key, payload);
    }

    private void Spill()
    {
        _buffer.Sort();
        var path = Path.Combine(_spillDir, $"run-{_runs.Count:D6}.lz4");
        using (var w = new RunWriter(path, BlockSize))
        using (var s = _buffer.Stream())
        {
            w.WriteAll(s, CancellationToken.None);
            w.Finish();
        }
        _runs.Add(path);
        _buffer.Clear();
        Spilled?.Invoke();
    }

    /// <summary>All records sorted by (key, arrival): the sort buffer alone, or the merge of the spill runs.</summary>
    public IRecordStream Sorted(CancellationToken ct)
    {
        if (_runs.Count == 0)
        {
            _buffer.Sort();
            return _buffer.Stream();
        }
        if (!_buffer.IsEmpty) Spill();
        Util.Faults.Hit("merge");
        Release();
        GC.Collect(); // the sort buffer's chunks are large; give them back before the merge takes memory
        return MergeRuns(ct);
    }

    private IRecordStream MergeRuns(CancellationToken ct)
    {
        // Fan-in bounded by memory: each open run holds a raw and a compressed block plus a file buffer.
        int fanIn = (int)Math.Clamp(_mergeMemory / 2 / ((long)BlockSize * 3), 2, _maxFanIn);
        var runs = _runs.ToList();
        int level = 0;
        while (runs.Count > fanIn)
        {
            // Merge consecutive runs so that arrival order between runs is kept.
            var next = new List<string>();
            for (int i = 0; i < runs.Count; i += fanIn)
            {
                var batch = runs.GetRange(i, Math.Min(fanIn, runs.Count - i));
                if (batch.Count == 1) { next.Add(batch[0]); continue; }
                Util.Faults.Hit("merge");
                var path = Path.Combine(_spillDir, $"merge-{level}-{next.Count:D6}.lz4");
                using (var merged = new MergeStream(batch.Select(r => (IRecordStream)new RunReader(r, BlockSize)).ToList()))
                using (var w = new RunWriter(path, BlockSize))
                {
                    w.WriteAll(merged, ct);
                    w.Finish();
                }
                foreach (var r in batch) File.Delete(r);
                next.Add(path);
                Spilled?.Invoke();
            }
            runs = next;
            level++;
        }
        return new MergeStream(runs.Select(r => (IRecordStream)new RunReader(r, BlockSize)).ToList());
    }

    public void Release()
    {
        if (_released) return;
        _released = true;
        _buffer.Release();
    }

    public void Dispose()
    {
        Release();
        try { if (Directory.Exists(_spillDir)) Directory.Delete(_spillDir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
