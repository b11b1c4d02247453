using Grouper.Util;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Grouper.Writer;

/// <summary>
/// The in-memory part of the external group-by: encoded records packed into large byte chunks plus
/// one small entry per record, sorted by (key, arrival) when full. Its size, chunks and entries
/// together, never exceeds the capacity it was given (but for one record larger than that).
/// </summary>
internal sealed class SortBuffer
{
    internal struct Entry
    {
        public ulong Prefix;   // 8 key bytes after the buffer's common prefix, big-endian, so most comparisons never touch the chunks
        public int Chunk;
        public int Offset;
        public int KeyLength;
        public int RowLength;
        public int Seq;
    }

    private readonly long _capacity;
    // What the buffer may take before it is spilled: half its capacity for its first two fills, then all of
    // it (Grow). Every page a buffer touches for the first time costs a fault (on this project's build
    // machine a host fault, 7 µs a 4 KB page) and a spilled buffer's pages are used again; an input about the
    // budget's size then touches less memory, and sorts a smaller buffer at its end, on the way to the
    // merge: 100 MB builds 14-15% shorter, a larger input spills two more runs, which its merge does not feel.
    private long _limit;
    private int _fills;
    private readonly int _chunkSize;
    private readonly List<byte[]> _chunks = new();
    private int _chunkIndex;     // chunk being filled
    private int _chunkOffset;
    private Entry[] _entries = new Entry[1024];
    private int _count;
    private long _chunkBytes;
    // Keys often share a long prefix ("user_000…"): the sort prefix starts after the bytes all keys of the
    // buffer share, so that it tells keys apart instead of being equal for nearly every pair.
    private byte[] _firstKey = new byte[64];
    private int _common;
    // The sort prefix is taken as a record is added, while its key is in the cache (taken by the sort, from
    // records written long before, it was a cache miss a record: close to half the sort). Entries before _stale
    // were given theirs when the common prefix was longer, and get them again; the common prefix of a
    // buffer's keys stops shrinking after its first few records.
    private int _stale;

    /// <param name="capacity">Bytes the buffer may take, its share of the radix sort's scratch included.</param>
    /// <param name="scratch">The radix sort's scratch, shared with the sorter's other buffer (one of its own when null).</param>
    public SortBuffer(long capacity, SortScratch? scratch = null)
    {
        _scratch = scratch ?? new SortScratch();
        _capacity = Math.Max(capacity, 1 << 20);
        _limit = Math.Max(_capacity / 2, 1 << 20);
        _chunkSize = (int)Math.Clamp(_capacity / 16, 64 << 10, 8 << 20);
    }

    /// <summary>Called once the buffer was spilled: after its second fill it may take its whole capacity.</summary>
    public void Grow()
    {
        if (++_fills >= 2) _limit = _capacity;
    }

    public int Count => _count;

    /// <summary>
    /// What the buffer may take in its current fill: half its capacity in its first two fills (see <see cref="Grow"/>),
    /// and never more than its capacity less what it gives up to its source (<see cref="Reserve"/>), down to a
    /// quarter of it. The half-size fills leave room for a source already: a build of an input about the budget's
    /// size, whose buffers are filled a few times, keeps its runs and its speed.
    /// </summary>
    public long Limit => Math.Min(_limit, Math.Max(_capacity - _reserve, _capacity / 4));

    private long _reserve;

    /// <summary>
    /// Memory the buffer leaves to its source, which holds more than its share of the budget (a Parquet row group
    /// of long text or nested columns); set by the filling thread. A buffer holding more is spilled at its next
    /// record, and gives chunks back before it is filled again (<see cref="Fit"/>).
    /// </summary>
    public long Reserve
    {
        get => _reserve;
        set => _reserve = Math.Max(0, value);
    }
    // An entry is 32 bytes, and the radix sort needs as many again for its scratch copy (shared by the
    // sorter's two buffers, but counted in each: the capacity stays an upper bound).
    internal const int EntryCost = 64;
    public long MemoryUsed => _chunkBytes + NextChunkBytes + (long)_entries.Length * EntryCost;

    // While a buffer fills for the first time, the chunk after the current one is allocated and its pages
    // written once on a pool thread (Prefault.TouchedBytes): on a virtual machine that backs memory lazily,
    // the first write to a page costs a fault in the host, and copying records into fresh chunks ran at a
    // fortieth of its speed (a fifth of a 100 MB build's reading thread). Counted in MemoryUsed meanwhile.
    private Task<byte[]>? _nextChunk;
    private long NextChunkBytes => _nextChunk is null ? 0 : _chunkSize;

    /// <summary>Chunks allocated, the one being prepared ahead included (for tests: MemoryUsed must cover them).</summary>
    internal long ChunkBytesAllocated => _chunkBytes + NextChunkBytes;

