using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Grouper.Format;

/// <summary>
/// Snappy compression of the pages Grouper encodes, writing the bytes Snappier (Parquet.Net's compressor, which
/// wrote them before) writes: the reference compressor's algorithm (snappy 1.1.10) with the same hash, table
/// sizes, match search and copy encoding, so that shards stay byte for byte what they were. Snappier runs its
/// ReadyToRun code, which calls instead of inlining what it uses of the runtime's library (a tuple's
/// constructor among them, left in the runtime's first tier for a whole build), and compressing was the largest
/// part of the encoding workers' time in a build's writing phase. This one is compiled fully optimised at its
/// first call (<see cref="Util.Hot"/>).
/// </summary>
/// <remarks>
/// The hash of four bytes is their CRC-32C, as Snappier computes it where the processor has an instruction for
/// it (x86 with SSE 4.2, 64-bit ARM); elsewhere Snappier falls back to a multiplication, and so wrote other bytes
/// there. This takes the runtime's CRC-32C, computed without the instruction too: the shards do not depend
/// on the machine.
/// Tests compare its bytes with Snappier's on inputs of every kind and size that take its paths.
/// </remarks>
internal static unsafe class SnappyEncoder
{
    private const int BlockSize = 1 << 16;       // the input is compressed in fragments of 64 KB
    private const int InputMargin = 15;          // the last bytes of a fragment are never searched for matches
    private const int MaxTableBits = 14;

    /// <summary>
    /// The room <see cref="Compress"/> needs for <paramref name="length"/> bytes of input: the length's own five
    /// bytes at most, then the reference's bound for a fragment (<see cref="FragmentBound"/>) of all of it.
    /// </summary>
    public static int MaxLength(int length) => checked(5 + FragmentBound(length));

    // What the reference asks to be free before it compresses a fragment of `length` bytes into place. A fragment
    // takes less: every copy fewer bytes than it stands for, each literal but the last followed by a copy, and a
    // literal's tag one byte up to 60 bytes and three at most; the 16-byte copies of short literals write past
    // the end by 15 bytes at most. What one 64 KB fragment leaves of its sixth covers the next one's 32.
    private static int FragmentBound(int length) => 32 + length + length / 6;

    [ThreadStatic] private static ushort[]? t_table;

    /// <summary>Compresses <paramref name="input"/> into <paramref name="output"/> (at least <see cref="MaxLength"/> bytes); returns the length written.</summary>
    [MethodImpl(Util.Hot.Path)]
    public static int Compress(ReadOnlySpan<byte> input, Span<byte> output)
    {
        if (output.Length < MaxLength(input.Length)) throw new ArgumentException("The output is smaller than the longest compressed form of the input.", nameof(output));
        var table = t_table ??= new ushort[1 << MaxTableBits];
        int written = WriteLength(output, (uint)input.Length);
        fixed (byte* src = input)
        fixed (ushort* hashes = table)
        {
            for (int at = 0; at < input.Length; at += BlockSize)
            {
                int length = Math.Min(BlockSize, input.Length - at);
                int size = TableSize(length);
                new Span<ushort>(hashes, size).Clear();
                uint mask = (uint)(2 * (size - 1));
                var rest = output[written..];
                // Fragment writes through a pointer: its room is checked, though MaxLength leaves it (above).
                if (rest.Length < FragmentBound(length)) throw new InvalidOperationException("No room left for a fragment's worst case.");
                fixed (byte* dst = rest) written += (int)(Fragment(src + at, length, dst, hashes, mask) - dst);
            }
        }
        return written;
    }

    private static int WriteLength(Span<byte> output, uint value)
    {
        int i = 0;
        for (; value >= 0x80; value >>= 7) output[i++] = (byte)(value | 0x80);
        output[i++] = (byte)value;
        return i;
    }

