using Grouper.Stats;
using Xunit;

namespace Grouper.Tests.Writer;

public class GroupSizeStatsTests
{
    [Fact]
    public void Known_answers()
    {
        // sizes 1..10: mean 5.5, median (5+6)/2, p90 = rank 9 -> 9, p99 = rank 10 -> 10
        var s = GroupSizeStats.Compute(Enumerable.Range(1, 10).Select(i => ((long)i, (long)i * 100)));
        Assert.Equal(new GroupSizeStats(10, 55, 5500, 1, 10, 5.5, 5.5, 9, 10), s);
        // odd count, skewed: 1,1,1,2,100
        s = GroupSizeStats.Compute(new (long, long)[] { (100, 0), (1, 0), (2, 0), (1, 0), (1, 0) });
        Assert.Equal(1, s.MedianRecords);
        Assert.Equal(100, s.P90Records); // rank ceil(4.5) = 5
        Assert.Equal(21, s.MeanRecords);
        Assert.Equal(new GroupSizeStats(0, 0, 0, 0, 0, 0, 0, 0, 0), GroupSizeStats.Compute(Array.Empty<(long, long)>()));
        Assert.Equal(99, GroupSizeStats.NearestRank(Enumerable.Range(1, 100).Select(i => (long)i).ToList(), 99));
    }
}