    /// <summary>The chunk prepared ahead, when one is and it holds <paramref name="need"/> bytes (null otherwise).</summary>
    private byte[]? TakeNextChunk(int need)
    {
        var next = _nextChunk;
        if (next is null) return null;
        _nextChunk = null;
        var chunk = next.GetAwaiter().GetResult();
        return chunk.Length >= need ? chunk : null;
    }

    /// <summary>Starts preparing the next chunk, when the buffer has room for it.</summary>
    private void PrepareNextChunk()
    {
        int size = _chunkSize;
        if (_nextChunk is not null || MemoryUsed + size > Limit) return;
        _nextChunk = Util.Workers.Run(() => Util.Prefault.TouchedBytes(size));
    }
    public bool IsEmpty => _count == 0;

    /// <summary>True when adding a record of this size would break the capacity; the caller spills first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool WouldOverflow(int keyLength, int rowLength)
    {
        if (_count == 0) return false;
        int need = keyLength + rowLength;
        bool fitsChunk = _chunkIndex < _chunks.Count && _chunkOffset + need <= _chunks[_chunkIndex].Length
            || _chunkIndex + 1 < _chunks.Count && need <= _chunks[_chunkIndex + 1].Length;
        // A chunk prepared ahead is counted already.
        long more = fitsChunk || _nextChunk is not null && need <= _chunkSize ? 0 : Math.Max(need, _chunkSize);
        long entries = _count == _entries.Length ? (long)_entries.Length * EntryCost : 0;
        return MemoryUsed + more + entries > Limit;
    }

