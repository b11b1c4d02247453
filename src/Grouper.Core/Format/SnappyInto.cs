using System.Buffers;

namespace Grouper.Format;

/// <summary>
/// Snappy pages decompressed straight into a place of the caller's array. Snappier's span overload
/// (<c>Snappy.Decompress(ReadOnlySpan, Span)</c>) decompresses into a buffer it rents from the shared pool,
/// as large as the page, and copies it out: a copy of every page, and the pool keeps the largest page's
/// buffer for good (16 MB for the last row group of a DuckDB file whose text column fell back from its
/// dictionary to one PLAIN page; 34 MB allocated where 18 were needed). Given a buffer writer, it
/// decompresses into the writer's memory.
/// </summary>
internal sealed class SnappyInto : IBufferWriter<byte>
{
    private byte[] _dest = [];
    private int _start, _length, _written;
    private bool _tooLarge;

    /// <summary>
    /// Decompresses src[srcStart .. srcStart + srcLength) into dest[start .. start + length); false when the
    /// block is damaged or does not decompress to exactly <paramref name="length"/> bytes (then
    /// <paramref name="wrongSize"/> is true). Nothing is written outside the destination's range.
    /// </summary>
    public bool TryDecompress(byte[] src, int srcStart, int srcLength, byte[] dest, int start, int length, out bool wrongSize)
    {
        (_dest, _start, _length, _written, _tooLarge) = (dest, start, length, 0, false);
        try
        {
            Snappier.Snappy.Decompress(new ReadOnlySequence<byte>(src, srcStart, srcLength), this);
        }
        catch (Exception ex) when (ex is InvalidDataException or InvalidOperationException or ArgumentException or IndexOutOfRangeException)
        {
            wrongSize = _tooLarge;
            return false;
        }
        finally
        {
            _dest = [];
        }
        wrongSize = _written != length;
        return !wrongSize;
    }

    public Memory<byte> GetMemory(int sizeHint = 0) => _dest.AsMemory(_start + _written, Room(sizeHint));
    public Span<byte> GetSpan(int sizeHint = 0) => _dest.AsSpan(_start + _written, Room(sizeHint));

    public void Advance(int count)
    {
        if ((uint)count > (uint)(_length - _written)) throw new ArgumentOutOfRangeException(nameof(count));
        _written += count;
    }

    // The block's header says how large it is; more than the page's header said is a damaged page.
    private int Room(int sizeHint)
    {
        int room = _length - _written;
        if (sizeHint > room)
        {
            _tooLarge = true;
            throw new InvalidDataException("The block is larger than its page.");
        }
        return room;
    }
}
