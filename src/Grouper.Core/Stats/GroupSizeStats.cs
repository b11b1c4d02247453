using Grouper.Format;

namespace Grouper.Stats;

/// <summary>
/// Group count, totals and the distribution of group sizes (records per group), from one pass over the
/// index. Memory: one entry per distinct group size, not per group.
/// Percentiles use the nearest-rank method: the p-th percentile is the value at 1-based rank
/// ceil(p/100 · n) of the sorted sizes. The median is the middle size, or the mean of the two middle
/// sizes when the count is even. StdDev is the population standard deviation. Gini is the Gini
/// coefficient of the sizes (0: all equal; near 1: one group holds nearly all records).
/// Top1PercentShare is the share of records in the largest ceil(1% · n) groups.
/// </summary>
public sealed record GroupSizeStats(
    long GroupCount, long RecordCount, long ByteCount,
    long MinRecords, long MaxRecords, double MeanRecords, double MedianRecords,
    long P10Records, long P90Records, long P99Records, double StdDevRecords, double Gini, double Top1PercentShare)
{
    public static GroupSizeStats Compute(IEnumerable<GroupInfo> groups) =>
        Compute(groups.Select(g => (g.RecordCount, g.ByteCount)));

    public static GroupSizeStats Compute(IEnumerable<(long Records, long Bytes)> groups)
    {
        var acc = new Accumulator();
        foreach (var (r, b) in groups) acc.Add(r, b);
        return acc.Result();
    }

    /// <summary>Adds groups one at a time (a build feeds it as it writes) and computes the statistics at the end.</summary>
    public sealed class Accumulator
    {
        private readonly Dictionary<long, long> _sizes = new();
        private long _groups, _records, _bytes;
        private double _sumSquares;

        public void Add(long records, long bytes)
        {
            _sizes[records] = _sizes.GetValueOrDefault(records) + 1;
            _groups++;
            _records += records;
            _bytes += bytes;
            _sumSquares += (double)records * records;
        }

        public GroupSizeStats Result()
        {
            if (_groups == 0) return new GroupSizeStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
            var sorted = _sizes.OrderBy(p => p.Key).ToArray();
            long n = _groups;
            double mean = (double)_records / n;
            double median = n % 2 == 1 ? AtRank(sorted, n / 2 + 1) : (AtRank(sorted, n / 2) + AtRank(sorted, n / 2 + 1)) / 2.0;
            double variance = Math.Max(0, _sumSquares / n - mean * mean);

            // Gini = 2·Σ i·x_i / (n·Σx) − (n+1)/n over the sizes in ascending order, i from 1.
            double weighted = 0;
            long rank = 0;
            foreach (var (size, count) in sorted)
            {
                double first = rank + 1, last = rank + count;
                weighted += size * (first + last) * count / 2.0;
                rank += count;
            }
            double gini = _records == 0 ? 0 : 2 * weighted / (n * (double)_records) - (n + 1.0) / n;

            long top = (long)Math.Ceiling(0.01 * n), taken = 0, topRecords = 0;
            for (int i = sorted.Length - 1; i >= 0 && taken < top; i--)
            {
                long k = Math.Min(sorted[i].Value, top - taken);
                topRecords += k * sorted[i].Key;
                taken += k;
            }
            return new GroupSizeStats(n, _records, _bytes, sorted[0].Key, sorted[^1].Key, mean, median,
                NearestRank(sorted, n, 10), NearestRank(sorted, n, 90), NearestRank(sorted, n, 99), Math.Sqrt(variance), gini,
                _records == 0 ? 0 : (double)topRecords / _records);
        }

        /// <summary>The distinct sizes and how many groups have each, ascending (for histograms and CDFs).</summary>
        public IReadOnlyList<(long Size, long Groups)> Histogram() => _sizes.OrderBy(p => p.Key).Select(p => (p.Key, p.Value)).ToList();
    }

    private static long AtRank(KeyValuePair<long, long>[] sorted, long rank)
    {
        long seen = 0;
        foreach (var (size, count) in sorted)
        {
            seen += count;
            if (seen >= rank) return size;
        }
        return sorted[^1].Key;
    }

    private static long NearestRank(KeyValuePair<long, long>[] sorted, long n, double percent) =>
        AtRank(sorted, Math.Clamp((long)Math.Ceiling(percent / 100.0 * n), 1, n));

    /// <summary>The nearest-rank percentile of sorted values.</summary>
    public static long NearestRank(IReadOnlyList<long> sorted, double percent)
    {
        if (sorted.Count == 0) return 0;
        int rank = (int)Math.Ceiling(percent / 100.0 * sorted.Count);
        return sorted[Math.Clamp(rank, 1, sorted.Count) - 1];
    }
}
