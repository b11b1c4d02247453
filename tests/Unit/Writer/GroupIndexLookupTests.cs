using System.Text;
using Grouper.Format;
using Xunit;

namespace Grouper.Tests.Writer;

/// <summary>Finding a group by key and by position in an index of several blocks, keys of every length and script.</summary>
public class GroupIndexLookupTests
{
    // Keys in the index's order (ascending UTF-8 bytes): prefixes of one another, non-ASCII, a stored U+FFFD.
    private static List<string> Keys()
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < 4000; i++) keys.Add($"user-{i * 7919 % 100_000}");
        foreach (var k in new[] { "a", "ab", "abc", "abcd", "é", "éé", "日本", "日本語", "😀", "😀x", "x\uFFFD", "x", "user-", "" })
            keys.Add(k);
        for (int i = 0; i < 300; i++) keys.Add(new string('k', 1 + i % 90) + i);
        var list = keys.ToList();
        list.Sort((a, b) => Encoding.UTF8.GetBytes(a).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(b)));
        return list;
    }

    // An index of these keys, written and opened.
    private static GroupIndexReader Written(TempDir t, List<string> keys)
    {
        using (var w = new GroupIndexWriter(t["index.gidx"]))
        {
            for (int i = 0; i < keys.Count; i++) w.Add(Encoding.UTF8.GetBytes(keys[i]), i / 500, 3L * i, i % 17 + 1, 100L * i);
            w.Finish();
        }
        return new GroupIndexReader(t["index.gidx"]);
    }

    [Fact]
    public void Every_key_is_found_in_any_order_and_keys_not_stored_are_not()
    {
        using var t = new TempDir();
        var keys = Keys();
        using var r = Written(t, keys);
        Assert.True(r.BlockCount >= 3, $"{r.BlockCount} blocks: the test wants several");
        var all = r.Enumerate().ToList();
        Assert.Equal(keys, all.Select(g => g.Key));

        var random = new Random(17);
        foreach (int i in Enumerable.Range(0, keys.Count).OrderBy(_ => random.Next()))
            Assert.Equal(all[i], r.Find(keys[i]));

        // Between two stored keys, before the first, after the last, and longer than any stored key.
        foreach (var missing in new[] { "a\0", "aa", "abcde", "user-0\0", "zzzz", "\u00ff", "日", "😀y", "user-999999", new string('k', 200) })
            Assert.Null(r.Find(missing));
        // An unpaired surrogate is no key (not U+FFFD's, which is stored).
        Assert.Equal(all[keys.IndexOf("x\uFFFD")], r.Find("x\uFFFD"));
        Assert.Null(r.Find("x\uD800"));
        Assert.Null(r.Find("\uDC00"));
    }

    [Fact]
    public void Lookups_in_storage_order_decode_each_block_once_and_mix_with_lookups_by_position()
    {
        using var t = new TempDir();
        var keys = Keys();
        using var r = Written(t, keys);
        var all = r.Enumerate().ToList();

        for (int i = 0; i < keys.Count; i++) Assert.Equal(all[i], r.Find(keys[i]));
        Assert.Equal(r.BlockCount, r.BlocksDecoded);

        // By position and by key, in turns, far apart: each answer from the block it needs.
        var random = new Random(5);
        for (int n = 0; n < 2000; n++)
        {
            int i = random.Next(keys.Count), j = random.Next(keys.Count);
            Assert.Equal(all[i], r.GetByOrdinal(i));
            Assert.Equal(all[j], r.Find(keys[j]));
        }
        Assert.Null(r.GetByOrdinal(keys.Count));
        Assert.Null(r.GetByOrdinal(-1));
    }
}
