using System.Reflection;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using Grouper.Format;
using Grouper.Keys;
using Grouper.Partitioning;
using Grouper.Schema;
using Grouper.Sources;
using Grouper.Util;

namespace Grouper.Writer;

/// <summary>
/// Builds a grouped dataset: records stream in (<see cref="AddAll"/>, <see cref="Add"/>), are encoded,
/// buffered up to the memory budget, sorted by (key, arrival) and spilled as LZ4 runs; <see cref="Complete"/>
/// merges the runs into Parquet shards, writes the index and manifest into a temporary folder beside the
/// destination, verifies the counts and moves the folder into place. Disposing before completion deletes
/// everything the build wrote.
/// </summary>
public sealed class GroupedDatasetBuilder : IDisposable
{
    private readonly BuildOptions _options;
    private readonly string _destination;
    private string _workDir = "";
    private string _spillDir = "";
    private readonly ExternalSorter _sorter;
    private readonly SchemaBuilder _schema = new();
    private readonly ByteBuffer _row = new(4096);
    private readonly StringBuilder _keyText = new();
    private byte[] _keyBytes = new byte[256];
    private char[] _keyChars = new char[64];
    private readonly List<SourceFileInfo> _sources = new();
    private readonly Stopwatch _progressClock = Stopwatch.StartNew();
    private readonly long _mergeMemory;

    private RecordReader? _boundReader;
    private int _boundVersion = -1;
    private int[] _map = [];
    private KeyExtractor? _extractor;
    private int _directKey = -1; // the extractor's DirectOrdinal: the source column that is the key, byte for byte

    private long _recordsRead;
    private long _skipped;
    private long _bytesRead;
    private int _activeSource = -1;
    private string? _currentSource;
    // The file AddAll is reading and its size, for progress within it; what the caller said to expect in all.
    private RecordReader? _activeReader;
    private long _activeBytes;
    private long _inputBytes, _inputRecords;
    private bool _reported;
    private BuildPhase _phase = BuildPhase.Reading;
    private long _recordsWritten, _groupsWritten;
    private bool _completed, _disposed;

    /// <summary>The most an input's records may come to for its spill runs to be stored uncompressed (<see cref="ExternalSorter.StoreRunsUpTo"/>).</summary>
    internal const long StoreRunsAtMost = 512L << 20;

    /// <summary>Spill runs stored uncompressed so far, and all runs spilled (tests).</summary>
    internal (int Stored, int All) SpillRunsStored => (_sorter.StoredRuns, _sorter.RunCount);

    /// <summary>The largest number of spill runs merged at once; more are merged in levels.</summary>
    internal int MaxMergeFanIn { get => _maxFanIn; init { _maxFanIn = value; _sorter?.SetMaxFanIn(value); } }
    private int _maxFanIn = 128;

    public GroupedDatasetBuilder(string destination, BuildOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(destination);
        if (options.MemoryLimit < 4 << 20)
            throw new GrouperException(GrouperErrorKind.InvalidArgument, $"The memory limit must be at least 4 MB (it is {options.MemoryLimit} bytes).");
        _options = options;
        ShardWriter.WarmUp();
        options.Worker?.Validate();
        if (options.Worker is { Split: WorkerSplit.Key } && options.Key.MergeKeys > 0)
            throw new GrouperException(GrouperErrorKind.InvalidArgument, "Merged natural ids (ids per group) cannot be split by key across workers: a merged group spans keys of several workers.");
        // Workers of a file split each make the groups of their own files, which the merge needs disjoint: numbered
        // groups (a scheme's, hashed buckets, merged natural ids numbered from 0 by each worker) are every worker's.
        if (options.Worker is { Split: WorkerSplit.File } && NumberedGroups(options.Key) is { } numbered)
            throw new GrouperException(GrouperErrorKind.InvalidArgument,
                $"Workers of a file split each make the groups of their own files, and {numbered} makes groups numbered alike in every worker: their parts could not be merged. Split by key.");
        options.Key.Reset();
        _destination = DatasetCommit.FullPath(destination);
        if (Path.GetDirectoryName(_destination) is null)
            throw new GrouperException(GrouperErrorKind.InvalidArgument, $"The destination {_destination} has no parent folder.");
        _lock = DestinationLock.Acquire(_destination);
        try
        {
            Recovered = DatasetCommit.Recover(_destination);
            Prepare(options);
        }
        catch
        {
            _lock.Dispose();
            throw;
        }
        _mergeMemory = options.MemoryLimit / 2;
        _sorter = new ExternalSorter(_spillDir, options.MemoryLimit / 2, _mergeMemory,
            (int)Math.Clamp(options.MemoryLimit / 1024, 64 << 10, 1 << 20), MaxMergeFanIn);
        _sorter.Spilled += () => Report();
        _sorter.SecondHalfSpill = CompileWritingAhead;
        // How far the input is read: the sorter holds its last full buffer when the rest fits in the other.
        _sorter.ReadFraction = () => Progress.ReadFraction;
        // An input expected to come to no more than the budget spills runs that are not worth compressing; not
        // more than StoreRunsAtMost, whatever the budget: a large budget's runs would take the disk and the
        // file cache several times what they take compressed (and 1 GB builds were no faster stored).
        _sorter.StoreRunsUpTo = Math.Min(options.MemoryLimit, StoreRunsAtMost);
        _sorter.InputFraction = () => _inputBytes > 0 || _inputRecords > 0 ? Progress.ReadFraction : -1;
    }

