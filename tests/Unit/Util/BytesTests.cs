using Grouper.Util;
using Xunit;

namespace Grouper.Tests;

/// <summary>
/// The inlined comparison the merge, the shard writer and the sort use must order, match and share prefixes of
/// byte strings exactly as CoreLib's span methods do: unsigned bytes, a prefix before what extends it, every length
/// around the 8-byte words it reads.
/// </summary>
public class BytesTests
{
    private static IEnumerable<byte[]> Strings()
    {
        var rng = new Random(5);
        byte[] alphabet = [0x00, 0x01, 0x41, 0x7F, 0x80, 0xC3, 0xFF];
        for (int i = 0; i < 400; i++)
        {
            var s = new byte[rng.Next(0, 27)];
            for (int j = 0; j < s.Length; j++) s[j] = alphabet[rng.Next(alphabet.Length)];
            yield return s;
        }
    }

    [Fact]
    public void Compare_orders_as_SequenceCompareTo_Equal_matches_SequenceEqual_and_CommonPrefix_CommonPrefixLength()
    {
        var all = Strings().ToList();
        // Pairs that share long prefixes too: each string against copies of itself changed at one place or cut short.
        foreach (var s in all.Take(60).ToList())
            for (int k = 0; k < s.Length; k++)
            {
                var changed = (byte[])s.Clone();
                changed[k] ^= 0x80;
                all.Add(changed);
                all.Add(s[..k]);
            }
        int equal = 0;
        foreach (var a in all)
            foreach (var b in all.Take(200))
            {
                Assert.Equal(Math.Sign(a.AsSpan().SequenceCompareTo(b)), Math.Sign(Bytes.Compare(a, b)));
                bool same = a.AsSpan().SequenceEqual(b);
                Assert.Equal(same, Bytes.Equal(a, b));
                Assert.Equal(a.AsSpan().CommonPrefixLength(b), Bytes.CommonPrefix(a, b));
                if (same) equal++;
            }
        Assert.True(equal > 200, $"{equal} equal pairs: the test wants some");
    }

    [Fact]
    public void Copy_writes_the_value_and_nothing_around_it_at_every_length()
    {
        var rng = new Random(3);
        for (int n = 0; n <= 300; n++)
            foreach (int at in new[] { 0, 1, 7, 13 })
            {
                var source = new byte[n + 40];
                rng.NextBytes(source);
                var value = source.AsSpan(at % 5, n); // unaligned, with readable bytes past its end that must not be copied
                var destination = new byte[n + 64];
                destination.AsSpan().Fill(0xA5);
                Bytes.Copy(value, destination.AsSpan(at, n + 64 - at));
                Assert.True(destination.AsSpan(at, n).SequenceEqual(value), $"length {n} at {at}: the value");
                Assert.True(destination.AsSpan(0, at).IndexOfAnyExcept((byte)0xA5) < 0, $"length {n} at {at}: a byte before it written");
                Assert.True(destination.AsSpan(at + n).IndexOfAnyExcept((byte)0xA5) < 0, $"length {n} at {at}: a byte after it written");
            }
        Assert.Throws<ArgumentException>(() => Bytes.Copy(new byte[10], new byte[9]));
        Assert.Throws<ArgumentException>(() => Bytes.Copy(new byte[300], new byte[299]));
    }
}
