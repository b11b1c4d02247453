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
}
