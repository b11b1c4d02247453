using System.Runtime.CompilerServices;
using System.Text;
using Grouper.Schema;
using Grouper.Util;
using Grouper.Writer;
using Parquet;

namespace Grouper.Format;

/// <summary>
/// Writes the merged, key-ordered record stream as Parquet shards (data/shard-NNNNN.parquet) and the
/// group index. Rows are gathered into a row group, decoded column-wise and written; a new shard starts
/// at a row-group boundary once the current one is large enough, so a large group may span shards.
/// Parquet encoding is the costliest step, so each row group is encoded on its own
/// (<see cref="EncodedRowGroup"/>) by a task of the thread pool while the next ones are merged and decoded;
/// the encoded row groups are appended to the shard in order and the footer stitched
/// (<see cref="StitchedParquetFile"/>). The bytes do not depend on how many were encoded at once. Text and
/// binary columns (the key among them), numbers, decimals, dates, times, timestamps and booleans are encoded
/// here (<see cref="ByteArrayChunk"/>, <see cref="FixedWidthChunk"/>, <see cref="DecimalChunk"/>,
/// <see cref="BooleanChunk"/>) when shards are Snappy-compressed or not compressed; every column with Zstd
/// or Gzip by Parquet.Net (its compressors), and the footer's schema is Parquet.Net's either way.
/// </summary>
internal sealed class ShardWriter : IDisposable
{
    private readonly string _root;
    private readonly IReadOnlyList<ColumnSpec> _columns;
    private readonly ParquetOptions _parquetOptions;
    private readonly Parquet.Schema.ParquetSchema? _librarySchema;
    private readonly IReadOnlySet<int> _textElements;
    private readonly Parquet.Schema.DataField? _libraryKeyField;
    private readonly byte[] _footerTemplate;
    private const int MaxEncoders = 4;
    private readonly Slot[] _slots;
    private int _slot;
    // Slots whose row group is being encoded, oldest first: appended to the shard in this order.
    private readonly Queue<Slot> _encoding = new();
    private readonly GroupIndexWriter _index;
    private readonly string _shardPrefix;
    private readonly int _shardBase;
    private readonly long _shardTarget;
    private readonly int _rowGroupRows;
    private readonly long _rowGroupBytes;

    // Row group being gathered: its rows are decoded into the current slot's columns as they arrive (copying
    // each row aside to decode the row group at once took a tenth of the merging thread).
    private int _rowCount;
    private long _rowBytes;     // encoded bytes of its rows: the row group's size limit counts these

    // Shard being written.
    private HashingWriteStream? _shardStream;
    private StitchedParquetFile? _shard;
    private long _shardRows;
    private long _shardBytes;
    private int _shardRowGroups;
    private readonly List<ShardInfo> _shards = new();

    // Group being written. Key buffers are reused: a dataset of millions of tiny groups makes no garbage per group.
    private byte[] _groupKey = new byte[64];
    private int _groupKeyLength;
    private byte[] _naturalKey = new byte[64];
    private int _naturalKeyLength;
    private long _distinctKeys;
    private readonly HashSet<string>? _noMinMax; // of the footer template, for every shard (StitchedParquetFile)
    private readonly bool _asBefore;
    private readonly int _mergeKeys;
    private bool _inGroup;
    private int _groupShard;
    private long _groupRow;
    private long _groupRecords;
    private long _groupBytes;

