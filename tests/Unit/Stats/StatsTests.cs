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
