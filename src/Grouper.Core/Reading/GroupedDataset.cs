using Grouper.Format;
using Grouper.Schema;
using Parquet;

namespace Grouper.Reading;

/// <summary>
/// An open grouped dataset: its manifest, its groups (from the index, without touching records) and
/// each group's records, streamed one row group at a time so a group larger than memory streams too.
/// Not thread-safe: open one per thread.
/// </summary>
public sealed class GroupedDataset : IDisposable
{
    private readonly GroupIndexReader _index;
    // Open shards by number. Small classes rather than tuples in these collections: a collection of a value
    // type is compiled when first used (its code is not in the runtime's precompiled images), which made a
    // tenth of a small scan's time.
    private ShardHandle?[] _shards = [];

    private GroupedDataset(string path, DatasetManifest manifest, GroupIndexReader index)
    {
        Path = path;
        Manifest = manifest;
        Columns = manifest.Columns;
        _index = index;
    }

    public string Path { get; }
    public DatasetManifest Manifest { get; }
    public IReadOnlyList<ColumnSpec> Columns { get; }
    public long GroupCount => _index.GroupCount;

    /// <summary>The index itself, for readers of its entries as stored (the verifier).</summary>
    internal GroupIndexReader Index => _index;

    /// <summary>Opens the dataset in folder <paramref name="path"/>: reads and validates the manifest and opens the index.</summary>
    public static GroupedDataset Open(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        // A manifest, index or shard the user may not read came out as the runtime's UnauthorizedAccessException,
        // which stopped a whole pipeline of datasets and named no file of Grouper's.
        try { return OpenReadable(full); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new GrouperException(GrouperErrorKind.ReadFailed, $"Cannot read the dataset {full}: {ex.Message}", full, inner: ex);
        }
    }

    private static GroupedDataset OpenReadable(string full)
    {
        var manifestPath = System.IO.Path.Combine(full, DatasetManifest.FileName);
        if (!Directory.Exists(full))
            throw File.Exists(full)
                ? new GrouperException(GrouperErrorKind.InvalidDataset,
                    $"{full} is a file; a dataset is the folder that holds {DatasetManifest.FileName}, its index and its shards{(System.IO.Path.GetFileName(full) == DatasetManifest.FileName ? $" ({System.IO.Path.GetDirectoryName(full)})" : "")}.", full)
                : new GrouperException(GrouperErrorKind.NotFound, $"There is no dataset at {full}.", full);
        if (!File.Exists(manifestPath))
            throw new GrouperException(GrouperErrorKind.InvalidDataset, $"{full} is not a Grouper dataset: it has no {DatasetManifest.FileName}.", full);
        var manifest = DatasetManifest.Parse(File.ReadAllBytes(manifestPath), manifestPath);
        foreach (var f in manifest.Shards.Cast<FileEntry>().Append(manifest.Index))
        {
            var p = Resolve(full, f.File);
            if (!File.Exists(p))
                throw new GrouperException(GrouperErrorKind.InvalidDataset, $"The dataset {full} is incomplete: {f.File} is missing.", p);
            long size = new FileInfo(p).Length;
            if (size != f.Bytes)
                throw new GrouperException(GrouperErrorKind.InvalidDataset, $"The dataset {full} is damaged: {f.File} has {size} bytes, the manifest says {f.Bytes}.", p);
        }
        var index = new GroupIndexReader(Resolve(full, manifest.Index.File));
        if (index.GroupCount != manifest.GroupCount)
        {
            index.Dispose();
            throw new GrouperException(GrouperErrorKind.InvalidDataset, $"The dataset {full} is damaged: the index has {index.GroupCount} groups, the manifest {manifest.GroupCount}.", full);
        }
        return new GroupedDataset(full, manifest, index);
    }