    [MethodImpl(Hot.Path)]
    public void Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> row)
    {
        int need = key.Length + row.Length;
        if (_chunkIndex >= _chunks.Count || _chunkOffset + need > _chunks[_chunkIndex].Length)
        {
            if (_chunkIndex < _chunks.Count) _chunkIndex++;
            _chunkOffset = 0;
            if (_chunkIndex < _chunks.Count && _chunks[_chunkIndex].Length < need)
            {
                // A reused chunk too small for this record: replace it.
                _chunkBytes -= _chunks[_chunkIndex].Length;
                _chunks[_chunkIndex] = Util.Prefault.Bytes(Math.Max(need, _chunkSize));
                _chunkBytes += _chunks[_chunkIndex].Length;
            }
            else if (_chunkIndex >= _chunks.Count)
            {
                var c = TakeNextChunk(need) ?? Util.Prefault.Bytes(Math.Max(need, _chunkSize));
                _chunks.Add(c);
                _chunkBytes += c.Length;
                PrepareNextChunk();
            }
        }
        if (_count == 0)
        {
            _common = Math.Min(key.Length, _firstKey.Length);
            key[.._common].CopyTo(_firstKey);
            _stale = 0;
        }
        else if (_common > 0)
        {
            int common = Bytes.CommonPrefix(key[..Math.Min(key.Length, _common)], _firstKey.AsSpan(0, _common));
            if (common < _common)
            {
                _common = common;
                _stale = _count; // their prefixes start at the old common length
            }
        }
        var chunk = _chunks[_chunkIndex];
        Bytes.Copy(key, chunk.AsSpan(_chunkOffset));
        Bytes.Copy(row, chunk.AsSpan(_chunkOffset + key.Length));

        if (_count == _entries.Length)
        {
            var larger = Util.Prefault.Array<Entry>(_entries.Length * 2);
            _entries.AsSpan().CopyTo(larger);
            _entries = larger;
        }
        _entries[_count] = new Entry
        {
            Prefix = PrefixOf(key[_common..]),
            Chunk = _chunkIndex,
            Offset = _chunkOffset,
            KeyLength = key.Length,
            RowLength = row.Length,
            Seq = _count,
        };
        _count++;
        _chunkOffset += need;
        IsSorted = false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong PrefixOf(ReadOnlySpan<byte> key)
    {
        if (key.Length >= 8) return BinaryPrimitives.ReadUInt64BigEndian(key);
        // Shorter keys are padded with zero bytes on the right (no stackalloc: it kept this from being inlined).
        ulong p = 0;
        for (int i = 0; i < key.Length; i++) p |= (ulong)key[i] << (56 - 8 * i);
        return p;
    }

    /// <summary>True after <see cref="Sort"/> until a record is added.</summary>
    public bool IsSorted { get; private set; }

    [MethodImpl(Hot.Path)]
    public void Sort()
    {
        var entries = _entries.AsSpan(0, _count);
        for (int i = 0; i < _stale; i++)
        {
            ref var e = ref entries[i];
            e.Prefix = PrefixOf(_chunks[e.Chunk].AsSpan(e.Offset + _common, e.KeyLength - _common));
        }
        _stale = 0;
        RadixSortByPrefix(entries);
        // Equal prefixes are in arrival order now. That is the final order when their keys are equal;
        // keys that go on past the prefix, or differ only in trailing zero bytes, are sorted fully.
        var comparer = new EntryComparer(_chunks, _common);
        int whole = _common + 8;
        for (int i = 0; i < entries.Length;)
        {
            int j = i + 1;
            bool sameKeys = entries[i].KeyLength <= whole;
            while (j < entries.Length && entries[j].Prefix == entries[i].Prefix)
            {
                sameKeys &= entries[j].KeyLength == entries[i].KeyLength;
                j++;
            }
            if (j - i > 1 && !sameKeys) entries[i..j].Sort(comparer);
            i = j;
        }
        IsSorted = true;
    }

    /// <summary>
    /// The radix sort's scratch copy of the entries. The sorter's two buffers share one: they are sorted one
    /// at a time (the reader sorts only while the other buffer is being written out, already sorted, and the
    /// spilling thread only a buffer it was handed), so a second copy was memory never used at the same time
    /// (8 MB of a 256 MB budget's build). A lock keeps that true whatever the threads' timing.
    /// </summary>
    internal sealed class SortScratch
    {
        internal Entry[] Entries = new Entry[0]; // not [] (Array.Empty): its generic holder of a value type is compiled on first use
    }

    private readonly SortScratch _scratch;

    /// <summary>
    /// Least-significant-byte-first radix sort on the 8-byte prefix: stable, so records with equal prefixes
    /// keep their arrival order without comparing sequence numbers. The eight bytes' counts are taken in one
    /// pass over the entries, and a byte that is the same in every entry costs no pass at all (a key's prefix
    /// after the buffer's common one often has three or four bytes that differ: a pass for each byte was
    /// twelve passes over the entries where five do).
    /// </summary>
    [MethodImpl(Hot.Path)]
    private void RadixSortByPrefix(Span<Entry> entries)
    {
        if (entries.Length < 2) return;
        lock (_scratch)
        {
            if (_scratch.Entries.Length < entries.Length) _scratch.Entries = Util.Prefault.Array<Entry>(_entries.Length);
            RadixSortByPrefix(entries, _scratch.Entries.AsSpan(0, entries.Length));
        }
    }

    [MethodImpl(Hot.Path)]
    private static void RadixSortByPrefix(Span<Entry> entries, Span<Entry> scratch)
    {
        Span<int> counts = stackalloc int[8 * 256];
        counts.Clear();
        foreach (ref readonly var e in entries)
        {
            ulong p = e.Prefix;
            counts[(int)(p & 0xFF)]++;
            counts[256 + (int)(p >> 8 & 0xFF)]++;
            counts[512 + (int)(p >> 16 & 0xFF)]++;
            counts[768 + (int)(p >> 24 & 0xFF)]++;
            counts[1024 + (int)(p >> 32 & 0xFF)]++;
            counts[1280 + (int)(p >> 40 & 0xFF)]++;
            counts[1536 + (int)(p >> 48 & 0xFF)]++;
            counts[1792 + (int)(p >> 56)]++;
        }
        Span<Entry> src = entries, dst = scratch;
        bool inScratch = false;
        for (int b = 0; b < 8; b++)
        {
            int shift = b * 8;
            var c = counts.Slice(b * 256, 256);
            if (c[(int)(src[0].Prefix >> shift) & 0xFF] == src.Length) continue; // all alike in this byte
            int sum = 0;
            for (int d = 0; d < 256; d++) { int n = c[d]; c[d] = sum; sum += n; }
            foreach (ref readonly var e in src) dst[c[(int)(e.Prefix >> shift) & 0xFF]++] = e;
            var t = src; src = dst; dst = t;
            inScratch = !inScratch;
        }
        if (inScratch) src.CopyTo(entries);
    }

    // A struct comparer lets the JIT specialise and inline the sort's comparisons.
    private readonly struct EntryComparer(List<byte[]> chunks, int common) : IComparer<Entry>
    {
        public int Compare(Entry a, Entry b)
        {
            int c = a.Prefix.CompareTo(b.Prefix);
            if (c != 0) return c;
            int whole = common + 8;
            if (a.KeyLength <= whole && b.KeyLength <= whole)
            {
                // Both keys lie within the prefix: equal prefixes mean one key is the other padded with
                // zeros, so the shorter is the smaller, and equal lengths mean equal keys.
                c = a.KeyLength.CompareTo(b.KeyLength);
            }
            else
            {
                c = Bytes.Compare(chunks[a.Chunk].AsSpan(a.Offset + common, a.KeyLength - common),
                    chunks[b.Chunk].AsSpan(b.Offset + common, b.KeyLength - common));
            }
            return c != 0 ? c : a.Seq.CompareTo(b.Seq);
        }
    }

    /// <summary>Empties the buffer but keeps its chunks for the next run.</summary>
    public void Clear()
    {
        IsSorted = false;
        _count = 0;
        _chunkIndex = 0;
        _chunkOffset = 0;
    }

    /// <summary>
    /// Gives back the chunks of an empty buffer past a limit lowered by a reserve: counted in MemoryUsed, they would
    /// have it spilled at its first record. Called by the filling thread, which sets the reserve, before it fills the
    /// buffer: where a buffer is spilled then depends on the records alone, and so do the runs and the shards.
    /// </summary>
    public void Fit()
    {
        if (_count != 0) return;
        long limit = Limit;
        while (_chunks.Count > 0 && MemoryUsed > limit)
        {
            _chunkBytes -= _chunks[^1].Length;
            _chunks.RemoveAt(_chunks.Count - 1);
        }
        if (MemoryUsed > limit && _entries.Length > 1024)
            _entries = new Entry[Math.Max(1024, 1 << BitOperations.Log2((uint)Math.Clamp((limit - NextChunkBytes) / EntryCost, 1, 1 << 30)))];
    }

    /// <summary>Gives the memory back (after the last run).</summary>
    public void Release()
    {
        Clear();
        _chunks.Clear();
        _chunkBytes = 0;
        _nextChunk = null; // one being prepared becomes garbage when done
        _entries = new Entry[16];
        lock (_scratch) _scratch.Entries = new Entry[0];
    }

    private const int PrefetchDistance = 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void Prefetch(int entry)
    {
        if (!Sse.IsSupported) return;
        ref var e = ref _entries[entry];
        // A hint only: an address the collector has since moved the chunk from cannot fault.
        byte* p = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_chunks[e.Chunk])) + e.Offset;
        int length = Math.Min(e.KeyLength + e.RowLength, 512); // the hardware streams on through a longer one
        Sse.Prefetch0(p);
        for (int at = 64; at < length; at += 64) Sse.Prefetch0(p + at);
    }

    /// <summary>Iterates the (sorted) records. The buffer must not change while it is in use.</summary>
    public RecordStream Stream() => new Cursor(this, 0, _count);

    /// <summary>The sorted records whose keys are below <paramref name="key"/>.</summary>
    public RecordStream StreamBelow(ReadOnlySpan<byte> key) => new Cursor(this, 0, FirstAtOrAbove(key));

    /// <summary>The sorted records from the first whose key is at or above <paramref name="key"/>.</summary>
    public RecordStream StreamFrom(ReadOnlySpan<byte> key) => new Cursor(this, FirstAtOrAbove(key), _count);

    private int FirstAtOrAbove(ReadOnlySpan<byte> key)
    {
        int lo = 0, hi = _count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (Bytes.Compare(KeyOf(mid), key) < 0) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    private ReadOnlySpan<byte> KeyOf(int entry)
    {
        ref var e = ref _entries[entry];
        return _chunks[e.Chunk].AsSpan(e.Offset, e.KeyLength);
    }

    /// <summary>
    /// Keys of the sorted records at every <paramref name="every"/>-th byte or so, each with the bytes of the
    /// records from it to the next (for <see cref="KeyHalves.SplitKey"/>).
    /// </summary>
    public void Sample(long every, List<(byte[] Key, long Bytes)> into)
    {
        long bytes = 0;
        int from = 0;
        for (int i = 0; i < _count; i++)
        {
            ref var e = ref _entries[i];
            bytes += e.KeyLength + e.RowLength;
            if (bytes >= every || i == _count - 1)
            {
                into.Add((KeyOf(from).ToArray(), bytes));
                bytes = 0;
                from = i + 1;
            }
        }
    }

    private sealed class Cursor(SortBuffer buffer, int from, int end) : RecordStream
    {
        private int _i = from - 1;

        [MethodImpl(Hot.Path)]
        public override bool MoveNext()
        {
            int i = ++_i;
            if (i >= end) return false;
            // Sorted entries point all over the buffer, so each record is a cache miss (the spill's copy of
            // the records was a tenth of a 1 GB build); asking for one a few entries ahead overlaps them.
            int ahead = i + PrefetchDistance;
            if (ahead < end) buffer.Prefetch(ahead);
            ref var e = ref buffer._entries[i];
            var chunk = buffer._chunks[e.Chunk];
            KeyArray = RowArray = chunk;
            KeyStart = e.Offset;
            KeyLength = e.KeyLength;
            RowStart = e.Offset + e.KeyLength;
            RowLength = e.RowLength;
            return true;
        }
    }
}