    // The table has a slot for each position of the fragment, as a power of two from 256 to 16384.
    private static int TableSize(int length) =>
        length > 1 << MaxTableBits ? 1 << MaxTableBits : length < 256 ? 256 : 2 << (31 - BitOperations.LeadingZeroCount((uint)(length - 1)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Load32(byte* p) => Unsafe.ReadUnaligned<uint>(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Load64(byte* p) => Unsafe.ReadUnaligned<ulong>(p);

    // The table entry of four bytes: byte offset (hash & mask) into a table of 16-bit positions.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ushort* Entry(ushort* table, uint bytes, uint mask) => (ushort*)((byte*)table + (Crc32C(bytes, mask) & mask));

    /// <summary>
    /// The CRC-32C step of the SSE 4.2 instruction <c>crc32</c> on four bytes (<paramref name="crc"/> updated by
    /// <paramref name="data"/>, no inversions): the runtime's, which uses the instruction where there is one
    /// (x86, 64-bit ARM) and computes the same CRC without it elsewhere.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint Crc32C(uint crc, uint data) => BitOperations.Crc32C(crc, data);

    /// <summary>Compresses one fragment (at most 64 KB) to <paramref name="op"/>; returns where its bytes end.</summary>
    [MethodImpl(Util.Hot.Path)]
    private static byte* Fragment(byte* start, int length, byte* op, ushort* table, uint mask)
    {
        byte* end = start + length;
        byte* ip = start;
        if (length >= InputMargin)
        {
            byte* ipLimit = end - InputMargin;
            while (true)
            {
                // Bytes from `literal` to ip are emitted as a literal, then one or more copies.
                byte* literal = ip;
                ip++;
                byte* candidate;
                int skip = 32;
                if (ipLimit - ip >= 16)
                {
                    // The next 16 positions are looked up one by one (the reference unrolls this).
                    int delta = (int)(ip - start);
                    for (int i = 0; i < 16; i++)
                    {
                        uint bytes = Load32(ip + i);
                        ushort* entry = Entry(table, bytes, mask);
                        candidate = start + *entry;
                        *entry = (ushort)(delta + i);
                        if (Load32(candidate) == bytes)
                        {
                            // A literal of i + 1 bytes; 16 are copied, the input and the output have room.
                            *op = (byte)(i << 2);
                            Unsafe.CopyBlockUnaligned(op + 1, literal, 16);
                            op += i + 2;
                            ip += i;
                            goto copies;
                        }
                    }
                    ip += 16;
                    skip += 16;
                }
                // Heuristic match skipping: after 32 bytes without a match, every second byte is looked at,
                // after 32 more every third, and so on.
                while (true)
                {
                    uint bytes = Load32(ip);
                    ushort* entry = Entry(table, bytes, mask);
                    int step = skip >> 5;
                    skip += step;
                    byte* next = ip + step;
                    if (next > ipLimit)
                    {
                        ip = literal;
                        goto remainder;
                    }
                    candidate = start + *entry;
                    *entry = (ushort)(ip - start);
                    if (Load32(candidate) == bytes) break;
                    ip = next;
                }
                op = Literal(op, literal, (int)(ip - literal), fast: true);

            copies:
                // A match of at least four bytes at ip; copies while the input right after one matches again.
                do
                {
                    byte* from = ip;
                    int matched = 4 + MatchLength(candidate + 4, ip + 4, end);
                    ip += matched;
                    op = Copy(op, (int)(from - candidate), matched);
                    if (ip >= ipLimit) goto remainder;
                    // The positions just before and at ip go into the table, and ip's is looked up.
                    *Entry(table, Load32(ip - 1), mask) = (ushort)(ip - start - 1);
                    uint bytes = Load32(ip);
                    ushort* entry = Entry(table, bytes, mask);
                    candidate = start + *entry;
                    *entry = (ushort)(ip - start);
                    if (Load32(candidate) != bytes) break;
                } while (true);
            }
        }
    remainder:
        if (ip < end) op = Literal(op, ip, (int)(end - ip), fast: false);
        return op;
    }

    /// <summary>How many bytes from <paramref name="s1"/> and <paramref name="s2"/> on are equal, <paramref name="s2"/> not past <paramref name="limit"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int MatchLength(byte* s1, byte* s2, byte* limit)
    {
        int matched = 0;
        while (limit - s2 >= 8)
        {
            ulong x = Load64(s1 + matched) ^ Load64(s2);
            if (x != 0) return matched + (BitOperations.TrailingZeroCount(x) >> 3);
            s2 += 8;
            matched += 8;
        }
        while (s2 < limit && s1[matched] == *s2)
        {
            s2++;
            matched++;
        }
        return matched;
    }

    // A literal's tag (its length less one, in the tag or in 1-4 bytes after it), then its bytes. `fast`: a
    // literal of at most 16 bytes copies 16 (the caller's input has them, and the output has room).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte* Literal(byte* op, byte* literal, int length, bool fast)
    {
        uint n = (uint)length - 1;
        if (fast && length <= 16)
        {
            *op = (byte)(n << 2);
            Unsafe.CopyBlockUnaligned(op + 1, literal, 16);
            return op + 1 + length;
        }
        if (n < 60) *op++ = (byte)(n << 2);
        else
        {
            int count = (BitOperations.Log2(n) >> 3) + 1;
            *op++ = (byte)((59 + count) << 2);
            BinaryPrimitives.WriteUInt32LittleEndian(new Span<byte>(op, 4), n); // the output has room for four
            op += count;
        }
        Unsafe.CopyBlockUnaligned(op, literal, (uint)length);
        return op + length;
    }

    // A copy of `length` bytes from `offset` back (below 65536): in pieces of 64 while more than 67 are left
    // (so that the last is at least 4), one of 60 if 65-67 are, then the rest.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte* Copy(byte* op, int offset, int length)
    {
        if (length < 12) return ShortCopy(op, offset, length);
        while (length >= 68)
        {
            op = LongCopy(op, offset, 64);
            length -= 64;
        }
        if (length > 64)
        {
            op = LongCopy(op, offset, 60);
            length -= 60;
        }
        return length < 12 ? ShortCopy(op, offset, length) : LongCopy(op, offset, length);
    }

    // 4-11 bytes: two bytes when the offset is below 2048 (length - 4 and the offset's high three bits in the
    // tag), else three (length - 1 in the tag, a 16-bit offset).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte* ShortCopy(byte* op, int offset, int length)
    {
        if (offset < 2048)
        {
            op[0] = (byte)(1 | ((length - 4) << 2) | ((offset >> 8) << 5));
            op[1] = (byte)offset;
            return op + 2;
        }
        return LongCopy(op, offset, length);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte* LongCopy(byte* op, int offset, int length)
    {
        op[0] = (byte)(2 | ((length - 1) << 2));
        op[1] = (byte)offset;
        op[2] = (byte)(offset >> 8);
        return op + 3;
    }
}
