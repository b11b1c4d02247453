using Grouper.Util;
using System.Runtime.CompilerServices;
using System.Buffers;
using System.Buffers.Binary;
using Parquet.Meta;
using Grouper.Schema;
using Parquet.Schema;

namespace Grouper.Format;

/// <summary>
/// One text or binary column of a row group, encoded as it is filled: the values go straight into a PLAIN
/// page (4-byte length, bytes), and the page is compressed and written as one column chunk, with the page
/// header and the column chunk's metadata that Parquet.Net writes for such a column (the mirror of
/// <see cref="PlainTextChunk"/>). Handing Parquet.Net slices of the values cost a copy into an arena, a
/// slice per value, ~200 bytes of garbage per record and generic code compiled at run time: writing the
/// chunks here took 28% off a 1 GB build's CPU. A test checks the shards are the bytes Parquet.Net writes.
/// <para>
/// Values may be written as a dictionary instead, in two ways, each kept only in the row groups where it
/// pays (<see cref="DictionaryPolicy"/>). Runs: a value equal to the one before is not stored again but
/// counted; the group key, and the column it was taken from, repeat one value per group in key order, and
/// when a row group's runs are at most half its values and ascend (so that no value is in two runs), the
/// stored values are the dictionary page as they lie and the rows one RLE run of indexes per run. A small
/// set: a column of few distinct values (a label, a category) keeps each value once, found by a slot of
/// its length and end bytes, and the rows are bit-packed indexes. Both are RLE_DICTIONARY, which every
/// Parquet engine reads. A key column then costs a few bytes per group, a label column a few bits per row,
/// instead of their text on every row, and neither its copy nor its compression. Otherwise the values are
/// written PLAIN, runs and indexes spelt out again.
/// </para>
/// </summary>
internal sealed class ByteArrayChunk : OwnChunk
{
    private readonly bool _statistics;
    private readonly DictionaryPolicy? _policy;

    // The page: definition levels are placed just before the values once they are known, in the room left at
    // the start. It holds the values in PLAIN layout: every one, or each run's first, or each of a set once.
    private byte[] _page = new byte[1 << 16];
    private int _reserve;
    private int _length;

    // How this row group's values are kept: tried is the way it started with (a set may overflow into PLAIN).
    private ChunkMode _mode, _tried;

    // Runs of equal (non-null) values: where each one's value is in the page, and how many values it has.
    private int[] _runAt = new int[256];
    private int[] _runLength = new int[256];
    private int _runs;
    private bool _ascending = true;

    // A small set: its distinct values (where they are in the page), a slot per hash of a value's length and
    // end bytes (entry + 1, 0 for none; a collision leaves the first), and each non-null value's index.
    private const int MaxSet = 64;
    private readonly int[] _setAt = new int[MaxSet];
    private readonly byte[] _slots = new byte[256];
    private int _setCount;
    private byte[] _indexes = new byte[1024];
    private int _indexCount;

    // The page written when runs or indexes are spelt out again or the rows are dictionary indexes (levels included).
    private byte[] _spelt = [];

    // Minimum and maximum value (offsets of their length prefixes in the page), for the key column only.
    private int _minAt = -1, _maxAt = -1;

    // statistics: keep min and max values (Parquet.Net writes them for string fields: the key column).
    // dictionaries: when to try a dictionary, shared by the column's chunks in every slot (null: never; always PLAIN, as Parquet.Net writes).
    public ByteArrayChunk(DataField field, bool nullable, bool statistics, CompressionCodec codec, DictionaryPolicy? dictionaries = null)
        : base(field, nullable, codec, Parquet.Meta.Type.BYTE_ARRAY)
    {
        _statistics = statistics;
        _policy = dictionaries;
        _mode = _tried = dictionaries?.Next ?? ChunkMode.Plain;
        _reserve = nullable ? 64 : 0;
        _length = _reserve;
    }

    public override void Reset(int capacity)
    {
        ResetRows(capacity);
        _length = _reserve;
        _minAt = _maxAt = -1;
        _runs = 0;
        _ascending = true;
        _mode = _tried = _policy?.Next ?? ChunkMode.Plain;
        if (_setCount > 0) Array.Clear(_slots);
        _setCount = 0;
        _indexCount = 0;
    }

    // Strings are the one type other values are never silently turned into.
    public override void AppendScalar(int row, in Scalar s, ValueKind tag) =>
        throw new InvalidDataException($"Column '{Field.Name}' holds strings or binary values but a record has a {tag.ToName()} value.");

