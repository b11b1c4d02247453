using System.Runtime.InteropServices;
using K4os.Compression.LZ4;

namespace Grouper.Writer;

/// <summary>
/// LZ4 block compression for spill runs. Both codecs write and read the same LZ4 block format, so a run
/// does not depend on which one wrote it. The system's liblz4 (the reference implementation, in C) is used
/// where it loads (Linux distributions install it with systemd): compressing the spill is most of the
/// spilling thread, the slower of the two threads while records are read, and liblz4 compresses these blocks
/// about a fifth faster than the managed port (a 1 GB build's reading phase -8%), and with LZ4's acceleration
/// 2 rather than 1 (<see cref="NativeLz4.Acceleration"/>). K4os.Compression.LZ4, the managed port, is used
/// everywhere else (Windows, macOS, a Linux without liblz4), at acceleration 1: its block API has no other.
/// </summary>
internal abstract class SpillCodec
{
    public static SpillCodec Managed { get; } = new ManagedLz4();

    /// <summary>The system's liblz4 on Linux, or null where it is not installed (and on other systems).</summary>
    public static SpillCodec? Native { get; } = NativeLz4.TryLoad();

    public static SpillCodec Preferred => Native ?? Managed;

    public abstract string Name { get; }

    /// <summary>The largest compressed size of <paramref name="length"/> bytes (LZ4's bound, the same for both).</summary>
    public static int MaximumOutputSize(int length) => LZ4Codec.MaximumOutputSize(length);

    /// <summary>Compresses <paramref name="source"/> into <paramref name="target"/>, which holds <see cref="MaximumOutputSize"/> bytes.</summary>
    public abstract int Compress(ReadOnlySpan<byte> source, Span<byte> target);

    /// <summary>The decompressed length, or a negative number when the block is damaged (it never writes past <paramref name="target"/>).</summary>
    public abstract int Decompress(ReadOnlySpan<byte> source, Span<byte> target);

    private sealed class ManagedLz4 : SpillCodec
    {
        public override string Name => "K4os.Compression.LZ4";
        public override int Compress(ReadOnlySpan<byte> source, Span<byte> target) => LZ4Codec.Encode(source, target, LZ4Level.L00_FAST);
        public override int Decompress(ReadOnlySpan<byte> source, Span<byte> target) => LZ4Codec.Decode(source, target);
    }

    private sealed unsafe class NativeLz4 : SpillCodec
    {
        /// <summary>
        /// LZ4 skips ahead faster where it finds no match: the spill of a 1 GB CSV is 174 MB instead of 169, and
        /// the build's reading phase, where the spilling thread is the busier one, 3-18% shorter (five A/B sets
        /// on CSV, JSON Lines and tiny groups; wall time 0-12% shorter).
        /// </summary>
        public const int Acceleration = 2;

        // LZ4_compress_fast and LZ4_decompress_safe: the stable block API of every liblz4 since 1.7.
        private readonly delegate* unmanaged<byte*, byte*, int, int, int, int> _compress;
        private readonly delegate* unmanaged<byte*, byte*, int, int, int> _decompress;
        private readonly string _name;

        private NativeLz4(nint compress, nint decompress, string name)
        {
            _compress = (delegate* unmanaged<byte*, byte*, int, int, int, int>)compress;
            _decompress = (delegate* unmanaged<byte*, byte*, int, int, int>)decompress;
            _name = name;
        }

        public static SpillCodec? TryLoad()
        {
            // Linux only, by its soname from the system's library path: elsewhere there is no system copy to
            // rely on, and a bare name may be looked for beside the application.
            const string Name = "liblz4.so.1";
            if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad(Name, out var lib)) return null;
            if (NativeLibrary.TryGetExport(lib, "LZ4_versionNumber", out var version)
                && ((delegate* unmanaged<int>)version)() >= 10700
                && NativeLibrary.TryGetExport(lib, "LZ4_compress_fast", out var compress)
                && NativeLibrary.TryGetExport(lib, "LZ4_decompress_safe", out var decompress))
                return new NativeLz4(compress, decompress, $"{Name} {((delegate* unmanaged<int>)version)()}");
            return null;
        }

        public override string Name => _name;

        public override int Compress(ReadOnlySpan<byte> source, Span<byte> target)
        {
            int n;
            fixed (byte* s = source)
            fixed (byte* t = target)
                n = _compress(s, t, source.Length, target.Length, Acceleration);
            // 0 means the target was too small, which MaximumOutputSize rules out.
            if (n <= 0 && source.Length > 0) throw new InvalidOperationException($"liblz4 could not compress a block of {source.Length} bytes into {target.Length}.");
            return n;
        }

        public override int Decompress(ReadOnlySpan<byte> source, Span<byte> target)
        {
            fixed (byte* s = source)
            fixed (byte* t = target)
                return _decompress(s, t, source.Length, target.Length);
        }
    }
}
