using Grouper.Format;

namespace Grouper.Stats;

/// <summary>
/// Group count, totals and the distribution of group sizes (records per group). Percentiles use the
/// nearest-rank method: the p-th percentile is the smallest size such that at least p% of the groups
/// are no larger (the value at 1-based rank ceil(p/100 · n) of the sorted sizes). The median is the
/// middle size, or the mean of the two middle sizes when the count is even.
/// </summary>
public sealed record GroupSizeStats(
    long GroupCount, long RecordCount, long ByteCount,
    long MinRecords, long MaxRecords, double MeanRecords, double MedianRecords, long P90Records, long P99Records)
{
    /// <summary>Computes the statistics in one pass over the groups; holds one number per group.</summary>
    public static GroupSizeStats Compute(IEnumerable<GroupInfo> groups) =>
        Compute(groups.Select(g => (g.RecordCount, g.ByteCount)));

    public static GroupSizeStats Compute(IEnumerable<(long Records, long Bytes)> groups)
    {
        var sizes = new List<long>();
        long records = 0, bytes = 0;
        foreach (var (r, b) in groups)
        {
            sizes.Add(r);
            records += r;
            bytes += b;
        }
        if (sizes.Count == 0) return new GroupSizeStats(0, 0, 0, 0, 0, 0, 0, 0, 0);
        sizes.Sort();
        int n = sizes.Count;
        double median = n % 2 == 1 ? sizes[n / 2] : (sizes[n / 2 - 1] + sizes[n / 2]) / 2.0;
        return new GroupSizeStats(n, records, bytes, sizes[0], sizes[^1], (double)records / n, median,
            NearestRank(sizes, 90), NearestRank(sizes, 99));
    }

    /// <summary>The nearest-rank percentile of sorted values.</summary>
    public static long NearestRank(IReadOnlyList<long> sorted, double percent)
    {
        if (sorted.Count == 0) return 0;
        int rank = (int)Math.Ceiling(percent / 100.0 * sorted.Count);
        return sorted[Math.Clamp(rank, 1, sorted.Count) - 1];
    }
}
