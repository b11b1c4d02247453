using Grouper.Format;
using Xunit;

namespace Grouper.Tests.Writer;

/// <summary>
/// Zstd pages decompressed into the caller's place, by the system's libzstd where it loads and by ZstdSharp
/// otherwise: the bytes compressed, nothing written outside the place, several frames read as one page, and a
/// damaged or wrongly sized page refused.
/// </summary>
public class ZstdIntoTests
{
    private const byte Guard = 0xA5;

    // Where Linux has libzstd (Debian installs it with dpkg) it must be found and used; both decoders are then
    // held to the same behaviour. Elsewhere ZstdSharp's is checked alone.
    public static TheoryData<bool> Decoders()
    {
        bool systemHasIt = OperatingSystem.IsLinux() && System.Runtime.InteropServices.NativeLibrary.TryLoad("libzstd.so.1", out _);
        Assert.Equal(systemHasIt, ZstdInto.SystemLibrary is not null);
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

    private static byte[] Text(int length, int seed) => SnappyIntoTests.Text(length, seed);

    private static byte[] Compress(byte[] data, int level = 3) => new ZstdSharp.Compressor(level).Wrap(data).ToArray();

    // Decompresses into dest[at .. at + length) of an array with guard bytes on both sides, and checks them.
    private static (bool Ok, byte[] Place) Into(byte[] frames, int length, bool native)
    {
        const int at = 13;
        var dest = Enumerable.Repeat(Guard, at + length + 64).ToArray();
        bool ok = ZstdInto.TryDecompress(frames, dest.AsSpan(at, length), native);
        Assert.All(dest.AsSpan(0, at).ToArray(), b => Assert.Equal(Guard, b));
        Assert.All(dest.AsSpan(at + length).ToArray(), b => Assert.Equal(Guard, b));
        return (ok, dest.AsSpan(at, length).ToArray());
    }

    [Theory]
    [MemberData(nameof(DecodersAndLengths))]
    public void Decompresses_the_bytes_compressed_into_their_place(bool native, int length)
    {
        var data = Text(length, length);
        foreach (int level in new[] { 1, 3, 19 })
        {
            var (ok, place) = Into(Compress(data, level), length, native);
            Assert.True(ok);
            Assert.Equal(data, place);
        }
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void Several_frames_are_one_page(bool native)
    {
        byte[] first = Text(40_000, 1), second = Text(25_000, 2);
        var (ok, place) = Into([.. Compress(first), .. Compress(second)], first.Length + second.Length, native);
        Assert.True(ok);
        Assert.Equal([.. first, .. second], place);
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void A_page_of_another_size_than_its_frames_is_refused(bool native)
    {
        var data = Text(50_000, 3);
        var frames = Compress(data);
        foreach (int pageMinusContent in new[] { 1, -1, -1000, 1000 })
            Assert.False(Into(frames, data.Length + pageMinusContent, native).Ok);
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void Damaged_pages_are_refused_or_stay_in_their_place(bool native)
    {
        var data = Text(200_000, 5);
        var frames = Compress(data);
        int refused = 0;
        for (int seed = 0; seed < 300; seed++)
        {
            var rnd = new Random(seed);
            var damaged = frames.ToArray();
            int cut = seed % 3 == 0 ? rnd.Next(1, damaged.Length) : damaged.Length; // cut short, or bytes changed
            for (int k = 0; k < 1 + seed % 4; k++) damaged[rnd.Next(cut)] = (byte)rnd.Next(256);
            // Without a checksum in the frame (writers leave it out) a damaged page may decompress to the right
            // size (the checks of the values catch what they can); what must never happen is a write outside
            // the page or an exception.
            if (!Into(damaged[..cut], data.Length, native).Ok) refused++;
        }
        Assert.True(refused >= 100, $"{refused} of 300 refused");
    }
}