    [MethodImpl(Hot.Path)]
    public override void AppendBytes(int row, ReadOnlySpan<byte> bytes, ValueKind tag) => Append(bytes);

    /// <summary>A value. Only columns trying a dictionary look at values (<see cref="DictionaryPolicy"/>): comparing every value of every column with the one before cost more than the runs it found saved.</summary>
    [MethodImpl(Hot.Path | MethodImplOptions.AggressiveInlining)]
    public void Append(ReadOnlySpan<byte> bytes)
    {
        if (_mode != ChunkMode.Plain)
        {
            AppendCoded(bytes);
            return;
        }
        Define();
        int at = Store(bytes);
        if (_statistics) NoteMinMax(bytes, at);
    }

    [MethodImpl(Hot.Path)]
    private void AppendCoded(ReadOnlySpan<byte> bytes)
    {
        Define();
        if (_mode == ChunkMode.Runs)
        {
            if (_runs > 0)
            {
                int order = Bytes.Compare(bytes, ValueAt(_runAt[_runs - 1]));
                if (order == 0)
                {
                    _runLength[_runs - 1]++;
                    return;
                }
                if (order < 0) _ascending = false;
            }
        }
        else
        {
            int found = FindInSet(bytes);
            if (found >= 0)
            {
                AddIndex(found);
                return;
            }
            if (_setCount == MaxSet) LeaveSet();
        }
        // One call of Store only: a second one made the inliner give up on it (and on what it calls).
        int at = Store(bytes);
        if (_statistics) NoteMinMax(bytes, at);
        if (_mode == ChunkMode.Runs) AddRun(at);
        else if (_mode == ChunkMode.Set)
        {
            ref byte slot = ref _slots[SlotOf(bytes)];
            if (slot == 0) slot = (byte)(_setCount + 1);
            _setAt[_setCount] = at;
            AddIndex(_setCount++);
        }
    }

    /// <summary>
    /// A row's group key, <paramref name="same"/> when it is the previous row's: the writer knows where
    /// groups start, so the key column's runs need no comparison.
    /// </summary>
    [MethodImpl(Hot.Path)]
    public void AppendKey(ReadOnlySpan<byte> key, bool same)
    {
        if (same && _mode == ChunkMode.Runs && _runs > 0)
        {
            _rows++; // the key is never null
            _runLength[_runs - 1]++;
        }
        else Append(key);
    }

