using Grouper.Stats;
using Xunit;

namespace Grouper.Tests.Stats;

public class StatsTests
{
    private static GroupSizeStats Of(params long[] sizes) => GroupSizeStats.Compute(sizes.Select(s => (s, s * 10)));

    [Fact]
    public void Size_distribution_known_answers()
    {
        var s = Of(Enumerable.Range(1, 10).Select(i => (long)i).ToArray());
        Assert.Equal(10, s.GroupCount);
        Assert.Equal(55, s.RecordCount);
        Assert.Equal(550, s.ByteCount);
        Assert.Equal((1L, 10L), (s.MinRecords, s.MaxRecords));
        Assert.Equal(5.5, s.MeanRecords);
        Assert.Equal(5.5, s.MedianRecords);
        Assert.Equal(1, s.P10Records);   // rank ceil(1.0) = 1
        Assert.Equal(9, s.P90Records);   // rank 9
        Assert.Equal(10, s.P99Records);  // rank ceil(9.9) = 10
        Assert.Equal(Math.Sqrt(8.25), s.StdDevRecords, 12); // population variance of 1..10
        Assert.Equal(10.0 / 55, s.Top1PercentShare, 12);    // the largest ceil(0.1) = 1 group
        // Gini of 1..n is (n-1)/(3n) for evenly spaced values: 9/30.
        Assert.Equal(0.3, s.Gini, 12);
        Assert.Equal(0, Of(4, 4, 4, 4).Gini, 12);
        Assert.Equal(0.25, Of(1, 3).Gini, 12);
        var skewed = Of(1, 1, 1, 1, 1, 1, 1, 1, 1, 991);
        Assert.Equal(0.891, skewed.Gini, 3);
        Assert.Equal(1, skewed.MedianRecords);
        Assert.Equal(0.991, skewed.Top1PercentShare, 12);
        Assert.Equal(Of(), new GroupSizeStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    }

    [Fact]
    public void Size_distribution_matches_a_sort_of_every_size_small_and_large()
    {
        // Sizes below and above the accumulator's dense limit (65,536 records), repeated and not, in any order.
        var rng = new Random(5);
        for (int round = 0; round < 40; round++)
        {
            var sizes = new long[rng.Next(1, 400)];
            for (int i = 0; i < sizes.Length; i++)
                sizes[i] = rng.Next(4) switch { 0 => rng.Next(1, 5), 1 => rng.Next(1, 70_000), 2 => 65_536 + rng.Next(3), _ => rng.Next(100_000, 3_000_000) };
            var acc = new GroupSizeStats.Accumulator();
            foreach (var x in sizes) acc.Add(x, 2 * x);
            var s = acc.Result();

            var sorted = sizes.Order().ToArray();
            long n = sorted.Length, total = sorted.Sum();
            long Rank(double p) => sorted[Math.Clamp((long)Math.Ceiling(p / 100.0 * n), 1, n) - 1];
            Assert.Equal((sorted[0], sorted[^1], total, 2 * total), (s.MinRecords, s.MaxRecords, s.RecordCount, s.ByteCount));
            Assert.Equal(n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0, s.MedianRecords);
            Assert.Equal((Rank(10), Rank(90), Rank(99)), (s.P10Records, s.P90Records, s.P99Records));
            double weighted = 0;
            for (int i = 0; i < n; i++) weighted += (i + 1) * (double)sorted[i];
            Assert.Equal(2 * weighted / (n * (double)total) - (n + 1.0) / n, s.Gini, 9);
            long top = (long)Math.Ceiling(0.01 * n);
            Assert.Equal((double)sorted.Reverse().Take((int)top).Sum() / total, s.Top1PercentShare, 12);
            var histogram = sorted.GroupBy(x => x).Select(g => (g.Key, (long)g.Count())).ToList();
            Assert.Equal(histogram, acc.Histogram());
        }
    }

    [Fact]
    public void Label_distances_known_answers()
    {
        double[] a = [1, 0, 0], b = [0, 0, 1], u = [1 / 3.0, 1 / 3.0, 1 / 3.0];
        Assert.Equal(0, ContentStats.JensenShannon(u, u), 12);
        Assert.Equal(1, ContentStats.JensenShannon(a, b), 12);
        Assert.Equal(1, ContentStats.Hellinger(a, b), 12);
        Assert.Equal(0, ContentStats.Hellinger(u, u), 12);
        Assert.Equal(2, ContentStats.EarthMovers(a, b, [0, 1, 2]), 12);
        Assert.Equal(20, ContentStats.EarthMovers(a, b, [0, 10, 20]), 12);
        Assert.Equal(1, ContentStats.EarthMovers(a, u, [0, 1, 2]), 12); // |1-1/3| + |1-2/3|
        Assert.Equal(Math.Log2(3), ContentStats.Entropy(u), 12);
        Assert.Equal(0, ContentStats.Entropy(a), 12);
        // JS of [1,0] vs [1/2,1/2]: 0.5·log2(4/3) + 0.25·log2(2/3)·… computed by hand = 0.3112781
        Assert.Equal(0.3112781, ContentStats.JensenShannon([1, 0], [0.5, 0.5]), 6);
        Assert.Equal(Math.Sqrt(1 - Math.Sqrt(0.5)), ContentStats.Hellinger([1, 0], [0.5, 0.5]), 12);
    }

    [Fact]
    public void Words_split_on_unicode_whitespace()
    {
        long w = 0, c = 0;
        ContentStats.CountText("one  two\u00A0three\u2003four\tfive\nsix 😀", ref w, ref c);
        Assert.Equal(7, w);
        Assert.Equal(30, c); // the emoji is one character (two UTF-16 units)
        w = c = 0;
        ContentStats.CountText("   ", ref w, ref c);
        Assert.Equal((0L, 3L), (w, c));
    }
}