    // shardBase, shardPrefix: for the second half of a build written in two halves, whose shards the index
    // numbers from shardBase (the first half's expected count) and whose files are named apart until the
    // first half's are counted (ShardFileName(int, string?)).
    public ShardWriter(string root, IReadOnlyList<ColumnSpec> columns, BuildOptions options, long memoryForRowGroups, GroupIndexWriter index,
        int shardBase = 0, string? shardPrefix = null)
    {
        _root = root;
        _shardBase = shardBase;
        _shardPrefix = shardPrefix ?? "";
        _columns = columns;
        _index = index;
        _mergeKeys = options.Key.MergeKeys;
        _shardTarget = Math.Max(1, options.ShardTargetBytes);
        _rowGroupRows = Math.Max(1, options.RowGroupMaxRows);
        // One row group is gathered while the others are encoded: one more slot than the cores that encode.
        int slots = Math.Clamp(Environment.ProcessorCount, 1, MaxEncoders) + 1;
        // Decoded .NET values take roughly three times their encoded size, and every slot holds a row group.
        // Sized for the most slots whatever this machine has: row-group boundaries, and so the bytes of the
        // shards, must not depend on the number of cores.
        _rowGroupBytes = Math.Max(64 << 10, Math.Min(options.RowGroupTargetBytes, memoryForRowGroups / (3 * (MaxEncoders + 1))));
        _parquetOptions = new ParquetOptions
        {
            CompressionMethod = options.Compression switch
            {
                ShardCompression.Zstd => CompressionMethod.Zstd,
                ShardCompression.Gzip => CompressionMethod.Gzip,
                ShardCompression.None => CompressionMethod.None,
                _ => CompressionMethod.Snappy,
            },
        };
        var schema = ParquetSchemaMap.ToEncodingSchema(columns, out _textElements);
        _footerTemplate = EmptyFileFooter(schema);
        // Snappy or no compression: every column's chunks are Grouper's (Chunk). Zstd and Gzip: Parquet.Net
        // encodes each row group whole, as a file of its own whose row group is taken.
        Parquet.Meta.CompressionCodec? own = options.EncodeWithParquetNetOnly ? null : options.Compression switch
        {
            ShardCompression.Snappy => Parquet.Meta.CompressionCodec.SNAPPY,
            ShardCompression.None => Parquet.Meta.CompressionCodec.UNCOMPRESSED,
            _ => null,
        };
        // Timestamps Parquet.Net encodes lose their bounds (wrong); those FixedWidthChunk encodes keep theirs.
        _asBefore = options.AsShardsBeforeTimestampFix;
        _noMinMax = options.AsShardsBeforeTimestampFix || own is not null ? null : StitchedParquetFile.WrongMinMax(_footerTemplate);
        if (own is { } codec)
        {
            // One policy per column, shared by its chunks in every slot (see DictionaryPolicy).
            var keyPolicy = options.PlainTextOnly ? null : new DictionaryPolicy(keyColumn: true);
            var policies = columns.Select(c => options.PlainTextOnly || c.Kind is not (ValueKind.String or ValueKind.Binary) ? null : new DictionaryPolicy(keyColumn: false)).ToArray();
            _slots = Enumerable.Range(0, slots).Select(_ => new Slot(
                columns.Select((c, i) => (ColumnSink)Chunk(c, schema.DataFields[i + 1], codec, policies[i], options.LocalTimeZone)).ToArray(),
                new ByteArrayChunk(schema.DataFields[0], nullable: false, statistics: true, codec, keyPolicy), null)).ToArray();
        }
        else
        {
            _librarySchema = schema;
            _libraryKeyField = schema.DataFields[0];
            _slots = Enumerable.Range(0, slots)
                .Select(_ => new Slot(columns.Select((c, i) => (ColumnSink)LibrarySink.Create(c, schema.DataFields[i + 1], options.LocalTimeZone)).ToArray(), null, new KeyColumn()))
                .ToArray();
        }
        Directory.CreateDirectory(Path.Combine(root, "data"));
    }

    /// <summary>The chunk writer a column of <paramref name="kind"/> is written by (<see cref="Chunk"/>): what a build compiles ahead.</summary>
    internal static Type ChunkType(ValueKind kind) => kind switch
    {
        ValueKind.String or ValueKind.Binary => typeof(ByteArrayChunk),
        ValueKind.Boolean => typeof(BooleanChunk),
        ValueKind.Decimal => typeof(DecimalChunk),
        _ => typeof(FixedWidthChunk),
    };