    /// <summary>Decides whether the row group is written as a dictionary, and tells the column's policy whether the way it tried paid.</summary>
    public override void Seal()
    {
        int values = _rows - _nulls;
        _dictionary = _mode switch
        {
            ChunkMode.Runs => _ascending && _runs > 0 && _runs <= values / 2,
            ChunkMode.Set => _setCount > 0 && _setCount <= values / 2,
            _ => false,
        };
        _policy?.Observe(_tried, _dictionary);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SlotOf(ReadOnlySpan<byte> bytes) => bytes.IsEmpty ? 0 : (bytes.Length * 31 + bytes[0] * 7 + bytes[^1]) & 0xFF;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int FindInSet(ReadOnlySpan<byte> bytes)
    {
        int slot = _slots[SlotOf(bytes)];
        if (slot == 0) return -1; // no value of this slot yet, so not this one
        if (Bytes.Equal(bytes, ValueAt(_setAt[slot - 1]))) return slot - 1;
        for (int i = 0; i < _setCount; i++)
            if (Bytes.Equal(bytes, ValueAt(_setAt[i]))) return i;
        return -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void AddIndex(int index)
    {
        if (_indexCount == _indexes.Length) Array.Resize(ref _indexes, _indexCount * 2);
        _indexes[_indexCount++] = (byte)index;
    }

    // Too many distinct values: the values so far are spelt out as a PLAIN page and the rest stored as they come.
    private void LeaveSet()
    {
        int end = SpellSet(_reserve);
        (_page, _spelt) = (_spelt, _page);
        _length = end;
        _mode = ChunkMode.Plain;
    }

    // Spells the set's values out, in row order, into _spelt from `at` on; returns where they end.
    private int SpellSet(int at)
    {
        long size = at;
        for (int i = 0; i < _indexCount; i++) size += 4 + BinaryPrimitives.ReadInt32LittleEndian(_page.AsSpan(_setAt[_indexes[i]]));
        if (size > Array.MaxLength) throw new InvalidDataException($"Column '{Field.Name}' has more than 2 GB of values in one row group.");
        // Room for the page to grow as it did (LeaveSet makes it the page values are then stored in).
        long room = Math.Max(size, _page.Length);
        if (_spelt.Length < room) _spelt = new byte[room];
        int n = at;
        for (int i = 0; i < _indexCount; i++)
        {
            int from = _setAt[_indexes[i]];
            int length = 4 + BinaryPrimitives.ReadInt32LittleEndian(_page.AsSpan(from));
            Buffer.BlockCopy(_page, from, _spelt, n, length);
            n += length;
        }
        return n;
    }

    // Writes the value at the end of the page; returns where. Kept this small so that the JIT inlines it
    // (with the statistics in it, it stayed a call, run as ReadyToRun code for much of a build).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Store(ReadOnlySpan<byte> bytes)
    {
        if (_page.Length - _length < bytes.Length + 4) Grow(bytes.Length + 4);
        int at = _length;
        BinaryPrimitives.WriteInt32LittleEndian(_page.AsSpan(at), bytes.Length);
        Bytes.Copy(bytes, _page.AsSpan(at + 4));
        _length = at + 4 + bytes.Length;
        return at;
    }

    // A stored value (at `at`) that may be a new minimum or maximum: the key column's statistics.
    private void NoteMinMax(ReadOnlySpan<byte> bytes, int at)
    {
        if (_minAt < 0 || Bytes.Compare(bytes, ValueAt(_minAt)) < 0) _minAt = at;
        if (_maxAt < 0 || Bytes.Compare(bytes, ValueAt(_maxAt)) > 0) _maxAt = at;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void AddRun(int at)
    {
        if (_runs == _runAt.Length)
        {
            Array.Resize(ref _runAt, _runs * 2);
            Array.Resize(ref _runLength, _runs * 2);
        }
        _runAt[_runs] = at;
        _runLength[_runs++] = 1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<byte> ValueAt(int at) => _page.AsSpan(at + 4, BinaryPrimitives.ReadInt32LittleEndian(_page.AsSpan(at)));

    private void Grow(int needed)
    {
        long size = Math.Max((long)_page.Length * 2, (long)_length + needed);
        if (size > Array.MaxLength) throw new InvalidDataException($"Column '{Field.Name}' has more than 2 GB of values in one row group.");
        Array.Resize(ref _page, (int)size);
    }

    /// <summary>Writes the chunk (its dictionary page if it has one, then its data page) at the end of the row group's body.</summary>
    [MethodImpl(Hot.Path)]
    public override void Encode(EncodedRowGroup rowGroup)
    {
        int values = _rows - _nulls;
        BeginChunk(rowGroup);
        ReadOnlySpan<byte> page;
        if (_dictionary)
        {
            // is_sorted: runs' values ascend; a set's are in the order they came.
            WriteDictionaryPage(rowGroup, _page.AsSpan(_reserve, _length - _reserve), _mode == ChunkMode.Runs ? _runs : _setCount, sorted: _mode == ChunkMode.Runs);
            page = _mode == ChunkMode.Runs ? SpellRunIndexes() : PackSetIndexes();
        }
        else if (_mode == ChunkMode.Set)
        {
            var levels = EncodeLevels();
            int end = SpellSet(levels.Length);
            levels.CopyTo(_spelt);
            page = _spelt.AsSpan(0, end);
        }
        else if (_mode == ChunkMode.Runs && _runs != values) page = SpellRuns();
        else page = LevelsInPlace();
        WriteDataPage(rowGroup, page);
    }

    // The page as it was filled, its definition levels written into the room before the values.
    private ReadOnlySpan<byte> LevelsInPlace()
    {
        var page = LevelsBefore(ref _page, ref _reserve, ref _length, out int moved);
        if (moved > 0)
        {
            if (_minAt >= 0) { _minAt += moved; _maxAt += moved; }
            for (int i = 0; i < _runs; i++) _runAt[i] += moved;
        }
        return page;
    }

    // A PLAIN page with every value, each run's value repeated as many times as it occurred.
    private Span<byte> SpellRuns()
    {
        long size = 0;
        for (int i = 0; i < _runs; i++) size += (long)(4 + BinaryPrimitives.ReadInt32LittleEndian(_page.AsSpan(_runAt[i]))) * _runLength[i];
        int n = BeginSpelt(size);
        for (int i = 0; i < _runs; i++)
        {
            var value = _page.AsSpan(_runAt[i], 4 + BinaryPrimitives.ReadInt32LittleEndian(_page.AsSpan(_runAt[i])));
            for (int k = 0; k < _runLength[i]; k++)
            {
                value.CopyTo(_spelt.AsSpan(n));
                n += value.Length;
            }
        }
        return _spelt.AsSpan(0, n);
    }

    // A data page of dictionary indexes: the levels, the indexes' bit width, then one RLE run per run of
    // values (header: its length shifted left once; then its index, little-endian, in whole bytes).
    private Span<byte> SpellRunIndexes()
    {
        int width = IndexWidth(_runs);
        int bytes = (width + 7) / 8;
        int n = BeginSpelt(1 + (long)_runs * (5 + bytes));
        _spelt[n++] = (byte)width;
        for (int i = 0; i < _runs; i++)
        {
            n += Util.VarInt.Write(_spelt.AsSpan(n), (ulong)_runLength[i] << 1);
            for (int b = 0; b < bytes; b++) _spelt[n++] = (byte)(i >> (8 * b));
        }
        return _spelt.AsSpan(0, n);
    }

    // A data page of set indexes: the levels, the indexes' bit width, then bit-packed runs of at most 63
    // groups of 8 indexes (one header byte each, as Arrow writes them), the last group padded with zeros.
    private Span<byte> PackSetIndexes()
    {
        int width = IndexWidth(_setCount);
        int groups = (_indexCount + 7) / 8;
        int n = BeginSpelt(1 + groups * (long)width + groups / 63 + 1);
        _spelt[n++] = (byte)width;
        for (int group = 0; group < groups; group += 63)
        {
            int count = Math.Min(63, groups - group);
            _spelt[n++] = (byte)(count << 1 | 1);
            ulong bits = 0;
            int held = 0;
            for (int i = group * 8, end = (group + count) * 8; i < end; i++)
            {
                bits |= (ulong)(i < _indexCount ? _indexes[i] : 0) << held;
                held += width;
                while (held >= 8)
                {
                    _spelt[n++] = (byte)bits;
                    bits >>= 8;
                    held -= 8;
                }
            }
        }
        return _spelt.AsSpan(0, n);
    }

    // Starts a page in _spelt with room for `values` bytes after the definition levels (of a nullable column),
    // which it writes; returns where the values go.
    private int BeginSpelt(long values)
    {
        var levels = EncodeLevels();
        long size = levels.Length + values;
        if (size > Array.MaxLength) throw new InvalidDataException($"Column '{Field.Name}' has more than 2 GB of values in one row group.");
        if (_spelt.Length < size) _spelt = new byte[Math.Max(size, Math.Min(Array.MaxLength, _spelt.Length * 2L))];
        levels.CopyTo(_spelt);
        return levels.Length;
    }

    // Bits per dictionary index for a dictionary of `entries` values (at least one, as readers expect).
    private static int IndexWidth(int entries) => Math.Max(1, 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)(entries - 1)));

    protected override void WriteStatistics(ref ThriftCompact.Writer w)
    {
        bool bounded = _statistics && _minAt >= 0;
        WriteStatistics(ref w, bounded, bounded ? ValueAt(_minAt) : [], bounded ? ValueAt(_maxAt) : []);
    }
}

/// <summary>How a chunk keeps a row group's values: as they come, in runs, or as indexes into a small set.</summary>
internal enum ChunkMode : byte { Plain, Runs, Set }

/// <summary>
/// Which way a text column's chunks try to make a dictionary of the next row group. Looking at values costs
/// a comparison, or a slot and a comparison, per value and pays only where they fit: the group key always
/// in runs; a column holding the key's text, or one value per group, in runs in most row groups; a label
/// or category column as a set; other columns never. A column keeps the way that pays; when runs do not,
/// it tries a set; when neither does, it skips a row group, then two, four, up to 64 between tries (a key
/// column fails where the null group's rows are). Decided on the thread that fills the row groups, in their
/// order: the shards' bytes do not depend on timing or cores.
/// </summary>
internal sealed class DictionaryPolicy(bool keyColumn)
{
    private const int MaxSkip = 64;
    private int _skip = 1, _left;

    /// <summary>The way the next row group tries.</summary>
    public ChunkMode Next { get; private set; } = ChunkMode.Runs;

    public void Observe(ChunkMode tried, bool paid)
    {
        if (keyColumn) return;
        switch (tried)
        {
            case ChunkMode.Runs when paid:
            case ChunkMode.Set when paid:
                _skip = 1;
                break;
            case ChunkMode.Runs:
                Next = ChunkMode.Set;
                break;
            case ChunkMode.Set:
                Next = ChunkMode.Plain;
                _left = _skip;
                _skip = Math.Min(MaxSkip, _skip * 2);
                break;
            default:
                if (--_left <= 0) Next = ChunkMode.Runs;
                break;
        }
    }
}
