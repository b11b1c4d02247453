using Grouper.Util;
using Xunit;

namespace Grouper.Tests;

public class SortedTests
{
    [Fact]
    public void Last_at_or_before_agrees_with_a_linear_search()
    {
        var rng = new Random(11);
        for (int round = 0; round < 2000; round++)
        {
            // Ascending, with repeats (a shard's empty row groups start where the next one does).
            var sorted = new long[rng.Next(0, 12)];
            for (int i = 0; i < sorted.Length; i++) sorted[i] = (i == 0 ? rng.Next(-3, 3) : sorted[i - 1]) + rng.Next(0, 3);
            long value = rng.Next(-5, 30);
            int expected = -1;
            for (int i = 0; i < sorted.Length; i++) if (sorted[i] <= value) expected = i;
            Assert.Equal(expected, Sorted.LastAtOrBefore(sorted, value));
        }
    }
}
