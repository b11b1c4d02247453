using System.Buffers.Binary;
using System.Text;
using Grouper.Util;

namespace Grouper.Format;

/// <summary>One group as the index records it.</summary>
/// <param name="Key">The group key (canonical text).</param>
/// <param name="Ordinal">0-based position of the group in storage order (ordinal order of the keys' UTF-8 bytes).</param>
/// <param name="Shard">The shard holding the group's first record.</param>
/// <param name="RowOffset">Row of the group's first record within that shard (0-based). A group may continue into the following shards.</param>
/// <param name="RecordCount">Number of records.</param>
/// <param name="ByteCount">Encoded record bytes (see docs/format.md).</param>
public sealed record GroupInfo(string Key, long Ordinal, int Shard, long RowOffset, long RecordCount, long ByteCount);

/// <summary>
/// Writes index.gidx: entries in key order packed into blocks, then a directory with each block's
/// first key, then a fixed footer. A reader binary-searches the directory and reads one block.
/// Layout in docs/format.md.
/// </summary>
internal sealed class GroupIndexWriter : IDisposable
{
    internal static ReadOnlySpan<byte> HeaderMagic => "GRPIDX\0\u0001"u8;
    internal static ReadOnlySpan<byte> FooterMagic => "GIDX"u8;
    internal const int FooterSize = 32;
    private const int BlockTarget = 32 << 10;

    private readonly HashingWriteStream _out;
    private readonly ByteBuffer _block = new(BlockTarget + 1024);
    private readonly ByteBuffer _directory = new(4096);
    private byte[] _firstKey = [];
    private int _blockEntries;
    private long _ordinal;
    private long _blockFirstOrdinal;
    private byte[] _lastKey = new byte[64];   // reused: one copy per block, not per group
    private int _lastKeyLength;

    public GroupIndexWriter(string path)
    {
        _out = new HashingWriteStream(new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16));
        _out.Write(HeaderMagic);
    }

    public long GroupCount => _ordinal;
    public string? Checksum { get; private set; }
    public long Length => _out.Length;

    public void Add(ReadOnlySpan<byte> key, int shard, long rowOffset, long count, long bytes)
    {
        if (_appended) throw new InvalidOperationException("Entries cannot be added after another index was appended.");
        if (_ordinal > 0 && Bytes.Compare(key, _lastKey.AsSpan(0, _lastKeyLength)) <= 0)
            throw new InvalidOperationException("Index entries must come in strictly increasing key order.");
        if (_lastKey.Length < key.Length) _lastKey = new byte[Math.Max(key.Length, _lastKey.Length * 2)];
        key.CopyTo(_lastKey);
        _lastKeyLength = key.Length;
        if (_blockEntries == 0)
        {
            _firstKey = key.ToArray();
            _blockFirstOrdinal = _ordinal;
        }
        _block.WriteVarInt((ulong)key.Length);
        _block.Write(key);
        _block.WriteVarInt((ulong)shard);
        _block.WriteVarInt((ulong)rowOffset);
        _block.WriteVarInt((ulong)count);
        _block.WriteVarInt((ulong)bytes);
        _blockEntries++;
        _ordinal++;
        if (_block.Length >= BlockTarget) FlushBlock();
    }

    private void FlushBlock()
    {
        if (_blockEntries == 0) return;
        Faults.Hit("index");
        Span<byte> fixedPart = stackalloc byte[24];
        BinaryPrimitives.WriteInt64LittleEndian(fixedPart, _out.Length);
        BinaryPrimitives.WriteInt32LittleEndian(fixedPart[8..], _block.Length);
        BinaryPrimitives.WriteInt64LittleEndian(fixedPart[12..], _blockFirstOrdinal);
        BinaryPrimitives.WriteInt32LittleEndian(fixedPart[20..], _blockEntries);
        _directory.Write(fixedPart);
        _directory.WriteVarInt((ulong)_firstKey.Length);
        _directory.Write(_firstKey);
        _out.Write(_block.Span);
        _block.Clear();
        _blockEntries = 0;
    }

    private bool _appended;

    /// <summary>
    /// Appends the groups of <paramref name="other"/> after this index's (the second half of a build written in
    /// two halves, whose keys all come after the first's). Its blocks are copied as they are when their shard
    /// numbers are already this dataset's (<paramref name="shardShift"/> 0), entry by entry otherwise.
    /// </summary>
    public void Append(GroupIndexReader other, int shardShift)
    {
        if (shardShift != 0)
        {
            byte[] data = [];
            GroupIndexReader.Entry[] entries = [];
            for (int b = 0; b < other.BlockCount; b++)
            {
                int n = other.ReadBlockEntries(b, ref data, ref entries);
                for (int i = 0; i < n; i++)
                {
                    ref var e = ref entries[i];
                    Add(data.AsSpan(e.KeyStart, e.KeyLength), checked(e.Shard + shardShift), e.RowOffset, e.RecordCount, e.ByteCount);
                }
            }
            _appended = true;
            return;
        }
        FlushBlock();
        if (other.BlockCount > 0 && _ordinal > 0 && Bytes.Compare(other.FirstKey(0), _lastKey.AsSpan(0, _lastKeyLength)) <= 0)
            throw new InvalidOperationException("Index entries must come in strictly increasing key order.");
        byte[] bytes = [];
        Span<byte> fixedPart = stackalloc byte[24];
        for (int b = 0; b < other.BlockCount; b++)
        {
            int length = other.BlockLength(b);
            if (bytes.Length < length) bytes = new byte[Math.Max(length, BlockTarget + 1024)];
            other.ReadBlockBytes(b, bytes.AsSpan(0, length));
            BinaryPrimitives.WriteInt64LittleEndian(fixedPart, _out.Length);
            BinaryPrimitives.WriteInt32LittleEndian(fixedPart[8..], length);
            BinaryPrimitives.WriteInt64LittleEndian(fixedPart[12..], _ordinal);
            BinaryPrimitives.WriteInt32LittleEndian(fixedPart[20..], other.BlockEntries(b));
            _directory.Write(fixedPart);
            var firstKey = other.FirstKey(b);
            _directory.WriteVarInt((ulong)firstKey.Length);
            _directory.Write(firstKey);
            _out.Write(bytes.AsSpan(0, length));
            _ordinal += other.BlockEntries(b);
        }
        _appended = true;
    }

    public void Finish()
    {
        FlushBlock();
        long dirOffset = _out.Length;
        _out.Write(_directory.Span);
        Span<byte> footer = stackalloc byte[FooterSize];
        footer.Clear();
        BinaryPrimitives.WriteInt64LittleEndian(footer, dirOffset);
        BinaryPrimitives.WriteInt64LittleEndian(footer[8..], _directory.Length);
        BinaryPrimitives.WriteInt64LittleEndian(footer[16..], _ordinal);
        FooterMagic.CopyTo(footer[28..]);
        _out.Write(footer);
        _out.Flush();
        Checksum = _out.Checksum;
        _out.Dispose();
    }

    public void Dispose() => _out.Dispose();
}

