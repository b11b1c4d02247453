using System.Runtime.InteropServices;
using System.Text;
using Grouper.Writer;
using Xunit;

namespace Grouper.Tests.Writer;

/// <summary>
/// Spill runs are LZ4 blocks written by the system's liblz4 where it loads and by K4os.Compression.LZ4
/// elsewhere: each must read what the other writes, and a damaged block is an error, not a crash.
/// </summary>
public class SpillCodecTests
{
    // Where Linux has liblz4 (every Debian or Ubuntu with apt: libsystemd0 needs it; this machine and CI's)
    // the native codec must be found and preferred; elsewhere the managed codec is checked alone.
    private static SpillCodec[] Codecs()
    {
        bool systemHasIt = OperatingSystem.IsLinux() && NativeLibrary.TryLoad("liblz4.so.1", out _);
        Assert.Equal(systemHasIt, SpillCodec.Native is not null);
        if (SpillCodec.Native is not { } native) return [SpillCodec.Managed];
        Assert.Same(native, SpillCodec.Preferred);
        Assert.StartsWith("liblz4", native.Name);
        return [native, SpillCodec.Managed];
    }

    private static IEnumerable<byte[]> Blocks()
    {
        var rng = new Random(17);
        yield return [42]; // a run never writes an empty block

        var random = new byte[300_000];
        rng.NextBytes(random); // incompressible: stored as literals, up to the bound
        yield return random;
        var text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 20_000).Select(i => $"user_{i % 977:D7},grüße {i * 7919 % 1000}\n")));
        yield return text;
        var runs = new byte[1 << 20];
        for (int i = 0; i < runs.Length; i++) runs[i] = (byte)(i / 5000 % 3 == 0 ? rng.Next(256) : i / 70000);
        yield return runs;
    }

    [Fact]
    public void Blocks_written_by_either_codec_are_read_by_the_other()
    {
        var codecs = Codecs();
        foreach (var block in Blocks())
        {
            foreach (var writer in codecs)
            foreach (var reader in codecs)
            {
                var compressed = new byte[SpillCodec.MaximumOutputSize(block.Length)];
                int n = writer.Compress(block, compressed);
                Assert.InRange(n, 1, compressed.Length);
                var back = new byte[block.Length];
                Assert.Equal(block.Length, reader.Decompress(compressed.AsSpan(0, n), back));
                Assert.True(block.AsSpan().SequenceEqual(back), $"{writer.Name} -> {reader.Name}, {block.Length} bytes");
            }
        }
    }

    [Fact]
    public void A_damaged_block_is_refused_without_writing_past_the_buffer()
    {
        foreach (var codec in Codecs()) DamagedBlocks(codec);
    }

    private static void DamagedBlocks(SpillCodec codec)
    {
        var block = Blocks().ElementAt(3);
        var compressed = new byte[SpillCodec.MaximumOutputSize(block.Length)];
        int n = codec.Compress(block, compressed);
        var rng = new Random(3);
        int refused = 0;
        for (int trial = 0; trial < 200; trial++)
        {
            var damaged = compressed.AsSpan(0, n).ToArray();
            if (trial % 2 == 0) damaged = damaged[..rng.Next(1, n)];                 // cut short
            else for (int k = 0; k < 4; k++) damaged[rng.Next(n)] = (byte)rng.Next(256); // bytes changed
            // The target has a guard zone after the block's length that must stay as it was.
            var target = new byte[block.Length + 64];
            target.AsSpan(block.Length).Fill(0xA5);
            int got = codec.Decompress(damaged, target.AsSpan(0, block.Length));
            Assert.True(target.AsSpan(block.Length).IndexOfAnyExcept((byte)0xA5) < 0, $"{codec.Name}, trial {trial}: wrote past the block");
            if (got != block.Length) refused++;
        }
        Assert.True(refused >= 100, $"{codec.Name}: {refused} of 200 damaged blocks were refused"); // every cut one, and most changed ones
    }

    [Fact]
    public void A_run_written_with_one_codec_is_read_back_with_the_other()
    {
        var codecs = Codecs();
        using var t = new TempDir();
        foreach (var (writer, reader) in codecs.Zip(Enumerable.Reverse(codecs)))
        {
            var path = t["run.lz4"];
            var rng = new Random(23);
            using (var w = new RunWriter(path, 16 << 10, writer))
            {
                for (int i = 0; i < 30_000; i++)
                    w.Write(Encoding.ASCII.GetBytes($"k{i / 7:D6}"), Encoding.UTF8.GetBytes($"row {i} {new string('x', rng.Next(200))}"));
                w.Finish();
            }
            using (var r = new RunReader(path, 16 << 10, reader))
            {
                rng = new Random(23);
                int n = 0;
                while (r.MoveNext())
                {
                    Assert.Equal($"k{n / 7:D6}", Encoding.ASCII.GetString(r.Key));
                    Assert.Equal($"row {n} {new string('x', rng.Next(200))}", Encoding.UTF8.GetString(r.Row));
                    n++;
                }
                Assert.Equal(30_000, n);
            }
            File.Delete(path);
        }
    }
}