    /// <summary>What the start of this build cleaned up after earlier builds that died (for warnings).</summary>
    public IReadOnlyList<string> Recovered { get; } = [];

    private readonly DestinationLock _lock;

    private void Prepare(BuildOptions options)
    {
        if (!options.Overwrite && (Directory.Exists(_destination) || File.Exists(_destination)))
            throw new GrouperException(GrouperErrorKind.DestinationExists,
                $"The destination {_destination} exists. Choose another destination or replace it (Overwrite / -Force).", _destination);
        if (File.Exists(_destination))
            throw new GrouperException(GrouperErrorKind.DestinationExists, $"The destination {_destination} is a file, not a dataset folder.", _destination);
        DatasetCommit.EnsureReplaceable(_destination);

        var parent = Path.GetDirectoryName(_destination) ?? throw new GrouperException(GrouperErrorKind.InvalidArgument, $"The destination {_destination} has no parent folder.");
        try
        {
            _workDir = DatasetCommit.NewWorkFolder(parent, Path.GetFileName(_destination));
            Directory.CreateDirectory(_workDir);
            _spillDir = options.SpillDirectory is { } s ? Path.Combine(Path.GetFullPath(s), Path.GetFileName(_workDir)) : Path.Combine(_workDir, "spill");
            Directory.CreateDirectory(_spillDir);
            // A spill folder elsewhere is named after the work folder, and the work folder says where it
            // is: if this process dies, the next writer of the destination deletes both (DatasetCommit.Recover).
            if (options.SpillDirectory is not null) File.WriteAllText(Path.Combine(_workDir, DatasetCommit.SpillLocationFile), _spillDir);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new GrouperException(GrouperErrorKind.WriteFailed, $"Cannot write beside {_destination}: {ex.Message}", _destination, inner: ex);
        }
        // Half the budget sorts; the other half is for the runtime, the reader of the input and slack.
        // At merge time the sort buffer is released and the same half feeds the run readers and row groups.
    }

    /// <summary>The folder the build writes into before it is moved to the destination.</summary>
    public string WorkingDirectory => _workDir;

    /// <summary>A snapshot of where the build is.</summary>
    public BuildProgress Progress
    {
        get
        {
            // The reader is asked between its records, on this thread: every report comes from the caller's thread.
            long within = _activeReader?.BytesConsumed ?? -1;
            return new(_phase, _recordsRead, _bytesRead + Math.Clamp(within, 0, _activeBytes), _recordsWritten, _groupsWritten, _sorter.RunCount, _currentSource)
            {
                InputBytes = _inputBytes,
                InputRecords = _inputRecords,
                SourceBytes = within >= 0 ? _activeBytes : 0,
                SourceBytesRead = Math.Clamp(within, 0, _activeBytes),
                PhaseElapsed = _phaseClock.Elapsed,
            };
        }
    }

    /// <summary>
    /// Tells the build how much input to expect, so that its progress says how much of it is read
    /// (<see cref="BuildProgress.ReadFraction"/>): the files' bytes on disk, or records. Calls add up.
    /// </summary>
    public void ExpectInput(long bytes, long records = 0)
    {
        _inputBytes += Math.Max(0, bytes);
        _inputRecords += Math.Max(0, records);
    }

    /// <summary><see cref="ExpectInput"/> of these files' sizes on disk.</summary>
    public void ExpectFiles(IEnumerable<string> files)
    {
        long bytes = 0;
        foreach (var f in files) bytes += SizeOf(f); // not LINQ's Sum: compiled at a build's start for this alone (1 ms)
        ExpectInput(bytes);
    }

    // A source's size on disk; 0 for a source that is not a file (pipeline objects) or cannot be asked (its read says why).
    private static long SizeOf(string path)
    {
        try { return File.Exists(path) ? new FileInfo(path).Length : 0; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return 0; }
    }

    // What makes the same group keys in every worker, whatever its files hold; null for keys that are the records' own.
    private static string? NumberedGroups(KeySpec key) => key switch
    {
        SchemeKeySpec => "a partition scheme",
        HashBucketKeySpec => "hashing keys into buckets",
        { MergeKeys: > 0 } => "merging natural ids",
        _ => null,
    };

