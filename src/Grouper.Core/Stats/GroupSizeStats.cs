using Grouper.Format;

namespace Grouper.Stats;

/// <summary>
/// Group count, totals and the distribution of group sizes (records per group), from one pass over the
/// index. Memory: a count per group size up to the largest below 65,536 records, and one entry per
/// group of 65,536 records or more; not one per group.
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
    /// <remarks>
    /// The count of groups of each size is kept in an array indexed by the size (below 65,536 records;
    /// larger groups, of which a dataset has few, in a list of their own) rather than a dictionary of
    /// numbers and LINQ's sort: generic code of a value type is compiled when first used, and these took
    /// some forty compilations from every build.
    /// </remarks>
    public sealed class Accumulator
    {
        private const int DenseLimit = 1 << 16;
        private long[] _counts = new long[256]; // groups of each size below DenseLimit
        private long[] _large = new long[8];    // sizes of the groups at or above it, unsorted
        private int _largeCount;
        private long _groups, _records, _bytes;
        private double _sumSquares;

        public void Add(long records, long bytes)
        {
            if (records < DenseLimit)
            {
                if (records >= _counts.Length) _counts = Grown(_counts, (int)Math.Min(DenseLimit, Math.Max(records + 1, _counts.Length * 2L)));
                _counts[records]++;
            }
            else
            {
                if (_largeCount == _large.Length) _large = Grown(_large, _large.Length * 2);
                _large[_largeCount++] = records;
            }
            _groups++;
            _records += records;
            _bytes += bytes;
            _sumSquares += (double)records * records;
        }

        /// <summary>Adds the groups <paramref name="other"/> counted (a build's second half, after its first).</summary>
        public void Add(Accumulator other)
        {
            if (other._counts.Length > _counts.Length) _counts = Grown(_counts, other._counts.Length);
            for (int i = 0; i < other._counts.Length; i++) _counts[i] += other._counts[i];
            for (int i = 0; i < other._largeCount; i++)
            {
                if (_largeCount == _large.Length) _large = Grown(_large, _large.Length * 2);
                _large[_largeCount++] = other._large[i];
            }
            _groups += other._groups;
            _records += other._records;
            _bytes += other._bytes;
            _sumSquares += other._sumSquares;
        }

        private static long[] Grown(long[] a, int length)
        {
            var b = new long[length];
            Buffer.BlockCopy(a, 0, b, 0, a.Length * sizeof(long));
            return b;
        }

        /// <summary>The distinct sizes, ascending, and how many groups have each.</summary>
        private (long[] Sizes, long[] Counts) Sorted()
        {
            // The few large sizes by insertion, then merged with the dense ones after them.
            for (int i = 1; i < _largeCount; i++)
            {
                long v = _large[i];
                int j = i - 1;
                for (; j >= 0 && _large[j] > v; j--) _large[j + 1] = _large[j];
                _large[j + 1] = v;
            }
            int distinct = 0;
            foreach (var c in _counts) if (c != 0) distinct++;
            for (int i = 0; i < _largeCount; i++) if (i == 0 || _large[i] != _large[i - 1]) distinct++;
            var sizes = new long[distinct];
            var counts = new long[distinct];
            int n = 0;
            for (int size = 0; size < _counts.Length; size++)
                if (_counts[size] != 0) { sizes[n] = size; counts[n] = _counts[size]; n++; }
            for (int i = 0; i < _largeCount; i++)
            {
                if (i > 0 && _large[i] == _large[i - 1]) { counts[n - 1]++; continue; }
                sizes[n] = _large[i];
                counts[n] = 1;
                n++;
            }
            return (sizes, counts);
        }

        public GroupSizeStats Result()
        {
            if (_groups == 0) return new GroupSizeStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
            var (sizes, counts) = Sorted();
            long n = _groups;
            double mean = (double)_records / n;
            double median = n % 2 == 1 ? AtRank(sizes, counts, n / 2 + 1) : (AtRank(sizes, counts, n / 2) + AtRank(sizes, counts, n / 2 + 1)) / 2.0;
            double variance = Math.Max(0, _sumSquares / n - mean * mean);

            // Gini = 2·Σ i·x_i / (n·Σx) − (n+1)/n over the sizes in ascending order, i from 1.
            double weighted = 0;
            long rank = 0;
            for (int i = 0; i < sizes.Length; i++)
            {
                long size = sizes[i], count = counts[i];
                double first = rank + 1, last = rank + count;
                weighted += size * (first + last) * count / 2.0;
                rank += count;
            }
            double gini = _records == 0 ? 0 : 2 * weighted / (n * (double)_records) - (n + 1.0) / n;

            long top = (long)Math.Ceiling(0.01 * n), taken = 0, topRecords = 0;
            for (int i = sizes.Length - 1; i >= 0 && taken < top; i--)
            {
                long k = Math.Min(counts[i], top - taken);
                topRecords += k * sizes[i];
                taken += k;
            }
            return new GroupSizeStats(n, _records, _bytes, sizes[0], sizes[^1], mean, median,
                NearestRank(sizes, counts, n, 10), NearestRank(sizes, counts, n, 90), NearestRank(sizes, counts, n, 99), Math.Sqrt(variance), gini,
                _records == 0 ? 0 : (double)topRecords / _records);
        }

        /// <summary>The distinct sizes and how many groups have each, ascending (for histograms and CDFs).</summary>
        public IReadOnlyList<(long Size, long Groups)> Histogram()
        {
            var (sizes, counts) = Sorted();
            var result = new List<(long Size, long Groups)>(sizes.Length);
            for (int i = 0; i < sizes.Length; i++) result.Add((sizes[i], counts[i]));
            return result;
        }
    }

    private static long AtRank(long[] sizes, long[] counts, long rank)
    {
        long seen = 0;
        for (int i = 0; i < sizes.Length; i++)
        {
            seen += counts[i];
            if (seen >= rank) return sizes[i];
        }
        return sizes[^1];
    }

    private static long NearestRank(long[] sizes, long[] counts, long n, double percent) =>
        AtRank(sizes, counts, Math.Clamp((long)Math.Ceiling(percent / 100.0 * n), 1, n));

    /// <summary>The nearest-rank percentile of sorted values.</summary>
    public static long NearestRank(IReadOnlyList<long> sorted, double percent)
    {
        if (sorted.Count == 0) return 0;
        int rank = (int)Math.Ceiling(percent / 100.0 * sorted.Count);
        return sorted[Math.Clamp(rank, 1, sorted.Count) - 1];
    }
}