    /// <summary>The chunk writer of a column of <paramref name="c"/>'s kind (every kind has one).</summary>
    private static OwnChunk Chunk(ColumnSpec c, Parquet.Schema.DataField f, Parquet.Meta.CompressionCodec codec, DictionaryPolicy? policy, TimeZoneInfo? localZone) => c.Kind switch
    {
        ValueKind.String or ValueKind.Binary => new ByteArrayChunk(f, c.Nullable, statistics: false, codec, policy),
        ValueKind.Boolean => new BooleanChunk(f, c.Nullable, codec),
        ValueKind.Decimal => new DecimalChunk(c, f, codec),
        _ => new FixedWidthChunk(c, f, codec, localZone), // refuses a kind it does not hold
    };

    public IReadOnlyList<ShardInfo> Shards => _shards;
    public long Records { get; private set; }
    public long Groups { get; private set; }
    public long Bytes { get; private set; }
    public long LargestGroupRecords { get; private set; }
    public Grouper.Stats.GroupSizeStats.Accumulator SizeStats { get; } = new();

    // Called once and looping over every record: without this it would run in its ReadyToRun code to the
    // end (the runtime replaces only methods that are called again), unable to inline the record's spans.
    [MethodImpl(Hot.Path)]
    public void WriteAll(RecordStream stream, Action<ShardWriter>? onProgress, CancellationToken ct)
    {
        while (stream.MoveNext())
        {
            Add(stream.Key, stream.Row, stream.KeyRepeats);
            if ((Records & 0x3FFF) == 0)
            {
                ct.ThrowIfCancellationRequested();
                onProgress?.Invoke(this);
            }
        }
        Finish(ct);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> row, bool keyRepeats)
    {
        bool sameGroup = true;
        if (!_inGroup || !(keyRepeats || Grouper.Util.Bytes.Equal(key, _naturalKey.AsSpan(0, _naturalKeyLength))))
        {
            CopyKey(key, ref _naturalKey, out _naturalKeyLength);
            _distinctKeys++;
            // GroupedNaturalId: only every k-th new natural key starts a group, named by its number.
            if (_mergeKeys > 0 && _inGroup && (_distinctKeys - 1) % _mergeKeys != 0) goto append;
            EndGroup();
            if (_mergeKeys > 0)
                CopyKey(Encoding.UTF8.GetBytes(((_distinctKeys - 1) / _mergeKeys).ToString("D" + Grouper.Partitioning.GroupNames.MergedWidth,
                    System.Globalization.CultureInfo.InvariantCulture)), ref _groupKey, out _groupKeyLength);
            else CopyKey(key, ref _groupKey, out _groupKeyLength);
            _slots[_slot].NewGroup();
            sameGroup = false;
            _inGroup = true;
            _groupShard = _shardBase + _shards.Count; // the shard now open (or about to open) has this number
            _groupRow = _shardRows + _rowCount;
            _groupRecords = 0;
            _groupBytes = 0;
        }
    append:
        var slot = _slots[_slot];
        // Sizes count the row as if its key's text were in it (KeyTag), so that they do not depend on how it was spilled.
        int length = DecodeRow(slot.Sinks, row, _rowCount, key);
        slot.AppendKey(_rowCount, _groupKey.AsSpan(0, _groupKeyLength), sameGroup);
        _rowCount++;
        _rowBytes += length;
        _groupRecords++;
        _groupBytes += length;
        Records++;
        Bytes += length;
        if (_rowCount >= _rowGroupRows || _rowBytes >= _rowGroupBytes) FlushRowGroup(CancellationToken.None);
    }

    private void EndGroup()
    {
        if (!_inGroup) return;
        _index.Add(_groupKey.AsSpan(0, _groupKeyLength), _groupShard, _groupRow, _groupRecords, _groupBytes);
        SizeStats.Add(_groupRecords, _groupBytes);
        Groups++;
        LargestGroupRecords = Math.Max(LargestGroupRecords, _groupRecords);
        _inGroup = false;
    }