    /// <summary>Adds every record of <paramref name="reader"/>.</summary>
    /// <remarks>Not marked <see cref="Hot.Path"/>: it loops in the methods it calls, and marked it was compiled
    /// (4 ms) before the first record of every build.</remarks>
    public void AddAll(RecordReader reader, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (File.Exists(reader.SourceName) && SourceFiles.IsWithin(reader.SourceName, _destination))
            throw new GrouperException(GrouperErrorKind.InvalidArgument,
                $"The input {reader.SourceName} is inside the destination {_destination}, which this build writes: leave it out, or write the dataset outside the input's folder.", reader.SourceName);
        // A source whose columns are known before its records has its columns and key bound now: bound at the first
        // record only, a file of a header alone built an empty dataset keyed by a column it does not have, and with
        // no columns at all (so even its key column could not be read from it). Its columns are the dataset's, and
        // checked against the other files' as any file's are.
        if (!reader.IsSchemaFlexible && reader.FieldCount > 0) BindIfNew(reader);
        long bytes = SizeOf(reader.SourceName);
        _sources.Add(new SourceFileInfo { Path = reader.SourceName, Bytes = bytes });
        _activeSource = _sources.Count - 1;
        _currentSource = reader.SourceName;
        (_activeReader, _activeBytes) = (reader, bytes);
        // A row group read ahead is memory beside the sort buffer's half of the budget.
        if (reader is ParquetRecordReader parquet)
        {
            parquet.ReadAheadLimit = Math.Min(parquet.ReadAheadLimit, _options.MemoryLimit / 8);
            // Its first row group is decoded on the other core while this thread compiles what takes its records,
            // each otherwise compiled at its first call, after that row group was decoded on this thread.
            if (parquet.BeginReading()) CompileRecordLoop<RowCodec.ParquetText>();
        }
        Report();
        try
        {
            // Grouper's own readers are told apart once, not for every record: each has a loop of its own in which
            // reading and adding a record are direct calls.
            switch (reader)
            {
                case CsvRecordReader:
                    CompileLoopBeside<RowCodec.CsvText>();
                    AddAllOwn<RowCodec.CsvText>(reader, ct);
                    break;
                case ParquetRecordReader: AddAllOwn<RowCodec.ParquetText>(reader, ct); break;
                case JsonLinesRecordReader:
                    CompileLoopBeside<RowCodec.JsonText>();
                    AddAllOwn<RowCodec.JsonText>(reader, ct);
                    break;
                default: AddAllGeneral(reader, ct); break;
            }
        }
        finally
        {
            _activeReader = null;
            _sorter.SourceEnded();
        }
        _bytesRead += bytes;
        _activeSource = -1;
        _currentSource = null;
        Report();
    }

    // The types whose marked methods were compiled ahead while the input was read.
    private Type[] _compiledAhead = [];

    /// <summary>The types whose marked methods were compiled ahead while the input was read (tests).</summary>
    internal IReadOnlyList<Type> CompiledAhead => _compiledAhead;

    /// <summary>
    /// The writing phase's loops for the columns read so far, compiled once a run spilled from the input's second
    /// half is written (ExternalSorter.SecondHalfSpill). Left to the merge, they were compiled while the merging thread
    /// waited for them: 100 MB builds' writing phases 0.02-0.06 s shorter, typed Parquet 0.56 -> 0.49 s. Not
    /// sooner: compiled as the first run of a 1 GB CSV spilled, they put off the runtime's tiering of the reading
    /// loops by the time they took, and the build took 10% longer.
    /// </summary>
    private Action? CompileWritingAhead()
    {
        var kinds = new ValueKind[_schema.Count];
        for (int i = 0; i < kinds.Length; i++) kinds[i] = _schema[i].Kind;
        Type[] types = _compiledAhead = [.. WritingTypes(kinds), .. MergeTypes];
        return () => Hot.CompileAhead(types);
    }

    /// <summary>The types whose marked methods merge spill runs.</summary>
    private static readonly Type[] MergeTypes = [typeof(MergeStream), typeof(RunReader)];

    /// <summary>The types whose marked methods write columns of <paramref name="kinds"/>: the shard writer, the chunk writers
    /// those kinds and the key take, the shards' compressor. Chunk writers of kinds the build has none of are left out: compiling
    /// them kept the other core busy into the writing phase (a decimal chunk's 4.6 ms for a typed file).</summary>
    private Type[] WritingTypes(IEnumerable<ValueKind> kinds) =>
        [typeof(ShardWriter), .. kinds.Select(k => ShardWriter.ChunkType(k == ValueKind.Null ? ValueKind.String : k)).Append(typeof(ByteArrayChunk)).Distinct(),
            .. _options.Compression == ShardCompression.Snappy ? [typeof(SnappyEncoder)] : Type.EmptyTypes];

    /// <summary>Compiles, on this thread, the marked methods a record of <typeparamref name="TText"/>'s source goes through.</summary>
    private static void CompileRecordLoop<TText>() where TText : struct, RowCodec.ITextValues => Hot.Compile(RecordLoop<TText>());

    /// <summary>The marked methods a record of <typeparamref name="TText"/>'s source goes through (a test checks they are found and marked).</summary>
    internal static MethodInfo[] RecordLoop<TText>() where TText : struct, RowCodec.ITextValues =>
    [
        typeof(GroupedDatasetBuilder).GetMethod(nameof(AddAllOwn), BindingFlags.NonPublic | BindingFlags.Instance)!.MakeGenericMethod(typeof(TText)),
        typeof(RowCodec).GetMethod(nameof(RowCodec.EncodeOwn))!.MakeGenericMethod(typeof(TText)),
        typeof(SortBuffer).GetMethod(nameof(SortBuffer.Add))!,
        // A source's own way with typed values, where it has one (Parquet's numbers and timestamps): compiled at its
        // first record otherwise, 4 ms of a 0.5 s build's reading thread.
        .. typeof(TText).GetMethod(nameof(RowCodec.ITextValues.TryEncodeFixed)) is { } fixedValues
            && (fixedValues.MethodImplementationFlags & MethodImplAttributes.AggressiveOptimization) != 0 ? [fixedValues] : Array.Empty<MethodInfo>(),
    ];

