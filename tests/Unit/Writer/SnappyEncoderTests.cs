using System.Runtime.Intrinsics.X86;
using System.Text;
using Grouper.Format;
using Xunit;

namespace Grouper.Tests.Writer;

/// <summary>
/// Grouper's Snappy compressor writes Snappier's bytes (what wrote the shards' pages before it), on inputs that
/// take every path: empty and tiny inputs, text with short and long repeats, incompressible bytes (the match
/// skipping), runs longer than 64 bytes (copies in pieces), literals longer than 60 bytes (their lengths in
/// bytes after the tag), several 64 KB fragments, and pages as the shard writer makes them.
/// </summary>
public class SnappyEncoderTests
{
    private static byte[] Snappier(byte[] data)
    {
        var block = new byte[global::Snappier.Snappy.GetMaxCompressedLength(data.Length)];
        return block.AsSpan(0, global::Snappier.Snappy.Compress(data, block)).ToArray();
    }

    private static byte[] Own(byte[] data)
    {
        var block = new byte[SnappyEncoder.MaxLength(data.Length)];
        return block.AsSpan(0, SnappyEncoder.Compress(data, block)).ToArray();
    }

    private static readonly int[] Lengths = [0, 1, 14, 15, 16, 17, 31, 60, 61, 255, 256, 257, 1000, 4096, 16384, 16385, 65535, 65536, 65537, 200_000, 1 << 20];

    private static byte[] Make(string kind, int length, int seed)
    {
        var rng = new Random(seed);
        var data = new byte[length];
        switch (kind)
        {
            case "text":
                var words = new[] { "user_", "alpha", "2026-11-30T12:00:00Z", "null", "Grouper", "shard", ",", "\n", "the quick brown fox" };
                var sb = new StringBuilder();
                while (sb.Length < length) sb.Append(words[rng.Next(words.Length)]).Append(rng.Next(1000));
                Encoding.ASCII.GetBytes(sb.ToString(0, length), data);
                break;
            case "random": rng.NextBytes(data); break;
            case "runs":
                for (int i = 0; i < length;)
                {
                    byte b = (byte)rng.Next(4);
                    int n = rng.Next(1, 300);
                    for (int k = 0; k < n && i < length; k++) data[i++] = b;
                }
                break;
            case "mixed":
                // Incompressible stretches (literals past 60 bytes, skipping) between repeats of far and near text.
                for (int i = 0; i < length;)
                {
                    int n = Math.Min(length - i, rng.Next(1, 400));
                    if (rng.Next(3) == 0) rng.NextBytes(data.AsSpan(i, n));
                    else if (i > 3000 && rng.Next(2) == 0) data.AsSpan(i - rng.Next(2049, 3000), n).CopyTo(data.AsSpan(i));
                    else if (i > 8) for (int k = 0; k < n; k++) data[i + k] = data[i + k - rng.Next(1, 8)];
                    i += n;
                }
                break;
            case "numbers":
                for (int i = 0; i + 8 <= length; i += 8) BitConverter.TryWriteBytes(data.AsSpan(i), 1_700_000_000_000L + rng.Next(100_000));
                break;
            case "sparse":
                for (int i = 0; i < length; i += rng.Next(1, 50)) data[i] = (byte)rng.Next(256);
                break;
        }
        return data;
    }

    [Theory]
    [InlineData("text")]
    [InlineData("random")]
    [InlineData("runs")]
    [InlineData("mixed")]
    [InlineData("numbers")]
    [InlineData("sparse")]
    public void Writes_the_bytes_Snappier_writes(string kind)
    {
        foreach (int length in Lengths)
            for (int seed = 0; seed < 3; seed++)
            {
                var data = Make(kind, length, seed * 7919 + length);
                var own = Own(data);
                Assert.True(Snappier(data).AsSpan().SequenceEqual(own), $"{kind}, {length} bytes, seed {seed}: other bytes than Snappier's");
                Assert.Equal(data, global::Snappier.Snappy.DecompressToArray(own));
            }
    }

    [Fact]
    public void Writes_what_fits_a_buffer_of_the_bound_exactly_and_refuses_a_smaller_one()
    {
        var data = Make("random", 3 * 65536 + 100, 1);
        var block = new byte[SnappyEncoder.MaxLength(data.Length)];
        int n = SnappyEncoder.Compress(data, block);
        Assert.Equal(Snappier(data), block[..n]);
        Assert.Throws<ArgumentException>(() => SnappyEncoder.Compress(data, new byte[SnappyEncoder.MaxLength(data.Length) - 1]));
    }

    [Fact]
    public void Writes_nothing_past_the_room_it_asks_for()
    {
        // It writes through a pointer: within MaxLength whatever the input, the 16-byte copies of short literals
        // included. Guard bytes follow the room; the inputs are incompressible, of short repeats, or mixed.
        foreach (var kind in new[] { "random", "mixed", "sparse" })
            foreach (int length in new[] { 0, 1, 15, 16, 17, 100, 65535, 65536, 65537, 3 * 65536 + 7, 300_000 })
            {
                var data = Make(kind, length, length + 11);
                int room = SnappyEncoder.MaxLength(length);
                var block = new byte[room + 64];
                block.AsSpan().Fill(0xA5);
                int n = SnappyEncoder.Compress(data, block.AsSpan(0, room));
                Assert.True(n <= room);
                Assert.True(block.AsSpan(room).IndexOfAnyExcept((byte)0xA5) < 0, $"{kind}, {length} bytes: written past its room");
                Assert.Equal(data, global::Snappier.Snappy.DecompressToArray(block.AsSpan(0, n)));
            }
    }

    [Fact]
    public void The_hash_is_the_instructions_CRC()
    {
        var rng = new Random(5);
        for (int i = 0; i < 10_000; i++)
        {
            uint a = (uint)rng.NextInt64(), b = (uint)rng.Next(1 << 15);
            uint expected = Sse42.IsSupported ? Sse42.Crc32(a, b) : SnappyEncoder.Crc32C(a, b);
            Assert.Equal(expected, SnappyEncoder.Crc32C(a, b));
        }
        // A check value of CRC-32C ("123456789" with the usual inversions is 0xE3069283), by the bitwise reference below.
        uint crc = 0xFFFFFFFF;
        var bytes = "123456789"u8;
        foreach (var b in bytes) crc = SoftwareByte(crc, b);
        Assert.Equal(0xE3069283u, ~crc);
    }

    // CRC-32C a byte at a time, bit by bit from the polynomial: what the four-byte step is held to on any machine.
    private static uint SoftwareByte(uint crc, byte b)
    {
        uint c = crc ^ b;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        return c;
    }

    [Fact]
    public void The_hash_agrees_with_a_byte_at_a_time_CRC()
    {
        var rng = new Random(9);
        for (int i = 0; i < 1000; i++)
        {
            uint crc = (uint)rng.NextInt64(), data = (uint)rng.NextInt64();
            uint expected = crc;
            for (int k = 0; k < 4; k++) expected = SoftwareByte(expected, (byte)(data >> (8 * k)));
            Assert.Equal(expected, SnappyEncoder.Crc32C(crc, data));
        }
    }
}