    private void FlushRowGroup(CancellationToken ct)
    {
        if (_rowCount == 0) return;
        var slot = _slots[_slot];
        int count = _rowCount;
        slot.Rows = count;
        foreach (var c in slot.Layout) c.Seal();
        if (_shard is null) OpenShard();
        slot.Encoding = Workers.Run(() =>
        {
            ct.ThrowIfCancellationRequested(); // as a task started with the token would not have run
            Encode(slot, count, ct);
        });
        _encoding.Enqueue(slot);
        _shardRows += count;
        _shardBytes += _rowBytes;
        _shardRowGroups++;
        _rowCount = 0;
        _rowBytes = 0;
        _slot = (_slot + 1) % _slots.Length;
        // The next slot is the oldest one still encoding: its row group must be in the file before the slot is reused.
        if (_encoding.Count == _slots.Length) AppendOldest();
        _slots[_slot].ResetKeys();
        foreach (var s in _slots[_slot].Sinks) s.Reset(count); // the next row group is likely as long
        if (_shardBytes >= _shardTarget) CloseShard();
    }

    private void Encode(Slot slot, int count, CancellationToken ct)
    {
        var rowGroup = slot.RowGroup;
        rowGroup.Reset(count);
        if (slot.Layout.Length > 0)
        {
            foreach (var c in slot.Layout) c.Encode(rowGroup);
            rowGroup.Finish(slot.Layout);
        }
        else
        {
            var piece = slot.Piece;
            piece.SetLength(0);
            var writer = ParquetWriter.CreateAsync(_librarySchema!, piece, _parquetOptions, false, ct).GetAwaiter().GetResult();
            try
            {
                using var rg = writer.CreateRowGroup();
                slot.LibraryKey?.WriteAsync(rg, _libraryKeyField!, count).GetAwaiter().GetResult();
                foreach (var s in slot.Library) s.WriteAsync(rg, count, ct).GetAwaiter().GetResult();
                rg.CompleteValidate();
            }
            finally { writer.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
            rowGroup.AddLibraryFile(piece.GetBuffer().AsSpan(0, (int)piece.Length));
        }
    }

    /// <summary>
    /// Parquet.Net's first use in a process, made ahead on a pool thread while a build starts: its types, static
    /// tables and writer are what making the first shard writer waits for (20-30 ms), and at a build's start the
    /// second core is idle (the reading thread opens the input and reads its first rows). A source read
    /// without Parquet.Net (ParquetRecordReader) otherwise left all of it to the writing phase.
    /// </summary>
    internal static void WarmUp()
    {
        if (Interlocked.Exchange(ref s_warmedUp, 1) != 0) return; // once a process: later builds find it warm
        Workers.Run(static () =>
        {
            try { EmptyFileFooter(ParquetSchemaMap.ToEncodingSchema([new ColumnSpec("warm-up", ValueKind.String, true)], out _)); }
            catch (Exception) { /* then the first shard writer does this work itself, as it would have */ }
        });
    }

    private static int s_warmedUp;

    /// <summary>The footer Parquet.Net writes for <paramref name="schema"/>: the template of every shard's footer.</summary>
    private static byte[] EmptyFileFooter(Parquet.Schema.ParquetSchema schema)
    {
        using var file = new MemoryStream();
        var writer = ParquetWriter.CreateAsync(schema, file).GetAwaiter().GetResult();
        writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return StitchedParquetFile.FooterOf(file.GetBuffer().AsSpan(0, (int)file.Length), out _).ToArray();
    }

    /// <summary>Waits for the oldest row group being encoded and appends it; its failure surfaces here.</summary>
    private void AppendOldest()
    {
        var slot = _encoding.Dequeue();
        var task = slot.Encoding!;
        slot.Encoding = null;
        task.GetAwaiter().GetResult();
        _shard!.Append(slot.RowGroup.Body.WrittenSpan, slot.RowGroup.Metadata.WrittenSpan, slot.Rows);
        Faults.Hit("shard");
    }

    /// <summary>A set of column buffers a row group is decoded into, and the memory it is encoded into.</summary>
    private sealed class Slot
    {
        public Slot(ColumnSink[] sinks, ByteArrayChunk? key, KeyColumn? libraryKey)
        {
            Sinks = sinks;
            Key = key;
            LibraryKey = libraryKey;
            Library = sinks.OfType<LibrarySink>().ToArray();
            // Schema order, the key column first: Grouper's chunks, or none where Parquet.Net encodes the row group.
            Layout = key is null ? [] : [key, .. sinks.Cast<OwnChunk>()];
        }

        public ColumnSink[] Sinks { get; }
        public LibrarySink[] Library { get; }
        public OwnChunk[] Layout { get; }
        public ByteArrayChunk? Key { get; }
        public KeyColumn? LibraryKey { get; }
        public MemoryStream Piece { get; } = new();
        public EncodedRowGroup RowGroup { get; } = new();
        public int Rows { get; set; }
        public Task? Encoding { get; set; }

        public void NewGroup() => LibraryKey?.NewGroup();

        public void AppendKey(int row, ReadOnlySpan<byte> key, bool sameGroup)
        {
            if (Key is not null) Key.AppendKey(key, sameGroup);
            else LibraryKey!.Append(row, key);
        }

        /// <summary>A new row group: the slot's previous one has been appended to the shard.</summary>
        public void ResetKeys()
        {
            Key?.Reset(0);
            LibraryKey?.Reset();
        }
    }

    private static void CopyKey(ReadOnlySpan<byte> key, ref byte[] buffer, out int length)
    {
        if (buffer.Length < key.Length) buffer = new byte[Math.Max(key.Length, buffer.Length * 2)];
        key.CopyTo(buffer);
        length = key.Length;
    }

    /// <summary>
    /// The key column of a row group: the group key's characters once per group in an arena, every row of
    /// the group a slice of them (no string per group, and Parquet.Net takes the slices as they are).
    /// </summary>
    private sealed class KeyColumn
    {
        private ReadOnlyMemory<char>[] _values = new ReadOnlyMemory<char>[1024];
        private char[] _arena = new char[1 << 14];
        private int _used;
        private ReadOnlyMemory<char> _current;
        private bool _valid;

        /// <summary>A new row group: the arena is reused, so the open group's key is decoded again.</summary>
        public void Reset()
        {
            _used = 0;
            _valid = false;
        }

        public void NewGroup() => _valid = false;

        public void Append(int row, ReadOnlySpan<byte> key)
        {
            if (!_valid)
            {
                int max = key.Length; // UTF-8 never has fewer bytes than UTF-16 characters
                if (_used + max > _arena.Length)
                {
                    // Earlier slices keep the old arena alive until the row group is written.
                    _arena = new char[Math.Max(_arena.Length * 2, max + 1024)];
                    _used = 0;
                }
                int n = Encoding.UTF8.GetChars(key, _arena.AsSpan(_used));
                _current = new ReadOnlyMemory<char>(_arena, _used, n);
                _used += n;
                _valid = true;
            }
            if (row == _values.Length) Array.Resize(ref _values, row * 2);
            _values[row] = _current;
        }

        public Task WriteAsync(ParquetRowGroupWriter rg, Parquet.Schema.DataField field, int count) =>
            rg.WriteAsync<ReadOnlyMemory<char>>(field, _values.AsMemory(0, count), null, null, default);
    }

    /// <summary>Decodes a row into the column sinks; returns its length with the key's text counted where a <see cref="RowCodec.KeyTag"/> stands for it.</summary>
    [MethodImpl(Hot.Path)]
    private static int DecodeRow(ColumnSink[] sinks, ReadOnlySpan<byte> row, int r, ReadOnlySpan<byte> key)
    {
        var reader = new RowCodec.Reader(row);
        int n = reader.ColumnCount;
        int length = row.Length;
        for (int c = 0; c < sinks.Length; c++)
        {
            var sink = sinks[c];
            // Rows encoded before a column was first seen stop short of it: the value is absent.
            if (c >= n) { sink.AppendNull(r); continue; }
            var tag = reader.NextKind();
            if ((byte)tag == RowCodec.KeyTag)
            {
                sink.AppendBytes(r, key, ValueKind.String);
                length += RowCodec.KeyTagSaves(key.Length);
                continue;
            }
            switch (tag)
            {
                case ValueKind.Null: sink.AppendNull(r); break;
                case ValueKind.String or ValueKind.Binary: sink.AppendBytes(r, reader.ReadBytes(), tag); break;
                default: DecodeScalar(ref reader, sink, r, tag); break;
            }
        }
        return length;
    }

    // Apart from DecodeRow, whose frame then holds no scalar to clear: with one (a decimal among its fields)
    // the runtime cleared 200 bytes of frame in DecodeRow's prolog for every row, and a 1 GB CSV build's
    // merging thread took 60% of DecodeRow's samples there (0.28 s), though CSV rows hold only text.
    [MethodImpl(MethodImplOptions.NoInlining | Hot.Path)]
    private static void DecodeScalar(ref RowCodec.Reader reader, ColumnSink sink, int r, ValueKind tag)
    {
        Scalar s = default;
        switch (tag)
        {
            case ValueKind.Boolean: s.L = reader.ReadBoolean() ? 1 : 0; break;
            case ValueKind.Int8 or ValueKind.Int16 or ValueKind.Int32 or ValueKind.Int64: s.L = reader.ReadSigned(); break;
            case ValueKind.UInt8 or ValueKind.UInt16 or ValueKind.UInt32 or ValueKind.UInt64: s.U = reader.ReadUnsigned(); break;
            case ValueKind.Float: s.D = reader.ReadFloat(); break;
            case ValueKind.Double: s.D = reader.ReadDouble(); break;
            case ValueKind.Decimal: s.M = reader.ReadDecimal(); break;
            case ValueKind.Timestamp: var t = reader.ReadTimestamp(); s.L = t.Ticks; s.TimestampKind = t.Kind; break;
            case ValueKind.Date: s.L = reader.ReadDate().DayNumber; break;
            case ValueKind.Time: s.L = reader.ReadTime().Ticks; break;
            default: throw new InvalidDataException($"Unknown value tag {(byte)tag} in an encoded row.");
        }
        sink.AppendScalar(r, in s, tag);
    }

    private void OpenShard()
    {
        var name = ShardFileName(_shards.Count, _shardPrefix);
        // Its buffer no larger than what the hashing stream hands it at once: no system call writes more (FileWrites.MaxWrite).
        var fs = new FileStream(Path.Combine(_root, name), FileMode.CreateNew, FileAccess.Write, FileShare.None, FileWrites.MaxWrite);
        _shardStream = new HashingWriteStream(fs);
        _shard = new StitchedParquetFile(_shardStream, _footerTemplate, _textElements, _noMinMax, _asBefore);
        _shardRows = 0;
        _shardBytes = 0;
        _shardRowGroups = 0;
    }

    public static string ShardFileName(int i) => $"data/shard-{i:D5}.parquet";

    /// <summary>A shard's file name, with a prefix before its final name (empty for the final name).</summary>
    public static string ShardFileName(int i, string? prefix) => string.IsNullOrEmpty(prefix) ? ShardFileName(i) : $"data/{prefix}shard-{i:D5}.parquet";

    private void CloseShard()
    {
        if (_shard is null) return;
        while (_encoding.Count > 0) AppendOldest();
        _shard.Finish();
        _shardStream!.Flush();
        _shards.Add(new ShardInfo
        {
            File = ShardFileName(_shards.Count, _shardPrefix),
            Bytes = _shardStream.Length,
            Xxh3 = _shardStream.Checksum,
            Records = _shardRows,
            RowGroups = _shardRowGroups,
        });
        _shardStream.Dispose();
        _shard = null;
        _shardStream = null;
        // The open group continues at row 0 of the next shard; its entry keeps its first shard.
        _shardRows = 0;
    }

    private void Finish(CancellationToken ct)
    {
        FlushRowGroup(ct);
        EndGroup();
        CloseShard();
    }

    public void Dispose()
    {
        foreach (var slot in _slots)
            try { slot.Encoding?.Wait(); } catch (Exception) { /* aborting: the folder is deleted */ }
        _shardStream?.Dispose();
    }
}
