using System.Buffers;
using System.Buffers.Binary;
using Parquet;

namespace Grouper.Format;

/// <summary>
/// Checks that a Parquet file's footer is well-formed Thrift before Parquet.Net reads it. Parquet.Net's
/// metadata reader spins for minutes on some damaged footers (the fuzz test found one, a few flipped bytes
/// in a shard); this skipper only counts bytes, so it stops at the first value that does not fit.
/// </summary>
internal static class ParquetFooter
{
    private static ReadOnlySpan<byte> Magic => "PAR1"u8;

    /// <summary>Parquet.Net's reader over the file (left open), once its footer passed <see cref="Check"/>.</summary>
    public static ParquetReader OpenReader(FileStream file, ParquetOptions? options = null)
    {
        Check(file);
        return ParquetReader.CreateAsync(file, options, leaveStreamOpen: true).GetAwaiter().GetResult();
    }

    /// <summary>Throws <see cref="InvalidDataException"/> saying what is wrong with the footer.</summary>
    public static void Check(FileStream file)
    {
        long length = file.Length;
        if (length < 12) throw new InvalidDataException($"it is {length} bytes long, too short for a Parquet file");
        Span<byte> tail = stackalloc byte[8];
        if (RandomAccess.Read(file.SafeFileHandle, tail, length - 8) != 8) throw new InvalidDataException("its last bytes cannot be read");
        if (!tail[4..].SequenceEqual(Magic)) throw new InvalidDataException("it does not end with Parquet's magic bytes");
        int footer = BinaryPrimitives.ReadInt32LittleEndian(tail);
        if (footer <= 0 || footer > length - 12) throw new InvalidDataException($"its footer length ({footer} bytes) does not fit in the file");
        var bytes = ArrayPool<byte>.Shared.Rent(footer);
        try
        {
            var span = bytes.AsSpan(0, footer);
            if (RandomAccess.Read(file.SafeFileHandle, span, length - 8 - footer) != footer) throw new InvalidDataException("its footer cannot be read");
            // Bytes after the metadata are tolerated, as readers do; metadata that runs past them is not.
            try { new ThriftCompact.Reader(span).Skip(ThriftCompact.Struct); }
            catch (Exception ex) when (ex is InvalidDataException or OverflowException)
            {
                throw new InvalidDataException($"its footer is damaged ({ex.Message})", ex);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }
}