/// <summary>Reads index.gidx: holds only the block directory in memory, and the last block looked in. Not thread-safe.</summary>
public sealed class GroupIndexReader : IDisposable
{
    private readonly FileStream _file;
    private readonly long[] _offsets;
    private readonly int[] _lengths;
    private readonly long[] _firstOrdinals;
    private readonly int[] _entryCounts;
    private readonly byte[][] _firstKeys;

    public GroupIndexReader(string path)
    {
        Path = path;
        try
        {
            _file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.RandomAccess);
        }
        catch (FileNotFoundException ex)
        {
            throw new GrouperException(GrouperErrorKind.InvalidDataset, $"The index {path} is missing.", path, inner: ex);
        }
        try
        {
            if (_file.Length < GroupIndexWriter.HeaderMagic.Length + GroupIndexWriter.FooterSize) throw Corrupt("it is too short");
            Span<byte> head = stackalloc byte[8];
            RandomAccess.Read(_file.SafeFileHandle, head, 0);
            if (!head.SequenceEqual(GroupIndexWriter.HeaderMagic)) throw Corrupt("its header is wrong");
            Span<byte> footer = stackalloc byte[GroupIndexWriter.FooterSize];
            RandomAccess.Read(_file.SafeFileHandle, footer, _file.Length - GroupIndexWriter.FooterSize);
            if (!footer[28..].SequenceEqual(GroupIndexWriter.FooterMagic)) throw Corrupt("its footer is wrong");
            long dirOffset = BinaryPrimitives.ReadInt64LittleEndian(footer);
            long dirLength = BinaryPrimitives.ReadInt64LittleEndian(footer[8..]);
            GroupCount = BinaryPrimitives.ReadInt64LittleEndian(footer[16..]);
            if (dirOffset < 8 || dirLength < 0 || dirOffset + dirLength != _file.Length - GroupIndexWriter.FooterSize || GroupCount < 0)
                throw Corrupt("its footer is inconsistent");
            var dir = new byte[dirLength];
            RandomAccess.Read(_file.SafeFileHandle, dir, dirOffset);
            // Counted first, then read into arrays (lists of numbers would be compiled on first use: see Util.Sorted).
            int blocks = 0;
            for (int at = 0; at < dir.Length; blocks++)
            {
                at += 24;
                int kl = (int)VarInt.Read(dir, ref at);
                at += kl;
            }
            _offsets = new long[blocks]; _lengths = new int[blocks]; _firstOrdinals = new long[blocks]; _entryCounts = new int[blocks]; _firstKeys = new byte[blocks][];
            int pos = 0;
            for (int b = 0; b < blocks; b++)
            {
                _offsets[b] = BinaryPrimitives.ReadInt64LittleEndian(dir.AsSpan(pos));
                _lengths[b] = BinaryPrimitives.ReadInt32LittleEndian(dir.AsSpan(pos + 8));
                _firstOrdinals[b] = BinaryPrimitives.ReadInt64LittleEndian(dir.AsSpan(pos + 12));
                _entryCounts[b] = BinaryPrimitives.ReadInt32LittleEndian(dir.AsSpan(pos + 20));
                pos += 24;
                int kl = (int)VarInt.Read(dir, ref pos);
                _firstKeys[b] = dir.AsSpan(pos, kl).ToArray();
                pos += kl;
            }
            // The directory is data too: check it before trusting its offsets and counts.
            long expectFirst = 0;
            for (int b = 0; b < _offsets.Length; b++)
            {
                if (_offsets[b] < 8 || _lengths[b] <= 0 || _offsets[b] + _lengths[b] > dirOffset || _entryCounts[b] <= 0 || _firstOrdinals[b] != expectFirst
                    || b > 0 && _firstKeys[b - 1].AsSpan().SequenceCompareTo(_firstKeys[b]) >= 0)
                    throw Corrupt($"directory entry {b} is inconsistent");
                expectFirst += _entryCounts[b];
            }
            if (expectFirst != GroupCount) throw Corrupt("its directory does not add up");
        }
        catch (Exception ex) when (ex is not GrouperException)
        {
            _file.Dispose();
            throw Corrupt(ex.Message, ex);
        }
        catch
        {
            _file.Dispose();
            throw;
        }
    }

    public string Path { get; }
    public long GroupCount { get; }

    // For GroupIndexWriter.Append: the blocks as they lie.
    internal int BlockLength(int b) => _lengths[b];
    internal int BlockEntries(int b) => _entryCounts[b];
    internal ReadOnlySpan<byte> FirstKey(int b) => _firstKeys[b];
    internal void ReadBlockBytes(int b, Span<byte> into)
    {
        if (RandomAccess.Read(_file.SafeFileHandle, into, _offsets[b]) != into.Length) throw Corrupt($"block {b} is cut short");
    }

    private GrouperException Corrupt(string why, Exception? inner = null) =>
        new(GrouperErrorKind.InvalidDataset, $"The index {Path} is damaged: {why}.", Path, inner: inner);

    /// <summary>All groups in storage order, read block by block (into buffers of its own: lookups may come between).</summary>
    public IEnumerable<GroupInfo> Enumerate()
    {
        byte[] data = [];
        var entries = new Entry[0]; // not Array.Empty: its generic holder is compiled on first use
        for (int b = 0; b < _offsets.Length; b++)
        {
            int n = ReadBlockEntries(b, ref data, ref entries);
            for (int i = 0; i < n; i++) yield return Info(data, entries[i], _firstOrdinals[b] + i);
        }
    }

    private static GroupInfo Info(byte[] block, in Entry e, long ordinal) =>
        new(Encoding.UTF8.GetString(block, e.KeyStart, e.KeyLength), ordinal, e.Shard, e.RowOffset, e.RecordCount, e.ByteCount);

    /// <summary>
    /// Finds one group by key: a binary search of the directory, then of the block's entries, their keys compared
    /// as the block's UTF-8; only the group found becomes a <see cref="GroupInfo"/>. The last block decoded is
    /// kept: lookups in storage order (Get-Group | Get-GroupRecord) read and decode each block once. (A GroupInfo
    /// and a key string for each of a block's 1,000-1,500 entries at every lookup took two thirds of the time of
    /// streaming a dataset's records through the cmdlets.)
    /// </summary>
    public GroupInfo? Find(string key)
    {
        // A key UTF-8 cannot hold (an unpaired surrogate) is no stored key: not U+FFFD's, as a lenient encoder would have it.
        int byteCount;
        try { byteCount = StrictUtf8.Encoding.GetByteCount(key); }
        catch (EncoderFallbackException) { return null; }
        if (_keyBytes.Length < byteCount) _keyBytes = new byte[Math.Max(byteCount, _keyBytes.Length * 2)];
        var k = _keyBytes.AsSpan(0, StrictUtf8.Encoding.GetBytes(key, _keyBytes));
        int lo = 0, hi = _firstKeys.Length - 1, block = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_firstKeys[mid].AsSpan().SequenceCompareTo(k) <= 0) { block = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        if (block < 0) return null;
        int count = DecodedBlock(block);
        // Keys are stored in ascending byte order within a block, as across blocks.
        lo = 0;
        hi = count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            ref var e = ref _blockEntries[mid];
            int c = _blockData.AsSpan(e.KeyStart, e.KeyLength).SequenceCompareTo(k);
            if (c == 0) return new GroupInfo(key, _firstOrdinals[block] + mid, e.Shard, e.RowOffset, e.RecordCount, e.ByteCount);
            if (c < 0) lo = mid + 1;
            else hi = mid - 1;
        }
        return null;
    }

    /// <summary>The group at a storage position (0-based), or null past the end; reads one block.</summary>
    public GroupInfo? GetByOrdinal(long ordinal)
    {
        if (ordinal < 0 || ordinal >= GroupCount) return null;
        int b = Util.Sorted.LastAtOrBefore(_firstOrdinals, ordinal);
        int count = DecodedBlock(b), i = (int)(ordinal - _firstOrdinals[b]);
        if (i >= count) throw Corrupt($"block {b} holds {count} groups, not the {i + 1} its directory says");
        return Info(_blockData, _blockEntries[i], ordinal);
    }

    // The last block decoded for Find and GetByOrdinal (its bytes and entries), and the key being looked up as UTF-8.
    private int _decodedBlock = -1, _decodedCount;
    private byte[] _blockData = [];
    private Entry[] _blockEntries = new Entry[0]; // not Array.Empty: its generic holder is compiled on first use
    private byte[] _keyBytes = new byte[64];

    /// <summary>Blocks read and decoded for lookups (tests: lookups in storage order decode each block once).</summary>
    internal int BlocksDecoded { get; private set; }

    private int DecodedBlock(int b)
    {
        if (_decodedBlock != b)
        {
            _decodedBlock = -1; // a block that fails to decode is not taken for decoded next time
            _decodedCount = ReadBlockEntries(b, ref _blockData, ref _blockEntries);
            _decodedBlock = b;
            BlocksDecoded++;
        }
        return _decodedCount;
    }

    /// <summary>One index entry as stored, its key a slice of the block it was read from.</summary>
    internal struct Entry
    {
        public int KeyStart, KeyLength, Shard;
        public long RowOffset, RecordCount, ByteCount;
    }

    internal int BlockCount => _offsets.Length;

    internal long FirstOrdinal(int block) => _firstOrdinals[block];

    /// <summary>
    /// Decodes block <paramref name="b"/> into <paramref name="entries"/> (keys stay UTF-8 in
    /// <paramref name="data"/>); both buffers are reused across blocks. For scans of millions of groups,
    /// which have no use for a <see cref="GroupInfo"/> and a key string per group.
    /// </summary>
    internal int ReadBlockEntries(int b, ref byte[] data, ref Entry[] entries)
    {
        int length = _lengths[b], count = _entryCounts[b];
        if (data.Length < length) data = new byte[Math.Max(length, data.Length * 2)];
        if (entries.Length < count) entries = new Entry[Math.Max(count, entries.Length * 2)];
        ReadBlockBytes(b, data.AsSpan(0, length));
        var block = data.AsSpan(0, length);
        int pos = 0;
        try
        {
            for (int i = 0; i < count; i++)
            {
                ref var e = ref entries[i];
                e.KeyLength = checked((int)VarInt.Read(block, ref pos));
                if ((uint)e.KeyLength > (uint)(length - pos)) throw Corrupt($"block {b} cannot be decoded");
                e.KeyStart = pos;
                pos += e.KeyLength;
                e.Shard = checked((int)VarInt.Read(block, ref pos));
                e.RowOffset = checked((long)VarInt.Read(block, ref pos));
                e.RecordCount = checked((long)VarInt.Read(block, ref pos));
                e.ByteCount = checked((long)VarInt.Read(block, ref pos));
            }
        }
        catch (Exception ex) when (ex is IndexOutOfRangeException or ArgumentException or InvalidDataException or OverflowException)
        {
            throw Corrupt($"block {b} cannot be decoded", ex);
        }
        return count;
    }

    public void Dispose() => _file.Dispose();
}
