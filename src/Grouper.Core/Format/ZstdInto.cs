using System.Runtime.InteropServices;

namespace Grouper.Format;

/// <summary>
/// Zstd pages decompressed into a place of the caller's buffer: by the system's libzstd where it loads (the
/// reference implementation, in C; Linux distributions install it with systemd and dpkg), else by ZstdSharp,
/// Parquet.Net's managed port. Both decode the format to the same bytes. The C decoder takes a little over
/// half the port's time for a DuckDB file's pages, on the reading thread, which a Parquet build waits for.
/// </summary>
internal static unsafe class ZstdInto
{
    /// <summary>The system's libzstd on Linux, or null where it is not installed (and on other systems).</summary>
    internal static NativeZstd? SystemLibrary { get; } = NativeZstd.TryLoad();

    // One per thread, not per column: a context holds ~100 KB of tables outside the collector's heap, and a
    // reader of a wide file has a chunk reader per column, on two threads.
    [ThreadStatic] private static ZstdSharp.Decompressor? t_managed;

    /// <summary>Decompresses a page's frames: true when they hold exactly the destination's length. Never writes past it.</summary>
    /// <param name="src">One or more Zstd frames.</param>
    /// <param name="dest">Where they go.</param>
    /// <param name="useSystemLibrary">False: ZstdSharp even where libzstd is installed (tests compare the two).</param>
    public static bool TryDecompress(ReadOnlySpan<byte> src, Span<byte> dest, bool useSystemLibrary = true)
    {
        if (useSystemLibrary && SystemLibrary is { } native) return native.TryDecompress(src, dest);
        try
        {
            return (t_managed ??= new ZstdSharp.Decompressor()).TryUnwrap(src, dest, out int written) && written == dest.Length;
        }
        catch (ZstdSharp.ZstdException)
        {
            return false;
        }
    }

    /// <summary>libzstd's one-shot decompression (zstd.h), stable since zstd 1.0.</summary>
    internal sealed class NativeZstd
    {
        // ZSTD_decompress(dst, dstCapacity, src, srcSize): the bytes written, or an error code ZSTD_isError
        // tells (a frame that would write past dstCapacity is one). It checks the frames as it reads them.
        private readonly delegate* unmanaged<byte*, nuint, byte*, nuint, nuint> _decompress;
        private readonly delegate* unmanaged<nuint, uint> _isError;

        private NativeZstd(nint decompress, nint isError)
        {
            _decompress = (delegate* unmanaged<byte*, nuint, byte*, nuint, nuint>)decompress;
            _isError = (delegate* unmanaged<nuint, uint>)isError;
        }

        public static NativeZstd? TryLoad()
        {
            // Linux only, by its soname from the system's library path, as liblz4 is (Writer/SpillCodec.cs).
            const string Name = "libzstd.so.1";
            if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad(Name, out var lib)) return null;
            return NativeLibrary.TryGetExport(lib, "ZSTD_decompress", out var decompress)
                && NativeLibrary.TryGetExport(lib, "ZSTD_isError", out var isError)
                ? new NativeZstd(decompress, isError) : null;
        }

        public bool TryDecompress(ReadOnlySpan<byte> src, Span<byte> dest)
        {
            // fixed gives null for an empty span: a one-byte stand-in keeps the pointers valid (nothing is read or written past the lengths).
            byte none = 0;
            fixed (byte* s0 = src)
            fixed (byte* d0 = dest)
            {
                byte* s = src.IsEmpty ? &none : s0, d = dest.IsEmpty ? &none : d0;
                nuint n = _decompress(d, (nuint)dest.Length, s, (nuint)src.Length);
                return _isError(n) == 0 && n == (nuint)dest.Length;
            }
        }
    }
}
