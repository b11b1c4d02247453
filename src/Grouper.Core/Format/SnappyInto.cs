using System.Buffers;
using System.Runtime.InteropServices;

namespace Grouper.Format;

/// <summary>
/// Snappy pages decompressed straight into a place of the caller's array. Snappier's span overload
/// (<c>Snappy.Decompress(ReadOnlySpan, Span)</c>) decompresses into a buffer it rents from the shared pool,
/// as large as the page, and copies it out: a copy of every page, and the pool keeps the largest page's
/// buffer for good (16 MB for the last row group of a DuckDB file whose text column fell back from its
/// dictionary to one PLAIN page; 34 MB allocated where 18 were needed). Given a buffer writer, it
/// decompresses into the writer's memory.
/// </summary>
/// <remarks>
/// Where the system has libsnappy (the reference implementation, in C; Debian's libsnappy1v5), pages are
/// decompressed by it: decompressing text pages was the largest part of a scan's processor time, and
/// Snappier's decompressor, which has no ReadyToRun code, runs its first compiled tiers for much of a short
/// scan. The two decode the same format to the same bytes, so nothing written depends on which one read.
/// (Compression stays Snappier's everywhere: the C++ compressor writes other bytes for some blocks, and
/// shards must not depend on the machine that wrote them.)
/// </remarks>
internal sealed unsafe class SnappyInto : IBufferWriter<byte>
{
    /// <summary>The system's libsnappy on Linux, or null where it is not installed (and on other systems).</summary>
    internal static NativeSnappy? SystemLibrary { get; } = NativeSnappy.TryLoad();

    private readonly NativeSnappy? _native;
    private byte[] _dest = [];
    private int _start, _length, _written;
    private bool _tooLarge;

    /// <param name="useSystemLibrary">False: Snappier's decompressor even where libsnappy is installed (tests compare the two).</param>
    public SnappyInto(bool useSystemLibrary = true) => _native = useSystemLibrary ? SystemLibrary : null;

    /// <summary>True when this instance decompresses with the system's libsnappy.</summary>
    public bool UsesSystemLibrary => _native is not null;

    /// <summary>
    /// Decompresses src[srcStart .. srcStart + srcLength) into dest[start .. start + length); false when the
    /// block is damaged or does not decompress to exactly <paramref name="length"/> bytes (then
    /// <paramref name="wrongSize"/> is true). Nothing is written outside the destination's range.
    /// </summary>
    public bool TryDecompress(byte[] src, int srcStart, int srcLength, byte[] dest, int start, int length, out bool wrongSize)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)srcStart + (ulong)(uint)srcLength, (ulong)src.Length, nameof(srcLength));
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)start + (ulong)(uint)length, (ulong)dest.Length, nameof(length));
        if (_native is { } native) return native.TryDecompress(src.AsSpan(srcStart, srcLength), dest.AsSpan(start, length), out wrongSize);
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

    /// <summary>libsnappy's C interface (snappy-c.h), stable since snappy 1.0.</summary>
    internal sealed class NativeSnappy
    {
        private const int Ok = 0;
        // snappy_uncompressed_length(compressed, compressed_length, &result) and
        // snappy_uncompress(compressed, compressed_length, uncompressed, &uncompressed_length): both check the
        // block as they read it (snappy decodes untrusted input safely) and never write past the length given.
        private readonly delegate* unmanaged<byte*, nuint, nuint*, int> _length;
        private readonly delegate* unmanaged<byte*, nuint, byte*, nuint*, int> _uncompress;

        private NativeSnappy(nint length, nint uncompress)
        {
            _length = (delegate* unmanaged<byte*, nuint, nuint*, int>)length;
            _uncompress = (delegate* unmanaged<byte*, nuint, byte*, nuint*, int>)uncompress;
        }

        public static NativeSnappy? TryLoad()
        {
            // Linux only, by its soname from the system's library path, as liblz4 is (Writer/SpillCodec.cs).
            const string Name = "libsnappy.so.1";
            if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad(Name, out var lib)) return null;
            return NativeLibrary.TryGetExport(lib, "snappy_uncompressed_length", out var length)
                && NativeLibrary.TryGetExport(lib, "snappy_uncompress", out var uncompress)
                ? new NativeSnappy(length, uncompress) : null;
        }

        /// <summary>As <see cref="SnappyInto.TryDecompress"/>: the block must decompress to exactly <paramref name="dest"/>'s length.</summary>
        public bool TryDecompress(ReadOnlySpan<byte> src, Span<byte> dest, out bool wrongSize)
        {
            wrongSize = false;
            fixed (byte* s = src)
            fixed (byte* d = dest)
            {
                nuint size;
                if (_length(s, (nuint)src.Length, &size) != Ok) return false;
                if (size != (nuint)dest.Length)
                {
                    wrongSize = true;
                    return false;
                }
                // An empty destination has no address to give (fixed yields null): nothing to write.
                if (size == 0) return true;
                nuint written = size;
                if (_uncompress(s, (nuint)src.Length, d, &written) != Ok) return false;
                wrongSize = written != size;
                return !wrongSize;
            }
        }
    }
}