    internal static string Resolve(string root, string relative)
    {
        var p = System.IO.Path.GetFullPath(System.IO.Path.Combine(root, relative));
        // The manifest is data: never let it point outside the dataset.
        if (!p.StartsWith(root.TrimEnd(System.IO.Path.DirectorySeparatorChar) + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new GrouperException(GrouperErrorKind.InvalidDataset, $"The manifest of {root} names a file outside the dataset: {relative}.", root);
        return p;
    }

    /// <summary>All groups in storage order, with their sizes; reads only the index.</summary>
    public IEnumerable<GroupInfo> EnumerateGroups() => _index.Enumerate();

    /// <summary>The group at this storage position (0-based), or null; reads one index block.</summary>
    public GroupInfo? GetGroup(long ordinal) => _index.GetByOrdinal(ordinal);

    /// <summary>The group with this key, or null; reads one index block.</summary>
    public GroupInfo? FindGroup(string key) => _index.Find(key);

    /// <summary>One side of a split of the group's records (see <see cref="WithinGroupSplit"/>), in input order.</summary>
    public IEnumerable<object?[]> ReadRecords(GroupInfo group, WithinGroupSplit split, CancellationToken ct = default)
    {
        long i = 0;
        foreach (var r in ReadRecords(group, (IReadOnlyList<int>?)null, ct))
            if (split.Includes(group, i++)) yield return r;
    }

    /// <summary>The group's records in input order; each is an array of values aligned with <see cref="Columns"/>.</summary>
    public IEnumerable<object?[]> ReadRecords(GroupInfo group, CancellationToken ct = default) => ReadRecords(group, (IReadOnlyList<int>?)null, ct);

    /// <summary>
    /// The positions in <see cref="Columns"/> of these column names, each once, in the order first named. A name is
    /// the column's, or else equal to one column's but for case (as PowerShell matches property names: -Property
    /// Name for a column "name"); an unknown name, or one that only case-insensitively names two columns, is an error.
    /// </summary>
    public int[] ColumnIndexes(IEnumerable<string> names)
    {
        var result = new List<int>();
        foreach (var n in names)
        {
            int i = ColumnIndex(n);
            if (!result.Contains(i)) result.Add(i);
        }
        return result.ToArray();
    }

    /// <summary>The position in <see cref="Columns"/> of a column name, taken as <see cref="ColumnIndexes"/> takes them.</summary>
    public int ColumnIndex(string name)
    {
        int found = ColumnNames.Find(Columns.Count, i => Columns[i].Name, name, out var twins);
        if (twins is var (a, b))
            throw new GrouperException(GrouperErrorKind.MissingColumn,
                $"The dataset {Path} has no column '{name}', and two that differ from it only in case ('{Columns[a].Name}', '{Columns[b].Name}'): name one as it is written.", Path);
        if (found >= 0) return found;
        throw new GrouperException(GrouperErrorKind.MissingColumn, $"The dataset {Path} has no column '{name}' (columns: {string.Join(", ", Columns.Select(c => c.Name))}).", Path);
    }

    /// <summary>
    /// The group's records in input order, with only the columns at <paramref name="columns"/> (positions in
    /// <see cref="Columns"/>; null for all): the other columns are not even decoded.
    /// </summary>
    public IEnumerable<object?[]> ReadRecords(GroupInfo group, IReadOnlyList<int>? columns, CancellationToken ct = default)
    {
        foreach (var batch in ReadBatches(group, columns, ct))
        {
            for (int i = 0; i < batch.Count; i++)
            {
                var values = new object?[batch.ColumnCount];
                for (int c = 0; c < values.Length; c++) values[c] = batch.GetValue(c, i);
                yield return values;
            }
        }
    }

    /// <summary>
    /// The group's records in input order as batches, one per row group the group touches, holding only the
    /// columns at <paramref name="columns"/> (positions in <see cref="Columns"/>; null for all), decoded
    /// column-wise. The fast way to stream records: no array per record, and text can be looked at as the
    /// shard's UTF-8 (<see cref="RecordBatch.GetUtf8"/>) or as characters (<see cref="RecordBatch.GetChars"/>)
    /// without making strings. A batch is valid until the next one is asked for, from this group or another
    /// (the same object is handed out again). Reading groups in storage order, the next two row groups are
    /// decoded on other threads while the caller works on this one.
    /// </summary>
    public IEnumerable<RecordBatch> ReadBatches(GroupInfo group, IReadOnlyList<int>? columns = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(group);
        var batch = BatchFor(columns);
        long remaining = group.RecordCount, first = 0;
        int shard = group.Shard;
        long row = group.RowOffset;
        // Groups asked for in storage order are a scan: the row group after this group's last is wanted next.
        bool scanning = group.Ordinal == _lastOrdinal + 1;
        _lastOrdinal = group.Ordinal;
        while (remaining > 0)
        {
            if (!NextRun(ref shard, ref row, remaining, batch.Wanted, scanning, ct, out var loaded, out int from, out int take))
                throw RunsPast(group.Key);
            batch.Set(loaded.Columns, from, take);
            batch.SetGroup(group, first);
            yield return batch;
            remaining -= take;
            first += take;
        }
    }

    /// <summary>
    /// Every group's records in storage order, as batches: one per group and row group it touches, as
    /// <see cref="ReadBatches"/> hands out, each saying which group it belongs to
    /// (<see cref="RecordBatch.GroupOrdinal"/>, <see cref="RecordBatch.GroupKey"/>,
    /// <see cref="RecordBatch.IsGroupStart"/>). The fast way to stream a whole dataset: the index is walked
    /// without an object or a string per group (a key becomes a string only when asked for), and the next
    /// two row groups decode on other threads while the caller works on this one. Same batch rules as
    /// <see cref="ReadBatches"/>: only the columns at <paramref name="columns"/>, valid until the next batch.
    /// </summary>
    public IEnumerable<RecordBatch> ScanBatches(IReadOnlyList<int>? columns = null, CancellationToken ct = default)
    {
        var batch = BatchFor(columns);
        byte[] block = [];
        var entries = Array.Empty<GroupIndexReader.Entry>();
        // Where each shard's groups so far end: a scan sees every group, so it checks that they tile the shards, each
        // shard's groups in row order without gap or overlap (a merge's shards are each in key order, interleaved
        // in the index). An index whose offsets or counts were changed handed out a neighbour's records, and one
        // record more than the dataset holds, without a word. Not for imported files (no key column of their own),
        // whose rows are in their writer's order: integers sorted as numbers, not as the index's key text.
        var taken = Manifest.KeyColumn is null ? null : new long[Manifest.Shards.Count];
        for (int b = 0; b < _index.BlockCount; b++)
        {
            int n = _index.ReadBlockEntries(b, ref block, ref entries);
            long ordinal = _index.FirstOrdinal(b);
            for (int i = 0; i < n; i++, ordinal++)
            {
                var e = entries[i];
                long remaining = e.RecordCount, first = 0, row = e.RowOffset;
                int shard = e.Shard;
                _lastOrdinal = ordinal;
                while (remaining > 0)
                {
                    if (!NextRun(ref shard, ref row, remaining, batch.Wanted, scanning: true, ct, out var loaded, out int from, out int take))
                        throw RunsPast(System.Text.Encoding.UTF8.GetString(block, e.KeyStart, e.KeyLength));
                    if (taken is not null)
                    {
                        long start = OpenShard(loaded.Shard).RowGroupStarts[loaded.RowGroup] + from;
                        if (start != taken[loaded.Shard])
                            throw Untiled(System.Text.Encoding.UTF8.GetString(block, e.KeyStart, e.KeyLength), loaded.Shard, start, taken[loaded.Shard]);
                        taken[loaded.Shard] = start + take;
                    }
                    batch.Set(loaded.Columns, from, take);
                    batch.SetGroup(block, e.KeyStart, e.KeyLength, ordinal, e.RecordCount, first);
                    yield return batch;
                    remaining -= take;
                    first += take;
                }
            }
        }
        for (int shard = 0; taken is not null && shard < taken.Length; shard++)
        {
            var open = OpenShard(shard);
            long rows = open.RowGroupStarts.Length == 0 ? 0 : open.RowGroupStarts[^1] + open.RowsIn(open.RowGroupStarts.Length - 1);
            if (taken[shard] != rows)
                throw new GrouperException(GrouperErrorKind.InvalidDataset,
                    $"The dataset {Path} is damaged: rows {taken[shard]} to {rows - 1} of its shard {Manifest.Shards[shard].File} are in no group of its index.", Path);
        }
    }

    private GrouperException Untiled(string key, int shard, long start, long expected) =>
        new(GrouperErrorKind.InvalidDataset, $"The dataset {Path} is damaged: its index puts group '{key}' at row {start} of the shard " +
            $"{Manifest.Shards[shard].File}, where the groups before it in that shard end at row {expected}.", Path);

    private GrouperException RunsPast(string key) =>
        new(GrouperErrorKind.InvalidDataset, $"The dataset {Path} is damaged: group '{key}' runs past the end of its shards.", Path);

    /// <summary>
    /// The next run of a group's records: the part of them, from <paramref name="row"/> of
    /// <paramref name="shard"/>, that lies in one row group (decoded, with <paramref name="wanted"/>'s columns).
    /// Moves <paramref name="shard"/> and <paramref name="row"/> past it. False when the records would lie
    /// past the last shard or past a shard's end: the index does not match the shards.
    /// </summary>
    private bool NextRun(ref int shard, ref long row, long remaining, int[] wanted, bool scanning, CancellationToken ct, out LoadedRowGroup loaded, out int from, out int take)
    {
        loaded = null!;
        from = take = 0;
        ShardHandle open;
        while (true)
        {
            if (shard >= Manifest.Shards.Count) return false;
            open = OpenShard(shard);
            if (open.RowGroupStarts.Length > 0) break;
            shard++; // a shard without rows
            row = 0;
        }
        var s = open.RowGroupStarts;
        int rg = RowGroupAt(shard, s, row);
        if (rg < 0) return false;
        long rows = open.RowsIn(rg);
        from = (int)(row - s[rg]);
        if (from >= rows) return false;
        ct.ThrowIfCancellationRequested();
        // A scan keeps two row groups decoding ahead; a group that goes on, the one it goes on into.
        bool continues = remaining > rows - from;
        loaded = RowGroup(shard, rg, wanted, readAhead: scanning ? 2 : continues ? 1 : 0, ct);
        take = (int)Math.Min(remaining, loaded.Count - from);
        row += take;
        if (row == s[rg] + loaded.Count && rg + 1 == s.Length)
        {
            shard++;
            row = 0;
        }
        return true;
    }

    // Consecutive groups mostly start in the row group the previous one ended in: look there before searching.
    private int _hintShard = -1, _hintRowGroup;

    private int RowGroupAt(int shard, long[] starts, long row)
    {
        int rg = _hintRowGroup;
        if (!(_hintShard == shard && rg < starts.Length && starts[rg] <= row && (rg + 1 == starts.Length || row < starts[rg + 1])))
        {
            rg = Util.Sorted.LastAtOrBefore(starts, row);
            if (rg < 0) return -1;
            (_hintShard, _hintRowGroup) = (shard, rg);
        }
        return rg;
    }

    // The batch handed out is one object while the projection stays the same: a scan of millions of tiny
    // groups makes no batch and no column array per group (a batch is valid until the next is asked for).
    private RecordBatch? _batch;

    private RecordBatch BatchFor(IReadOnlyList<int>? columns)
    {
        if (_batch is { } b && (columns is null ? b.Wanted.Length == Columns.Count && b.Wanted.AsSpan().SequenceEqual(AllColumns())
            : columns.Count == b.Wanted.Length && columns.SequenceEqual(b.Wanted))) return b;
        var wanted = (columns ?? AllColumns()).ToArray();
        foreach (var c in wanted)
            if (c < 0 || c >= Columns.Count) throw new ArgumentOutOfRangeException(nameof(columns), $"There is no column at position {c}.");
        return _batch = new RecordBatch(wanted);
    }

    private int[]? _allColumns;
    private int[] AllColumns() => _allColumns ??= Enumerable.Range(0, Columns.Count).ToArray();

    /// <summary>A row group with the columns decoded so far.</summary>
    private sealed class LoadedRowGroup(int shard, int rowGroup, int count, ShardColumn?[] columns)
    {
        public int Shard { get; } = shard;
        public int RowGroup { get; } = rowGroup;
        public int Count { get; } = count;
        public ShardColumn?[] Columns { get; } = columns;
    }

    // The last row group read, its columns decoded as they are asked for: groups that follow each other
    // share row groups, so streaming all groups (or fetching neighbours) decodes each column chunk once.
    // When row groups are read in storage order, the next ones are decoded ahead on other threads, each
    // through its own handle on the shard (a stream has one position). Memory: three row groups.
    private LoadedRowGroup? _current;
    private readonly Queue<AheadLoad> _ahead = new();
    private AheadLoad? _aheadLast;
    private readonly List<AheadHandle> _aheadHandles = new();
    private int _aheadSlot;
    private ShardColumn?[]? _spare; // a retired row group's columns, whose arrays the next load reuses
    private long _lastOrdinal = -2;

    private LoadedRowGroup RowGroup(int shard, int rg, int[] wanted, int readAhead, CancellationToken ct)
    {
        var current = _current;
        if (current is null || current.Shard != shard || current.RowGroup != rg)
        {
            LoadedRowGroup next;
            if (_ahead.TryPeek(out var ahead) && ahead.Shard == shard && ahead.RowGroup == rg)
            {
                _ahead.Dequeue();
                next = ahead.Load.GetAwaiter().GetResult(); // a failure to read it surfaces here, where it is wanted
            }
            else
            {
                DropAhead();
                next = Load(OpenShard(shard), shard, rg, wanted, TakeSpare(), ct);
            }
            if (current is not null) _spare = current.Columns;
            _current = current = next;
        }
        ParquetRowGroupReader? rgr = null;
        try
        {
            foreach (var c in wanted)
            {
                if (current.Columns[c] is not null) continue;
                var open = OpenShard(shard); // this thread's handle: read-aheads have their own
                var column = CreateColumn(open, c);
                column.Load(() => rgr ??= open.Reader.OpenRowGroupReader(rg), RowGroupFile(open.File, open, shard, rg), current.Count, ct);
                current.Columns[c] = column;
            }
        }
        finally
        {
            rgr?.Dispose();
        }
        if (readAhead > 0) ReadAhead(current, wanted, readAhead);
        return current;
    }

    // Runs on read-ahead threads too: touches only its arguments and read-only state.
    // A read-ahead handle's file is its own, the shard's metadata the main handle's (read-only, parsed once).
    private LoadedRowGroup Load(ShardHandle shardFile, int shard, int rg, int[] wanted, ShardColumn?[]? reuse, CancellationToken ct)
    {
        var main = shardFile.Main;
        var loaded = new LoadedRowGroup(shard, rg, checked((int)main.RowsIn(rg)), new ShardColumn?[Columns.Count]);
        var where = RowGroupFile(shardFile.File, main, shard, rg);
        ParquetRowGroupReader? rgr = null;
        try
        {
            foreach (var c in wanted)
            {
                var column = reuse?[c] ?? CreateColumn(main, c);
                column.Load(() => rgr ??= shardFile.Reader.OpenRowGroupReader(rg), where, loaded.Count, ct);
                loaded.Columns[c] = column;
            }
        }
        finally
        {
            rgr?.Dispose();
        }
        return loaded;
    }

    private RowGroupFile RowGroupFile(FileStream file, ShardHandle main, int shard, int rg) =>
        new(file.SafeFileHandle, Resolve(Path, Manifest.Shards[shard].File), main.Layout.RowGroups[rg]);

    /// <summary>Keeps up to <paramref name="depth"/> row groups after <paramref name="current"/> decoding.</summary>
    private void ReadAhead(LoadedRowGroup current, int[] wanted, int depth)
    {
        while (_ahead.Count < depth)
        {
            var (shard, rg) = _ahead.Count > 0 ? (_aheadLast!.Shard, _aheadLast.RowGroup) : (current.Shard, current.RowGroup);
            rg++;
            if (rg >= OpenShard(shard).RowGroupStarts.Length)
            {
                if (shard + 1 >= Manifest.Shards.Count) return;
                shard++;
                rg = 0;
            }
            // Handles alternate: of two loads in flight, never two on one stream; a handle is taken again
            // only after the load before it was taken from the queue, so it is done.
            _aheadLast = new AheadLoad(shard, rg, StartLoad(AheadHandleFor(shard, _aheadSlot++ & 1), shard, rg, wanted, TakeSpare()));
            _ahead.Enqueue(_aheadLast);
        }
    }

    // Its own method: a lambda in ReadAhead would make a closure on every call, that is for every group.
    // On the thread pool, not Util.Workers: a scan hands over a row group every millisecond or so with no
    // third thread busy, and a pool thread, still spinning when the next one comes, takes it at once where a
    // worker asleep has to be woken (a 1 GB dataset's scan 0.65-0.71 s against 0.73-0.76 s on workers).
    private Task<LoadedRowGroup> StartLoad(ShardHandle handle, int shard, int rg, int[] wanted, ShardColumn?[]? reuse) =>
        Task.Run(() => Load(handle, shard, rg, wanted, reuse, CancellationToken.None));

    private ShardHandle AheadHandleFor(int shard, int slot)
    {
        foreach (var a in _aheadHandles)
            if (a.Shard == shard && a.Slot == slot) return a.Handle;
        for (int i = _aheadHandles.Count - 1; i >= 0; i--)
        {
            // Shards are read in order: handles two shards back are done with.
            if (_aheadHandles[i].Shard >= shard - 1) continue;
            _aheadHandles[i].Handle.Dispose();
            _aheadHandles.RemoveAt(i);
        }
        var h = OpenShard(shard).Ahead();
        _aheadHandles.Add(new AheadHandle(shard, slot, h));
        return h;
    }

    /// <summary>
    /// An open shard: its file (which <see cref="PlainTextChunk"/> reads itself), its layout (row groups and
    /// columns, from its footer: <see cref="ParquetFooter.ReadLayout"/>), the first row of each row group, and
    /// Parquet.Net's reader, opened only when a column needs it: a text column the shard writer wrote is read
    /// without it, and its first use in a process (its reader, its schema) took 30-35 ms of a 0.17-s scan.
    /// A read-ahead's handle (<see cref="Ahead"/>) has a file of its own, the main handle's layout and, when a
    /// column needs one, its own Parquet reader: parsing a shard's footer three times (1,400 row groups of the
    /// 1 GB benchmark, in objects the collector clears and the kernel maps) was a fifth of a scan's time.
    /// </summary>
    private sealed class ShardHandle
    {
        private ParquetReader? _reader;
        private readonly object _readerLock = new();
        private readonly string _path;

        public ShardHandle(FileStream file, ParquetLayout layout, long[] rowGroupStarts, string path)
        {
            (File, Layout, RowGroupStarts, _path) = (file, layout, rowGroupStarts, path);
            Main = this;
        }

        private ShardHandle(ShardHandle main)
        {
            Main = main;
            _path = main._path;
            Layout = main.Layout;
            RowGroupStarts = main.RowGroupStarts;
            File = OpenFile(_path);
        }

        public FileStream File { get; }
        public string Path => _path;
        public ParquetLayout Layout { get; }
        public long[] RowGroupStarts { get; }
        /// <summary>The handle whose metadata this one shares (itself for a main handle).</summary>
        public ShardHandle Main { get; }

        public long RowsIn(int rowGroup) => Layout.RowGroups[rowGroup].NumRows;

        /// <summary>
        /// A Parquet reader over this handle's file, opened on first use: by a column that needs Parquet.Net,
        /// on the thread reading or on a read-ahead's (a main handle's schema may be asked for by both).
        /// </summary>
        public ParquetReader Reader
        {
            get
            {
                lock (_readerLock) return _reader ??= OpenReader(File, _path);
            }
        }

        /// <summary>Whether Parquet.Net was opened on this shard (tests).</summary>
        public bool OpenedParquetNet => _reader is not null;

        /// <summary>A handle for a read-ahead: a file of its own, this handle's metadata.</summary>
        public ShardHandle Ahead() => new(this);

        public void Dispose()
        {
            _reader?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            File.Dispose();
        }
    }

    private sealed record AheadLoad(int Shard, int RowGroup, Task<LoadedRowGroup> Load);

    private sealed record AheadHandle(int Shard, int Slot, ShardHandle Handle);

    private ShardColumn?[]? TakeSpare()
    {
        var spare = _spare;
        _spare = null;
        return spare;
    }

    /// <summary>Waits for read-aheads nobody wants (they use the shards' streams) and drops them.</summary>
    private void DropAhead()
    {
        while (_ahead.TryDequeue(out var ahead))
        {
            try { ahead.Load.GetAwaiter().GetResult(); }
            catch (Exception) { /* never asked for: its failure is nobody's */ }
        }
    }

    /// <summary>
    /// Column <paramref name="c"/>'s reader for a shard: text the footer declares as flat UTF-8, and numbers,
    /// dates and timestamps it declares as the manifest does, are read without Parquet.Net (which is opened
    /// only if a chunk needs it); any other column through it.
    /// </summary>
    private ShardColumn CreateColumn(ShardHandle main, int c)
    {
        var spec = Columns[c];
        if (ReadWithParquetNetOnly) return ShardColumn.Create(Field(main, c), spec);
        var leaf = Leaf(main.Layout, c);
        if (spec.Kind == ValueKind.String && leaf is { FlatText: true })
            return ShardColumn.FlatText(leaf.Name, leaf.Nullable, () => Field(main, c));
        if (leaf is not null && ShardColumn.ReadsOwn(spec, leaf))
            return ShardColumn.Numbers(spec, leaf, () => Field(main, c));
        return ShardColumn.Create(Field(main, c), spec);
    }

    // Field's way of finding a column, in the layout: null when the layout does not have it (Field says why).
    private ParquetLeaf? Leaf(ParquetLayout layout, int c) => PositionIn(layout.Columns, static l => l.Name, c) is int i and >= 0 ? layout.Columns[i] : null;

    /// <summary>
    /// Column <paramref name="c"/>'s field in Parquet.Net's schema of the shard, which is checked against the
    /// manifest as its layout is when opened (<see cref="CheckColumns"/>): a column the layout has no type for
    /// (binary, a type of an imported file's) is checked here, by the type Parquet.Net gives it, as a source reads it.
    /// </summary>
    private Parquet.Schema.DataField Field(ShardHandle shard, int c)
    {
        var fields = shard.Reader.Schema.DataFields;
        if (PositionIn(fields, static f => f.Name, c) is not (int i and >= 0)) throw Mismatch(shard.Path, c, "is not in the shard (the manifest lists it)");
        var field = fields[i];
        if (Leaf(shard.Layout, c) is { Kind: not null, Nested: false }) return field;
        ColumnSpec? declared = null;
        try { declared = Sources.ParquetRecordReader.ToSpec(field, shard.Path); }
        catch (GrouperException) { /* a type no source reads: Parquet.Net says what it can */ }
        if (declared is not null && ShardSchema.Differ(Columns[c], declared) is { } what) throw Mismatch(shard.Path, c, what);
        return field;
    }

    /// <summary>
    /// Refuses a shard whose columns disagree with the manifest's (<see cref="ShardSchema.Differ"/>) before a column
    /// is read: a column typed otherwise by the manifest stopped every reader with Parquet.Net's exception, naming
    /// neither the shard nor the dataset. Columns the layout has no type for are checked by <see cref="Field"/>.
    /// </summary>
    private void CheckColumns(ShardHandle shard)
    {
        if (shard.Layout.Columns.Count == 0) return; // nested columns: not a shard's, Parquet.Net says what is wrong
        for (int c = 0; c < Columns.Count; c++)
        {
            var leaf = Leaf(shard.Layout, c);
            if (leaf is null) throw Mismatch(shard.Path, c, "is not in the shard (the manifest lists it)");
            if (leaf is { Kind: not null, Nested: false } && ShardSchema.Differ(Columns[c], leaf.ToSpec()) is { } what) throw Mismatch(shard.Path, c, what);
        }
    }

    private GrouperException Mismatch(string shard, int c, string what) =>
        new(GrouperErrorKind.InvalidDataset, $"The shard {shard} does not match the manifest of {Path}: column '{Columns[c].Name}' {what}.", shard);

    // Where column c is among a shard's columns, -1 when it is not. Grouper's shards: the key column, then the
    // record's columns in manifest order. Imported shards have no key column and may order columns their own
    // way: found by name.
    private int PositionIn<T>(IReadOnlyList<T> columns, Func<T, string> name, int c)
    {
        string wanted = Columns[c].Name;
        if (Manifest.KeyColumn is not null && c + 1 < columns.Count && name(columns[c + 1]) == wanted) return c + 1;
        for (int i = 0; i < columns.Count; i++)
            if (name(columns[i]) == wanted) return i;
        return -1;
    }

    /// <summary>Every column read through Parquet.Net, set before the first read (tests compare Grouper's reading with it).</summary>
    internal bool ReadWithParquetNetOnly { get; set; }

    /// <summary>Shards (main handles) on which Parquet.Net was opened so far (tests).</summary>
    internal int ShardsOpenedWithParquetNet => _shards.Count(h => h?.OpenedParquetNet == true);

    // The shard asked for last: a scan asks for it for every group.
    private int _lastShard = -1;
    private ShardHandle? _lastOpen;

    private ShardHandle OpenShard(int shard)
    {
        if (shard == _lastShard) return _lastOpen!;
        if (_shards.Length != Manifest.Shards.Count) Array.Resize(ref _shards, Manifest.Shards.Count);
        var open = _shards[shard];
        if (open is null)
        {
            open = OpenParquet(Resolve(Path, Manifest.Shards[shard].File));
            try { CheckColumns(open); }
            catch { open.Dispose(); throw; }
            _shards[shard] = open;
        }
        (_lastShard, _lastOpen) = (shard, open);
        return open;
    }

    private static FileStream OpenFile(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.RandomAccess);

    private static ParquetReader OpenReader(FileStream fs, string path)
    {
        try
        {
            return Format.ParquetFooter.OpenReader(fs, new ParquetOptions { UseDateOnlyTypeForDates = true });
        }
        catch (Exception ex)
        {
            throw new GrouperException(GrouperErrorKind.InvalidDataset, $"The shard {path} cannot be read: {ex.Message}", path, inner: ex);
        }
    }

    private static ShardHandle OpenParquet(string path)
    {
        var fs = OpenFile(path);
        try
        {
            ParquetLayout layout;
            try
            {
                layout = Format.ParquetFooter.ReadLayout(fs);
            }
            catch (Exception ex)
            {
                throw new GrouperException(GrouperErrorKind.InvalidDataset, $"The shard {path} cannot be read: {ex.Message}", path, inner: ex);
            }
            var starts = new long[layout.RowGroups.Count];
            long total = 0;
            for (int i = 0; i < starts.Length; i++)
            {
                starts[i] = total;
                total += layout.RowGroups[i].NumRows;
            }
            return new ShardHandle(fs, layout, starts, path);
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        DropAhead();
        _current = null;
        foreach (var a in _aheadHandles) a.Handle.Dispose();
        _aheadHandles.Clear();
        foreach (var open in _shards) open?.Dispose();
        Array.Clear(_shards);
        _lastShard = -1;
        _index.Dispose();
    }
}
