using System.Runtime.CompilerServices;
using System.Buffers.Binary;
using Grouper.Util;

namespace Grouper.Writer;

/// <summary>
/// A spill run on disk: a sorted sequence of (key, row) records in LZ4-compressed blocks, or in blocks
/// stored as they are (<see cref="StoredBlock"/>: a run of a build that spills little).
/// Block: [int32 raw length][int32 compressed length][compressed bytes], or [int32 raw length][-1][raw bytes]
/// when stored; raw block: repeated
/// [varint key length + 1][key][varint row length][row], or [0][varint row length][row] for a record whose
/// key is the record's before it in the same block (a block is read on its own, so its first record always
/// has its key). A block holds whole records, so one record larger than the block size makes a larger block.
/// </summary>
/// <remarks>
/// Sorted records mostly repeat the key before them (93% of the skewed benchmark input's, half of the tiny
/// groups'): the marker keeps those keys' bytes out of the gather, the compressor and the decompressor, and
/// tells the merge that the run's record stays where it is (<see cref="RecordStream.KeyRepeats"/>).
/// </remarks>
internal sealed class RunWriter : IDisposable
{
    private readonly FileStream _file;
    private readonly int _blockSize;
    private readonly RunBlocks _blocks;
    private readonly RunBlocks.Slot[] _ring;
    private readonly SpillCodec _codec;
    private RunBlocks.Slot _filling;
    private ByteBuffer _raw;
    private int _fill;   // the slot being filled
    private int _write;  // the oldest slot not yet written
    private int _lastKeyStart = -1; // where the last record's key lies in the block being filled (-1: a new block)
    private int _lastKeyLength;
    private readonly bool _store;

    /// <summary>The compressed length a block's header gives when its bytes are stored as they are.</summary>
    public const int StoredBlock = -1;

    // blocks: buffers to write with, reused from run to run (new ones when null). store: blocks are written
    // as they are, not compressed.
    public RunWriter(string path, int blockSize, SpillCodec? codec = null, RunBlocks? blocks = null, bool store = false)
    {
        _store = store;
        Path = path;
        _blockSize = blockSize;
        _codec = codec ?? SpillCodec.Preferred;
        _blocks = blocks ?? new RunBlocks(blockSize);
        _blocks.Codec = _codec;
        _ring = _blocks.Ring;
        // A run that failed may have left blocks behind (no one compresses them now: see RunBlocks.Helping).
        foreach (var slot in _ring) slot.Reset(blockSize);
        _filling = _ring[0];
        _raw = _filling.Raw;
        _file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
    }

    public string Path { get; }
    public long Records { get; private set; }

    // Each block's first key, place in the file and records' bytes: what the
    // writing phase needs to split the records in two halves by key (RunIndex).
    private readonly List<byte[]> _blockKeys = new();
    private readonly List<long> _blockOffsets = new();
    private readonly List<long> _blockBytes = new();   // the records' keys and rows, each key counted (a block holds repeated ones once)
    private long _blockRecordBytes;

    /// <summary>The run's blocks, once <see cref="Finish"/> has written them all.</summary>
    public RunIndex Index => new(Path, _blockKeys, _blockOffsets, _blockBytes);
    public long BytesWritten => _file.Position;

    [MethodImpl(Hot.Path | MethodImplOptions.AggressiveInlining)]
    public void Write(ReadOnlySpan<byte> key, ReadOnlySpan<byte> row)
    {
        // Flush first so the block buffer grows only for a single record larger than a block.
        if (_raw.Length > 0 && _raw.Length + key.Length + row.Length + 2 * VarInt.MaxLength > _blockSize) FlushBlock();
        if (_raw.Length == 0) _blockKeys.Add(key.ToArray());
        if (key.Length == _lastKeyLength && _lastKeyStart >= 0 && Bytes.Equal(key, _raw.RawArray.AsSpan(_lastKeyStart, key.Length)))
            _raw.WriteByte(0);
        else
        {
            _raw.WriteVarInt((ulong)key.Length + 1);
            _lastKeyStart = _raw.Length;
            _lastKeyLength = key.Length;
            _raw.Write(key);
        }
        _raw.WriteVarInt((ulong)row.Length);
        _raw.Write(row);
        _blockRecordBytes += key.Length + row.Length;
        Records++;
    }