    [MethodImpl(Hot.Path)]
    private void AddAllGeneral(RecordReader reader, CancellationToken ct)
    {
        while (true)
        {
            bool more;
            try { more = reader.Read(); }
            catch (Exception ex) when (ex is not GrouperException and not OperationCanceledException)
            {
                throw Unreadable(reader, ex);
            }
            if (!more) break;
            AddGeneral(reader);
            if ((_recordsRead & 0x3FF) == 0) ct.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// The record loop's callees (<see cref="RecordLoop{TText}"/> but the loop itself), compiled on a worker while this
    /// thread compiles the loop and the source's parser, the first time a process reads such a source: each is
    /// otherwise compiled at its first call, one after the other, and a build's first record waited 26 ms for a CSV
    /// source's and 45 ms for a JSON Lines source's while the other core idled (the first spill is a third of the
    /// input away). A call that meets a method being compiled waits for it rather than compiling it again.
    /// </summary>
    private static void CompileLoopBeside<TText>() where TText : struct, RowCodec.ITextValues
    {
        if (Interlocked.Exchange(ref LoopCompiled<TText>.Asked, 1) == 0) Hot.CompileAhead(LoopBeside<TText>());
    }

    /// <summary>What <see cref="CompileLoopBeside{TText}"/> compiles (a test checks they are found and marked).</summary>
    internal static MethodInfo[] LoopBeside<TText>() where TText : struct, RowCodec.ITextValues =>
        [.. RecordLoop<TText>()[1..], typeof(ExternalSorter).GetMethod(nameof(ExternalSorter.Add))!];

    private static class LoopCompiled<TText>
    {
        public static int Asked;
    }

    [MethodImpl(Hot.Path)]
    private void AddAllOwn<TText>(RecordReader reader, CancellationToken ct) where TText : struct, RowCodec.ITextValues
    {
        while (true)
        {
            bool more;
            try { more = TText.Read(reader); }
            catch (Exception ex) when (ex is not GrouperException and not OperationCanceledException)
            {
                throw Unreadable(reader, ex);
            }
            if (!more) break;
            AddOwn<TText>(reader);
            if ((_recordsRead & 0x3FF) == 0)
            {
                ct.ThrowIfCancellationRequested();
                CountSourceMemory(reader);
            }
        }
    }

    /// <summary>
    /// What a source holds beyond its share of the budget (a sixteenth of it and an eighth: two row groups read
    /// ahead of an eighth each, as decoded, come to more than their size in the file) is taken from the sort
    /// buffers' fills. Measured at a 256 MB budget on 1 GB files of DuckDB's, whose peaks came to about 190 MB
    /// plus what their source held: 39 MB for the typed file, within its share; 65-75 MB for the files with nested
    /// columns and with INT96 timestamps' text read whole, which peaked at 255-266 MB before (234-243 MB since).
    /// </summary>
    private void CountSourceMemory(RecordReader reader)
    {
        _sorter.SourceHolds(reader.MemoryHeld - _options.MemoryLimit * 3 / 16);
        SourceExcessSeen = Math.Max(SourceExcessSeen, _sorter.SourceExcess);
    }

    /// <summary>The most a source held beyond its share of the budget, taken from the sort buffers (tests).</summary>
    internal long SourceExcessSeen { get; private set; }

    private static GrouperException Unreadable(RecordReader reader, Exception ex) =>
        new(GrouperErrorKind.InvalidData, $"Cannot read {reader.Location}: {ex.Message}", reader.SourceName, reader.RowNumber, ex);

    /// <summary>Adds the reader's current record (for callers that push records one at a time).</summary>
    public void Add(RecordReader reader)
    {
        // The sources of Grouper's own readers take their own paths (see AddOwn).
        switch (reader)
        {
            case CsvRecordReader: AddOwn<RowCodec.CsvText>(reader); return;
            case ParquetRecordReader: AddOwn<RowCodec.ParquetText>(reader); return;
            case JsonLinesRecordReader: AddOwn<RowCodec.JsonText>(reader); return;
            default: AddGeneral(reader); return;
        }
    }

    /// <summary><see cref="Add"/> for a record of any other source, through the reader's virtual members.</summary>
    private void AddGeneral(RecordReader reader)
    {
        ThrowIfDone();
        BindIfNew(reader);
        Faults.Hit("read");
        // A key the source holds as UTF-8 is used where it lies: a source's values stay put until its next Read.
        int keyOrdinal = -1;
        if (!_extractor!.TryGetUtf8(reader, out var key))
        {
            int length = EncodeKey(reader); // may replace _keyBytes
            key = _keyBytes.AsSpan(0, length);
        }
        else keyOrdinal = _extractor.DirectOrdinal; // the key is that column's text: the row need not repeat it

        _row.Clear();
        int keyTags = RowCodec.Encode(reader, _map, _schema, _row, keyOrdinal);
        Keep(reader, key, keyTags);
    }

    /// <summary>
    /// <see cref="Add"/> for a record of <typeparamref name="TText"/>'s source (<see cref="RowCodec.EncodeOwn{TText}"/>):
    /// the key column's value is the key as it lies when it is text held as UTF-8 and not empty, which is what
    /// the key extractor would find there (<see cref="KeyExtractor.DirectOrdinal"/>) through three virtual calls.
    /// </summary>
    [MethodImpl(Hot.Path | MethodImplOptions.AggressiveInlining)]
    private void AddOwn<TText>(RecordReader reader) where TText : struct, RowCodec.ITextValues
    {
        ThrowIfDone();
        BindIfNew(reader);
        Faults.Hit("read");
        int keyOrdinal = _directKey;
        ReadOnlySpan<byte> key = default;
        if (keyOrdinal >= 0 && TText.TryGet(reader, keyOrdinal, out var text)) key = text;
        if (key.IsEmpty)
        {
            keyOrdinal = -1;
            int length = EncodeKey(reader); // may replace _keyBytes
            key = _keyBytes.AsSpan(0, length);
        }
        _row.Clear();
        int keyTags = RowCodec.EncodeOwn<TText>(reader, _map, _schema, _row, keyOrdinal);
        Keep(reader, key, keyTags);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void BindIfNew(RecordReader reader)
    {
        if (!ReferenceEquals(reader, _boundReader) || reader.SchemaVersion != _boundVersion || _map.Length != _schema.Count && reader.IsSchemaFlexible)
        {
            _map = _schema.Bind(reader);
            _extractor = _options.Key.Bind(reader);
            _directKey = _extractor.DirectOrdinal;
            _boundReader = reader;
            _boundVersion = reader.SchemaVersion;
        }
    }

    /// <summary>The encoded record (in <c>_row</c>) goes into the sort, unless another worker keeps it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Keep(RecordReader reader, ReadOnlySpan<byte> key, int keyTags)
    {
        _schema.CountRecord();
        if (_options.Worker is { Split: WorkerSplit.Key } w && WorkerShare.WorkerOf(key, w.Count) != w.Index)
        {
            // Another worker's group: encoded all the same, so every worker infers the same schema, but not kept.
            _skipped++;
            return;
        }
        if (_options.KeysOnly)
        {
            // A preview needs each record's size, not its values.
            int size = _row.Length + keyTags * RowCodec.KeyTagSaves(key.Length); // as if the key's text were there
            _row.Clear();
            _row.WriteVarInt((ulong)size);
        }

        _sorter.Add(key, _row.Span);
        _row.TrimTo(1 << 16);
        _recordsRead++;
        _sources[_activeSource >= 0 ? _activeSource : PushedSourceIndex(reader)].Records++;
        if ((_recordsRead & 0x3FFF) == 0) Report();
        if ((_recordsRead & 0xFFF) == 0) KeepHeapInBudget();
    }

    private int EncodeKey(RecordReader reader)
    {
        _extractor!.GetKey(reader, _keyText);
        if (_keyChars.Length < _keyText.Length) _keyChars = new char[Math.Max(_keyText.Length, _keyChars.Length * 2)];
        var chars = _keyChars.AsSpan(0, _keyText.Length);
        _keyText.CopyTo(0, chars, chars.Length);
        int maxBytes = Encoding.UTF8.GetMaxByteCount(chars.Length);
        if (_keyBytes.Length < maxBytes) _keyBytes = new byte[Math.Max(maxBytes, _keyBytes.Length * 2)];
        try { return StrictUtf8.Encoding.GetBytes(chars, _keyBytes); }
        catch (EncoderFallbackException ex)
        {
            throw new GrouperException(GrouperErrorKind.InvalidKey,
                $"The group key of {reader.Location} has an unpaired surrogate character, which UTF-8 cannot store.", reader.SourceName, reader.RowNumber, ex);
        }
    }

    /// <summary>
    /// A source that decodes large blocks (a Parquet row group of DuckDB's or Spark's size) leaves garbage on
    /// the large object heap, which the runtime frees only in a full collection and may let grow far past
    /// the budget first. When the heap, garbage included, passes five eighths of the budget, a collection is asked for:
    /// the sort buffer's few large arrays make it quick. Sources that leave no garbage never trigger it, nor do
    /// those whose garbage the runtime's own young-generation collections take (objects from the pipeline).
    /// </summary>
    private void KeepHeapInBudget()
    {
        // Measured from the heap the build started with (in pwsh, the session's own objects are there too),
        // against five eighths of the budget (the sort buffers take half; the runtime and the reader's native
        // memory the rest), and not again until a sixteenth of the budget more has piled up: what survives is
        // live, and collecting it over and over frees nothing. At three quarters and an eighth, a 4 GB Parquet
        // build's garbage peaked 15 MB higher (243 against 228-230 MB) for two collections fewer.
        long heap = GC.GetTotalMemory(forceFullCollection: false);
        if (heap > Math.Max(_heapAtStart + _options.MemoryLimit * 5 / 8, _heapAfterCollection + _options.MemoryLimit / 16))
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);
            _heapAfterCollection = GC.GetTotalMemory(forceFullCollection: false);
        }
    }

    private readonly long _heapAtStart = GC.GetTotalMemory(forceFullCollection: false);
    private long _heapAfterCollection;

    private readonly Dictionary<RecordReader, int> _pushed = new(ReferenceEqualityComparer.Instance);

    /// <summary>Objects pushed one at a time: their reader is the source, recorded when first seen.</summary>
    private int PushedSourceIndex(RecordReader reader)
    {
        if (!_pushed.TryGetValue(reader, out var i))
        {
            _sources.Add(new SourceFileInfo { Path = reader.SourceName });
            _pushed.Add(reader, i = _sources.Count - 1);
        }
        return i;
    }

    private void EnterPhase(BuildPhase phase)
    {
        _phase = phase;
        _phaseClock.Restart();
    }

    // Since the phase began (reading: since the builder was made, which is when records start to come).
    private readonly Stopwatch _phaseClock = Stopwatch.StartNew();

    private void Report(bool force = false)
    {
        if (_options.Progress is null) return;
        // The first report goes out at once, so that a host shows the build from its start.
        if (!force && _reported && _progressClock.Elapsed < _options.ProgressInterval) return;
        _reported = true;
        _progressClock.Restart();
        _options.Progress.Report(Progress);
    }

    /// <summary>Merges, writes, verifies and commits the dataset; returns its manifest.</summary>
    // A key column that no record had (misspelt, in JSON Lines or objects, whose columns come with their records), with
    // -NullKeyGroup: every record went to the null group without a word. (Without it, the first record stops the build.)
    private void CheckKeyColumnsSeen()
    {
        if (_recordsRead + _skipped == 0) return;
        var names = Enumerable.Range(0, _schema.Count).Select(i => _schema[i].Name).ToList();
        foreach (var column in _options.Key.Columns)
            if (!names.Contains(column, StringComparer.Ordinal) && names.Count(n => string.Equals(n, column, StringComparison.OrdinalIgnoreCase)) != 1)
                throw new GrouperException(GrouperErrorKind.MissingColumn,
                    $"The key column '{column}' is in none of the {_recordsRead + _skipped:N0} records read (columns: {string.Join(", ", names)}): every record's key would be null.",
                    _sources.Count == 1 ? _sources[0].Path : null);
    }

    public DatasetManifest Complete(CancellationToken ct = default)
    {
        ThrowIfDone();
        _completed = true;
        try
        {
            _schema.Settle();
            CheckKeyColumnsSeen();
            var columns = _schema.ToSpecs();
            ct.ThrowIfCancellationRequested();

            EnterPhase(BuildPhase.Merging);
            Report(force: true);
            // The last source's reader, kept to tell a new source from it, is let go before the merge's collection:
            // a Parquet reader's row groups (39-75 MB of a 1 GB file's at a 256 MB budget) stayed live through the
            // writing phase, beside the merge's memory.
            _boundReader = null;
            if (_options.KeysOnly) throw new InvalidOperationException("A keys-only build can only be previewed.");
            bool inMemory = _sorter.InMemory;
            // The merging thread's loops, compiled on the other core while this one sorts the last buffer, collects
            // the sort's garbage and makes the shard writer (25-30 ms in a process's first build, Parquet.Net's
            // types loaded): the spills are done and nothing is encoded yet, so that core is idle. Asked before
            // the last sort, not after it: 100 MB builds 0.60 -> 0.59 s (typed Parquet), 0.64 -> 0.61 s (CSV),
            // 0.67 -> 0.65 s (text Parquet). A build that spilled nothing merges its buffers with a stream whose
            // type is known once they are sorted. What was compiled while the input was read (CompileWritingAhead)
            // is left out: a column that changed kind since adds its chunk writer's.
            Type[] writing = WritingTypes(columns.Select(c => c.Kind));
            if (!inMemory) Hot.CompileAhead([.. writing.Concat(MergeTypes).Except(_compiledAhead)]);
            // Merged names number the natural keys in order across all groups: one stream then.
            var halves = _options.Key.MergeKeys == 0 ? _sorter.SortedHalves(_options.HalvesFromBytes, _options.ShardTargetBytes, ct) : null;
            var stream = halves is null ? _sorter.Sorted(ct) : null;
            var merged = halves?.First ?? stream!;
            if (inMemory) Hot.CompileAhead([.. writing, merged.GetType()]);

            EnterPhase(BuildPhase.Writing);
            Report(force: true);
            var indexPath = Path.Combine(_workDir, "index.gidx");
            long rowGroupMemory = inMemory ? _mergeMemory / 2 : _mergeMemory - _sorter.MergeReaderMemory - _sorter.ResidentBytes;
            Written shards;
            using (var index = new GroupIndexWriter(indexPath))
            {
                if (halves is not null) shards = WriteHalves(halves, columns, rowGroupMemory, index, ct);
                else
                {
                    using (stream)
                    using (var writer = new ShardWriter(_workDir, columns, _options, Math.Max(rowGroupMemory, 4 << 20), index))
                    {
                        writer.WriteAll(stream!, s =>
                        {
                            _recordsWritten = s.Records;
                            _groupsWritten = s.Groups;
                            Report();
                        }, ct);
                        shards = new Written(writer);
                    }
                }
                index.Finish();
                _recordsWritten = shards.Records;
                _groupsWritten = shards.Groups;

                EnterPhase(BuildPhase.Verifying);
                Report(force: true);
                if (shards.Records != _recordsRead || index.GroupCount != shards.Groups)
                    throw new InvalidOperationException($"Verification failed: {_recordsRead} records read but {shards.Records} written.");

                var manifest = new DatasetManifest
                {
                    CreatedBy = DatasetManifest.CreatedByThisVersion,
                    Key = new KeyInfo
                    {
                        Kind = _options.Key.KindName,
                        Columns = _options.Key.Columns.ToArray(),
                        Description = _options.Key.Describe(),
                        NullPolicy = _options.Key.NullPolicy == NullKeyPolicy.Error ? "error" : "group",
                        NullGroupName = _options.Key.NullPolicy == NullKeyPolicy.Group ? _options.Key.NullGroupName : null,
                        Parameters = (_options.KeyParameters ?? _options.Key.Parameters) is { } p ? new SortedDictionary<string, string>(p.ToDictionary(), StringComparer.Ordinal) : null,
                    },
                    Schema = columns.Select(ColumnInfo.From).ToList(),
                    GroupCount = shards.Groups,
                    RecordCount = shards.Records,
                    ByteCount = shards.Bytes,
                    LargestGroupRecords = shards.LargestGroupRecords,
                    Stats = shards.Stats.Result(),
                    Worker = _options.Worker is { } wk ? new WorkerInfo { Index = wk.Index, Count = wk.Count, Split = wk.Split.ToString().ToLowerInvariant(), RecordsSeen = _recordsRead + _skipped } : null,
                    Sources = (_options.Sources ?? _sources).ToList(),
                    Shards = shards.Shards,
                    Index = new FileEntry { File = "index.gidx", Bytes = index.Length, Xxh3 = index.Checksum! },
                };
                // The spill folder is deleted (its runs' pages freed: 10 ms at the end of a 100 MB build) on the
                // other core, idle by now, while this one writes the manifest's JSON and reads it back (15 ms, the
                // JSON writer's and reader's first use in the process); it is gone before the folder moves. 100 MB
                // builds 0.64 -> 0.62 s (typed Parquet, 24 pairs) and 0.66 -> 0.64 s (CSV, 12 pairs).
                var spillGone = Workers.Run(_sorter.Dispose);
                byte[] manifestJson;
                try
                {
                    File.Delete(Path.Combine(_workDir, DatasetCommit.SpillLocationFile)); // the dataset holds only its own files
                    Faults.Hit("manifest");
                    manifestJson = manifest.ToJson();
                    // Read back as a reader will: a manifest a reader refuses (a column without a name once got
                    // this far) is not committed.
                    try { DatasetManifest.Parse(manifestJson, DatasetManifest.FileName); }
                    catch (GrouperException ex) { throw new InvalidOperationException($"Verification failed: the manifest does not read back ({ex.Message})", ex); }
                }
                finally
                {
                    // Also when the manifest failed: the abort that follows disposes the sorter too, not at once with this.
                    spillGone.GetAwaiter().GetResult(); // ExternalSorter.Dispose throws nothing
                }
                File.WriteAllBytes(Path.Combine(_workDir, DatasetManifest.FileName), manifestJson);

                EnterPhase(BuildPhase.Committing);
                Report(force: true);
                DatasetCommit.MoveIntoPlace(_workDir, _destination, _options.Overwrite, _options.Durable);
                EnterPhase(BuildPhase.Done);
                Report(force: true);
                return manifest;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Abort();
            throw GrouperException.WriteFailed($"the dataset {_destination}", _destination, ex);
        }
        catch
        {
            Abort();
            throw;
        }
        finally
        {
            _lock.Dispose();
        }
    }

    /// <summary>What the shard writers wrote: one writer's, or two halves' in key order.</summary>
    private sealed class Written
    {
        public Written(ShardWriter writer)
        {
            Records = writer.Records;
            Groups = writer.Groups;
            Bytes = writer.Bytes;
            LargestGroupRecords = writer.LargestGroupRecords;
            Stats = writer.SizeStats;
            Shards = writer.Shards.ToList();
        }

        public long Records { get; private set; }
        public long Groups { get; private set; }
        public long Bytes { get; private set; }
        public long LargestGroupRecords { get; private set; }
        public Grouper.Stats.GroupSizeStats.Accumulator Stats { get; }
        public List<ShardInfo> Shards { get; }

        /// <summary>Adds the second half's groups after the first's; <paramref name="shards"/> are its shards under their final names.</summary>
        public void Add(ShardWriter second, IEnumerable<ShardInfo> shards)
        {
            Records += second.Records;
            Groups += second.Groups;
            Bytes += second.Bytes;
            LargestGroupRecords = Math.Max(LargestGroupRecords, second.LargestGroupRecords);
            Stats.Add(second.SizeStats);
            Shards.AddRange(shards);
        }
    }

    private const string SecondHalfPrefix = "second-half-";

    /// <summary>
    /// Writes the two halves of the records (<see cref="ExternalSorter.SortedHalves"/>) at once: the first on
    /// this thread into the index, the second on a thread of its own into an index of its own, its shards
    /// numbered after the shards the first half is expected to make and its files named apart. Then its files
    /// take the numbers after the first half's, and its index's blocks follow the first half's as they are (or
    /// entry by entry, renumbered, when the first half made another number of shards than expected).
    /// </summary>
    private Written WriteHalves(Halves halves, IReadOnlyList<Grouper.Schema.ColumnSpec> columns, long rowGroupMemory,
        GroupIndexWriter index, CancellationToken ct)
    {
        long memory = Math.Max(rowGroupMemory / 2, 4 << 20);
        long target = Math.Max(1, _options.ShardTargetBytes);
        int expected = _options.HalvesExpectedShards ?? (int)Math.Max(1, (halves.FirstBytes + target - 1) / target);
        WroteInHalves = true;
        var secondIndexPath = Path.Combine(_spillDir, "second-half.gidx");
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
        ShardWriter? secondWriter = null;
        var secondTask = Task.Factory.StartNew(() =>
        {
            using var secondIndex = new GroupIndexWriter(secondIndexPath);
            using (halves.Second)
            {
                var writer = new ShardWriter(_workDir, columns, _options, memory, secondIndex, expected, SecondHalfPrefix);
                Volatile.Write(ref secondWriter, writer);
                using (writer) writer.WriteAll(halves.Second, null, cancel.Token);
            }
            secondIndex.Finish();
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default); // it runs even when cancelled, to close its streams
        Written written;
        try
        {
            using (halves.First)
            using (var writer = new ShardWriter(_workDir, columns, _options, memory, index))
            {
                writer.WriteAll(halves.First, s =>
                {
                    if (secondTask.IsFaulted) secondTask.GetAwaiter().GetResult(); // its failure stops this half too
                    ReportHalves(s, Volatile.Read(ref secondWriter));
                }, cancel.Token);
                written = new Written(writer);
                _firstHalfRecords = written.Records;
                _firstHalfGroups = written.Groups;
            }
            // Progress goes on while the second half finishes (reported from this thread only, as before).
            while (!((IAsyncResult)secondTask).AsyncWaitHandle.WaitOne(250)) ReportHalves(null, Volatile.Read(ref secondWriter));
            secondTask.GetAwaiter().GetResult();
        }
        catch
        {
            cancel.Cancel();
            try { secondTask.Wait(); } catch (Exception) { /* the first failure is the one to tell */ }
            throw;
        }
        int firstShards = written.Shards.Count;
        SecondHalfShardsExpected = expected == firstShards;
        var secondShards = secondWriter!.Shards.Select((shard, i) =>
        {
            var name = ShardWriter.ShardFileName(firstShards + i);
            File.Move(Path.Combine(_workDir, shard.File), Path.Combine(_workDir, name));
            return new ShardInfo { File = name, Bytes = shard.Bytes, Xxh3 = shard.Xxh3, Records = shard.Records, RowGroups = shard.RowGroups };
        }).ToList();
        using (var secondIndex = new GroupIndexReader(secondIndexPath))
            index.Append(secondIndex, firstShards - expected);
        File.Delete(secondIndexPath);
        written.Add(secondWriter, secondShards);
        return written;
    }

    /// <summary>Whether the build was written in two halves (<see cref="ExternalSorter.SortedHalves"/>).</summary>
    public bool WroteInHalves { get; private set; }

    /// <summary>Whether the first half made the shards expected, so the second half's index blocks were copied as they were (tests).</summary>
    internal bool? SecondHalfShardsExpected { get; private set; }

    private long _firstHalfRecords, _firstHalfGroups;

    private void ReportHalves(ShardWriter? firstHalf, ShardWriter? secondHalf)
    {
        if (firstHalf is not null)
        {
            _firstHalfRecords = firstHalf.Records;
            _firstHalfGroups = firstHalf.Groups;
        }
        // The second half's counts are read as its thread goes: a moment old at most.
        _recordsWritten = _firstHalfRecords + (secondHalf?.Records ?? 0);
        _groupsWritten = _firstHalfGroups + (secondHalf?.Groups ?? 0);
        Report();
    }

    /// <summary>
    /// The groups the build would make, with their record counts and byte counts, in storage order;
    /// writes no dataset. Use with <see cref="BuildOptions.KeysOnly"/> to keep only keys and sizes in memory.
    /// </summary>
    public IEnumerable<GroupInfo> Preview(CancellationToken ct = default)
    {
        ThrowIfDone();
        _completed = true;
        try
        {
            using var stream = _sorter.Sorted(ct);
            int merge = _options.Key.MergeKeys;
            byte[] natural = [];
            string? key = null;
            long distinct = 0, records = 0, bytes = 0, ordinal = 0, n = 0;
            while (stream.MoveNext())
            {
                if (key is null || !Bytes.Equal(stream.Key, natural))
                {
                    natural = stream.Key.ToArray();
                    distinct++;
                    if (merge == 0 || key is null || (distinct - 1) % merge == 0)
                    {
                        if (key is not null) yield return new GroupInfo(key, ordinal++, 0, 0, records, bytes);
                        key = merge > 0
                            ? ((distinct - 1) / merge).ToString("D" + Partitioning.GroupNames.MergedWidth, System.Globalization.CultureInfo.InvariantCulture)
                            : Encoding.UTF8.GetString(natural);
                        records = bytes = 0;
                    }
                }
                records++;
                bytes += _options.KeysOnly ? RowSize(stream.Row) : RowCodec.WrittenSize(stream.Row, stream.Key.Length);
                if ((++n & 0xFFFF) == 0) ct.ThrowIfCancellationRequested();
            }
            if (key is not null) yield return new GroupInfo(key, ordinal, 0, 0, records, bytes);
        }
        finally
        {
            Abort();
        }
    }

    private static long RowSize(ReadOnlySpan<byte> row)
    {
        int pos = 0;
        return (long)VarInt.Read(row, ref pos);
    }

    private void Abort()
    {
        _sorter.Dispose();
        try { if (Directory.Exists(_workDir)) Directory.Delete(_workDir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ThrowIfDone()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed) throw new InvalidOperationException("The build has already been completed.");
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (!_completed) Abort();
        else if (_phase != BuildPhase.Done) Abort();
        _lock.Dispose();
    }
}
