using Grouper.Format;
using Xunit;

namespace Grouper.Tests.Writer;

/// <summary>
/// Snappy pages decompressed into a place of the caller's array: the same bytes as Snappier's own
/// decompression, nothing written outside the place, no page-sized buffer taken from the pool, and a
/// damaged or wrongly sized block refused.
/// </summary>
public class SnappyIntoTests
{
    private const byte Guard = 0xA5;

    // Where Linux has libsnappy (Debian's libsnappy1v5; CI installs it) it must be found and used; both
    // decoders are then held to the same behaviour. Elsewhere Snappier's is checked alone.
    public static TheoryData<bool> Decoders()
    {
        bool systemHasIt = OperatingSystem.IsLinux() && System.Runtime.InteropServices.NativeLibrary.TryLoad("libsnappy.so.1", out _);
        Assert.Equal(systemHasIt, SnappyInto.SystemLibrary is not null);
        Assert.Equal(systemHasIt, new SnappyInto().UsesSystemLibrary);
        Assert.False(new SnappyInto(useSystemLibrary: false).UsesSystemLibrary);
        return systemHasIt ? new TheoryData<bool> { true, false } : new TheoryData<bool> { false };
    }

    public static TheoryData<bool, int> DecodersAndLengths()
    {
        var data = new TheoryData<bool, int>();
        foreach (bool native in Decoders())
            foreach (int length in new[] { 0, 1, 100, 70_000, 3_000_000 })
                data.Add(native, length);
        return data;
    }

    internal static byte[] Text(int length, int seed)
    {
        // Words from a small vocabulary: compressible as text columns are, with copies of every length.
        var rnd = new Random(seed);
        var bytes = new byte[length];
        for (int i = 0; i < length; i++) bytes[i] = rnd.Next(8) == 0 ? (byte)' ' : (byte)('a' + rnd.Next(i % 1000 < 500 ? 3 : 26));
        return bytes;
    }

    private static byte[] Compress(byte[] data)
    {
        var block = new byte[Snappier.Snappy.GetMaxCompressedLength(data.Length)];
        return block.AsSpan(0, Snappier.Snappy.Compress(data, block)).ToArray();
    }

    /// <summary>The destination with guard bytes on both sides of the place [at, at + length).</summary>
    private static byte[] Destination(int at, int length) => Enumerable.Repeat(Guard, at + length + 64).ToArray();

    private static void AssertGuards(byte[] dest, int at, int length)
    {
        Assert.All(dest.AsSpan(0, at).ToArray(), b => Assert.Equal(Guard, b));
        Assert.All(dest.AsSpan(at + length).ToArray(), b => Assert.Equal(Guard, b));
    }

    [Theory]
    [MemberData(nameof(DecodersAndLengths))]
    public void Decompresses_into_its_place_as_Snappier_does(bool native, int length)
    {
        var data = Text(length, length);
        var block = Compress(data);
        // The compressed block lies inside a larger array, as a page's body lies in the chunk's bytes.
        var src = new byte[block.Length + 37];
        block.CopyTo(src, 11);
        var dest = Destination(29, length);

        Assert.True(new SnappyInto(native).TryDecompress(src, 11, block.Length, dest, 29, length, out bool wrongSize));
        Assert.False(wrongSize);
        Assert.True(dest.AsSpan(29, length).SequenceEqual(data));
        Assert.True(dest.AsSpan(29, length).SequenceEqual(Snappier.Snappy.DecompressToArray(block)));
        AssertGuards(dest, 29, length);
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void Takes_no_buffer_of_the_page_s_size(bool native)
    {
        // Snappier's span overload rents a buffer as large as the page (the pool then keeps it) and copies
        // out of it; decompressing into the place takes no such buffer, on the first call either.
        var data = Text(4 << 20, 7);
        var block = Compress(data);
        var dest = new byte[data.Length];
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.True(new SnappyInto(native).TryDecompress(block, 0, block.Length, dest, 0, dest.Length, out _));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(dest.AsSpan().SequenceEqual(data));
        Assert.True(allocated < 1 << 20, $"{allocated} bytes allocated for a page of {data.Length}");
    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(true, -1)]
    [InlineData(true, -1000)]
    [InlineData(false, 1)]
    [InlineData(false, -1)]
    [InlineData(false, -1000)]
    public void A_block_of_another_size_than_its_page_is_refused(bool native, int pageMinusBlock)
    {
        if (native && SnappyInto.SystemLibrary is null) return; // no libsnappy here: Snappier's case covers it
        var data = Text(50_000, 3);
        var block = Compress(data);
        int length = data.Length + pageMinusBlock;
        var dest = Destination(5, length);

        Assert.False(new SnappyInto(native).TryDecompress(block, 0, block.Length, dest, 5, length, out bool wrongSize));
        Assert.True(wrongSize);
        AssertGuards(dest, 5, length);
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void Damaged_blocks_are_refused_or_stay_in_their_place(bool native)
    {
        // Snappy has no checksum: a damaged block may still decompress to the right size (the checks of
        // the values catch that); what must never happen is a write outside the page or an exception.
        var data = Text(200_000, 5);
        var block = Compress(data);
        var into = new SnappyInto(native);
        var other = new SnappyInto(!native && SnappyInto.SystemLibrary is not null);
        int refused = 0;
        for (int seed = 0; seed < 300; seed++)
        {
            var rnd = new Random(seed);
            var damaged = block.ToArray();
            int cut = seed % 3 == 0 ? rnd.Next(1, damaged.Length) : damaged.Length; // cut short, or bytes changed
            for (int k = 0; k < 1 + seed % 4; k++) damaged[rnd.Next(cut)] = (byte)rnd.Next(256);
            var dest = Destination(17, data.Length);
            bool ok = into.TryDecompress(damaged, 0, cut, dest, 17, data.Length, out bool wrong);
            if (!ok) refused++;
            AssertGuards(dest, 17, data.Length);
            // The other decoder takes and refuses the same blocks, and what both take, both read alike.
            var dest2 = Destination(17, data.Length);
            Assert.Equal(ok, other.TryDecompress(damaged, 0, cut, dest2, 17, data.Length, out bool wrong2));
            Assert.Equal(wrong, wrong2);
            if (ok) Assert.True(dest.AsSpan().SequenceEqual(dest2));
        }
        Assert.True(refused >= 100, $"{refused} of 300 refused");
        // The same instance still decompresses a sound block afterwards.
        var after = new byte[data.Length];
        Assert.True(into.TryDecompress(block, 0, block.Length, after, 0, after.Length, out _));
        Assert.True(after.AsSpan().SequenceEqual(data));
    }
}