    [MethodImpl(Hot.Path)]
    public void WriteAll(RecordStream stream, CancellationToken ct)
    {
        while (stream.MoveNext())
        {
            Write(stream.Key, stream.Row);
            if ((Records & 0xFFF) == 0) ct.ThrowIfCancellationRequested();
        }
    }

    private void FlushBlock()
    {
        if (_raw.Length == 0) return;
        Faults.Hit("spill");
        _blockBytes.Add(_blockRecordBytes);
        _blockRecordBytes = 0;
        if (_store) _filling.MarkStored();
        else
        {
            _filling.MarkReady();
            // Compressed here at once, unless a waiting thread takes the blocks (the next one is gathered meanwhile).
            if (!_blocks.Helping && _filling.TryClaim()) _filling.Compress(_codec);
        }
        _fill = (_fill + 1) % _ring.Length;
        Drain(until: _ring[_fill]);
        _filling = _ring[_fill];
        _raw = _filling.Raw;
        _lastKeyStart = -1;
    }

    /// <summary>
    /// Writes the compressed blocks in order. With <paramref name="until"/>, goes on until that slot is free
    /// (compressing a block itself, or waiting for the one a helper is compressing); without, until every
    /// block is written.
    /// </summary>
    private void Drain(RunBlocks.Slot? until)
    {
        var spin = new SpinWait();
        Span<byte> header = stackalloc byte[8];
        while (true)
        {
            var slot = _ring[_write];
            int state = slot.State;
            if (state == RunBlocks.Slot.Free) return;
            if (state == RunBlocks.Slot.Done)
            {
                _blockOffsets.Add(_file.Position);
                BinaryPrimitives.WriteInt32LittleEndian(header, slot.Raw.Length);
                BinaryPrimitives.WriteInt32LittleEndian(header[4..], slot.CompressedLength);
                _file.Write(header);
                // A block of a large budget's runs is up to 1 MB (FileWrites.MaxWrite says why it goes in pieces).
                if (slot.CompressedLength == StoredBlock) _file.WriteInPieces(slot.Raw.Span);
                else _file.WriteInPieces(slot.Compressed.AsSpan(0, slot.CompressedLength));
                slot.Reset(_blockSize);
                _write = (_write + 1) % _ring.Length;
                continue;
            }
            if (until is not null && until.State == RunBlocks.Slot.Free) return;
            if (state == RunBlocks.Slot.Ready && slot.TryClaim()) slot.Compress(_codec);
            // A helper is compressing it: a later block meanwhile, or a short wait (a block takes a fraction of
            // a millisecond, so never the millisecond's sleep SpinWait would come to).
            else if (!_blocks.TryCompressOne()) spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <summary>Writes the last block and closes the file.</summary>
    public void Finish()
    {
        FlushBlock();
        Drain(until: null);
        _file.Flush();
        _file.Dispose();
    }

    public void Dispose() => _file.Dispose();
}

/// <summary>
/// A run writer's blocks, which the sorter keeps for all its spills (one at a time): a ring of slots, each a
/// raw block and its compressed form. New ones for every run were half a megabyte of large-object garbage
/// per spill, which only a full collection frees: the heap's free space grew through a long build (a 4 GB
/// build spills 84 runs). Three slots let a second thread compress blocks while the spilling thread gathers
/// the next (see <see cref="Helping"/>); the run's bytes are the same whoever compresses them.
/// </summary>
internal sealed class RunBlocks
{
    public RunBlocks(int blockSize)
    {
        Ring = new Slot[3];
        for (int i = 0; i < Ring.Length; i++) Ring[i] = new Slot(blockSize);
    }

    public readonly Slot[] Ring;

    /// <summary>The codec of the run being written, for a helper.</summary>
    public SpillCodec Codec = SpillCodec.Preferred;

    /// <summary>
    /// Set while the reading thread, which would otherwise wait for this spill (CSV and JSON Lines: gathering
    /// and compressing the sorted records is the slower side), compresses its blocks (<see cref="TryCompressOne"/>):
    /// the spilling thread then leaves the blocks it gathered to it, and compresses one itself only when its
    /// ring is full. Cleared before the reading thread goes on, so no block of a run is compressed after the
    /// run's writer is gone.
    /// </summary>
    public volatile bool Helping;

    /// <summary>Compresses one block that is waiting for it; false when none is.</summary>
    public bool TryCompressOne()
    {
        foreach (var slot in Ring)
            if (slot.State == Slot.Ready && slot.TryClaim())
            {
                slot.Compress(Codec);
                return true;
            }
        return false;
    }

    internal sealed class Slot(int blockSize)
    {
        public const int Free = 0, Ready = 1, Claimed = 2, Done = 3;
        private int _state;
        public readonly ByteBuffer Raw = new(blockSize + 64);
        public byte[] Compressed = new byte[SpillCodec.MaximumOutputSize(blockSize + 64)];
        public int CompressedLength;

        public int State => Volatile.Read(ref _state);
        public void MarkReady() => Volatile.Write(ref _state, Ready);

        /// <summary>A block written as it is: done at once, never claimed by a helper.</summary>
        public void MarkStored()
        {
            CompressedLength = RunWriter.StoredBlock;
            Volatile.Write(ref _state, Done);
        }
        public bool TryClaim() => Interlocked.CompareExchange(ref _state, Claimed, Ready) == Ready;

        /// <summary>Compresses the claimed block; its bytes are published to the writer with the state.</summary>
        public void Compress(SpillCodec codec)
        {
            try
            {
                int max = SpillCodec.MaximumOutputSize(Raw.Length);
                if (Compressed.Length < max) Compressed = new byte[max];
                CompressedLength = codec.Compress(Raw.Span, Compressed);
            }
            catch
            {
                Volatile.Write(ref _state, Ready); // the writer compresses it, or fails as it would have
                throw;
            }
            Volatile.Write(ref _state, Done);
        }

        public void Reset(int blockSize)
        {
            Raw.Clear();
            Raw.TrimTo(blockSize + 64);
            if (Compressed.Length > SpillCodec.MaximumOutputSize(blockSize + 64) * 2)
                Compressed = new byte[SpillCodec.MaximumOutputSize(blockSize + 64)];
            Volatile.Write(ref _state, Free);
        }
    }
}

/// <summary>
/// The blocks of the run readers a sorter opens, given back as each reader is disposed: a merge in levels opens
/// fan-in readers per merge, and every reader's two blocks were garbage after it (a 1 GB build at a 64 MB budget,
/// 618 runs: 80 MB of it in its merges, which the collector let pile up far past the budget).
/// </summary>
internal sealed class RunBlockPool(int blockSize)
{
    private readonly Stack<byte[]> _raw = new(), _compressed = new();

    // Each with room for the next block's header, read with the block (RunReader).
    public int RawSize { get; } = blockSize + 64 + RunReader.HeaderSize;
    public int CompressedSize { get; } = SpillCodec.MaximumOutputSize(blockSize + 64) + RunReader.HeaderSize;

    public byte[] RentRaw() => Rent(_raw, RawSize);
    public byte[] RentCompressed() => Rent(_compressed, CompressedSize);

    /// <summary>Blocks allocated so far (tests).</summary>
    public int Allocated => _allocated;
    private int _allocated;

    private byte[] Rent(Stack<byte[]> free, int size)
    {
        lock (free)
            if (free.TryPop(out var b)) return b;
        Interlocked.Increment(ref _allocated);
        return GC.AllocateUninitializedArray<byte>(size);
    }

    /// <summary>Takes back a block of its size (one grown for a large record is left to the collector).</summary>
    public void Return(byte[] block)
    {
        var free = block.Length == RawSize ? _raw : block.Length == CompressedSize ? _compressed : null;
        if (free is null) return;
        lock (free) free.Push(block);
    }
}

/// <summary>Reads a spill run back, one decompressed block in memory at a time.</summary>
internal sealed class RunReader : RecordStream
{
    /// <summary>A block's header: its raw and its compressed length.</summary>
    internal const int HeaderSize = 8;

    /// <summary>
    /// The memory an open run takes: a raw and a compressed block and the reader's objects (more only for a block
    /// that holds a single record larger than the block size). The merge's fan-in is set by it. The file is read
    /// by position, without a buffer of its own: each block is read with the next one's header in one call.
    /// </summary>
    public static long MemoryPerRun(int blockSize) => (blockSize + 64L + HeaderSize) + SpillCodec.MaximumOutputSize(blockSize + 64) + HeaderSize + 2048;

    private readonly Microsoft.Win32.SafeHandles.SafeFileHandle _file;
    private readonly string _path;
    private readonly RunBlockPool? _pool;
    private byte[] _raw;
    private byte[] _compressed;
    private int _rawLength;
    private int _pos;
    // Where the next block's header is, and whether it was read already (with the block before).
    private long _next;
    private readonly byte[] _header = new byte[HeaderSize];
    private bool _headerRead, _cutInHeader;

    private readonly SpillCodec _codec;

    public RunReader(string path, int blockSize, SpillCodec? codec = null, RunBlockPool? pool = null)
    {
        _codec = codec ?? SpillCodec.Preferred;
        _path = path;
        _pool = pool;
        _file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        _raw = pool?.RentRaw() ?? new byte[blockSize + 64 + HeaderSize];
        _compressed = pool?.RentCompressed() ?? new byte[SpillCodec.MaximumOutputSize(blockSize + 64) + HeaderSize];
    }

    // For a build written in two halves (KeyHalves). Keys at or above a limit first appear in the last block
    // whose first key is below it, or after: the first half's reader compares keys only in that block and
    // reads none after it; the second half's starts there, past the keys below. No wrapper stream a record.
    private byte[]? _limit;
    private long _limitBlock = long.MaxValue;
    private bool _checking, _ended;

    /// <summary>The run's records whose keys are below <paramref name="limit"/>.</summary>
    public static RunReader Below(RunIndex index, int blockSize, byte[] limit, RunBlockPool? pool = null) =>
        new(index.Path, blockSize, pool: pool) { _limit = limit, _limitBlock = index.StartFor(limit) };

    /// <summary>The run's records from the first whose key is at or above <paramref name="key"/>.</summary>
    public static RunReader From(RunIndex index, int blockSize, byte[] key, RunBlockPool? pool = null)
    {
        var reader = new RunReader(index.Path, blockSize, pool: pool) { _next = index.StartFor(key) };
        while (reader._pos < reader._rawLength || reader.ReadBlock())
        {
            int at = reader._pos;
            reader.MoveNext();
            // The first such record has its key written out: the one before it had a smaller key.
            if (!reader.KeyRepeats && Bytes.Compare(reader.Key, key) >= 0)
            {
                reader._pos = at;
                break;
            }
        }
        return reader;
    }

    [MethodImpl(Hot.Path)]
    public override bool MoveNext()
    {
        if (_pos >= _rawLength && !ReadBlock()) return false;
        var span = _raw.AsSpan(0, _rawLength);
        KeyArray = RowArray = _raw;
        int key = (int)VarInt.Read(span, ref _pos);
        // 0: the key of the record before, which lies in this block (KeyStart and KeyLength still say where).
        KeyRepeats = key == 0;
        if (key != 0)
        {
            KeyLength = key - 1;
            KeyStart = _pos;
            _pos += KeyLength;
            if (_checking && Bytes.Compare(new ReadOnlySpan<byte>(_raw, KeyStart, KeyLength), _limit) >= 0)
            {
                _ended = true;
                _pos = _rawLength = 0;
                return false;
            }
        }
        else if (KeyStart < 0) throw new InvalidDataException($"Spill run {_path} is corrupt: a block's first record repeats a key.");
        RowLength = (int)VarInt.Read(span, ref _pos);
        RowStart = _pos;
        _pos += RowLength;
        return true;
    }

    private bool ReadBlock()
    {
        if (_ended) return false;
        if (_limit is not null)
        {
            if (_next > _limitBlock) return false;
            _checking = _next == _limitBlock;
        }
        if (_cutInHeader) throw new InvalidDataException($"Spill run {_path} is truncated.");
        if (!_headerRead)
        {
            int got = ReadAt(_header, _next, HeaderSize);
            if (got == 0) return false;
            if (got < HeaderSize) throw new InvalidDataException($"Spill run {_path} is truncated.");
        }
        int rawLength = BinaryPrimitives.ReadInt32LittleEndian(_header);
        int compLength = BinaryPrimitives.ReadInt32LittleEndian(_header.AsSpan(4));
        if (rawLength < 0 || compLength < RunWriter.StoredBlock) throw new InvalidDataException($"Spill run {_path} is corrupt.");
        bool stored = compLength == RunWriter.StoredBlock;
        int length = stored ? rawLength : compLength;
        // The block and, in the same call, the next one's header after it.
        if (_raw.Length < rawLength + HeaderSize) _raw = new byte[rawLength + HeaderSize];
        if (!stored && _compressed.Length < compLength + HeaderSize) _compressed = new byte[compLength + HeaderSize];
        var into = (stored ? _raw : _compressed).AsSpan(0, length + HeaderSize);
        int read = ReadAt(into, _next + HeaderSize, length);
        if (read < length) throw new InvalidDataException($"Spill run {_path} is truncated.");
        _headerRead = read == length + HeaderSize;
        if (_headerRead) into.Slice(length, HeaderSize).CopyTo(_header);
        _cutInHeader = read > length && !_headerRead; // said after this block's records, as a read of the header alone would
        _next += HeaderSize + length;
        if (!stored)
        {
            int n = _codec.Decompress(_compressed.AsSpan(0, compLength), _raw.AsSpan(0, rawLength));
            if (n != rawLength) throw new InvalidDataException($"Spill run {_path} is corrupt.");
        }
        _rawLength = rawLength;
        _pos = 0;
        KeyStart = -1; // the block's first record must have its key
        return true;
    }

    // At least `atLeast` bytes into `into` from `offset`, fewer only at the file's end.
    private int ReadAt(Span<byte> into, long offset, int atLeast)
    {
        int total = 0;
        while (total < atLeast)
        {
            int n = RandomAccess.Read(_file, into[total..], offset + total);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    public override void Dispose()
    {
        _file.Dispose();
        if (_pool is { } pool)
        {
            pool.Return(_raw);
            pool.Return(_compressed);
            _raw = _compressed = [];
            _rawLength = _pos = 0;
        }
    }
}

/// <summary>
/// K-way merge of sorted streams by (key, stream index). Streams are given in arrival order, so equal
/// keys come out in arrival order: the order of records inside a group is the input order.
/// </summary>
internal sealed class MergeStream : RecordStream
{
    private readonly RecordStream[] _streams;
    private readonly int[] _heap;
    private int _size;
    private bool _started;

    public MergeStream(IReadOnlyList<RecordStream> streams)
    {
        _streams = streams.ToArray();
        _heap = new int[_streams.Length];
    }

    [MethodImpl(Hot.Path)]
    public override bool MoveNext()
    {
        if (!_started)
        {
            _started = true;
            for (int i = 0; i < _streams.Length; i++)
                if (_streams[i].MoveNext()) _heap[_size++] = i;
            for (int i = _size / 2 - 1; i >= 0; i--) SiftDown(i);
        }
        else
        {
            if (_size == 0) return false;
            var top = _streams[_heap[0]];
            if (!top.MoveNext())
            {
                _heap[0] = _heap[--_size];
                if (_size == 0) return false;
            }
            else if (top.KeyRepeats)
            {
                // The same key from the same stream is still the smallest (key, stream): no comparison.
                CurrentFrom(top);
                KeyRepeats = true;
                return true;
            }
            SiftDown(0);
        }
        if (_size == 0) return false;
        CurrentFrom(_streams[_heap[0]]);
        KeyRepeats = false;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Less(int a, int b)
    {
        int c = CompareKeys(_streams[a], _streams[b]);
        return c < 0 || (c == 0 && a < b);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SiftDown(int i)
    {
        while (true)
        {
            int l = 2 * i + 1, r = l + 1, m = i;
            if (l < _size && Less(_heap[l], _heap[m])) m = l;
            if (r < _size && Less(_heap[r], _heap[m])) m = r;
            if (m == i) return;
            (_heap[i], _heap[m]) = (_heap[m], _heap[i]);
            i = m;
        }
    }

    public override void Dispose()
    {
        foreach (var s in _streams) s.Dispose();
    }
}
