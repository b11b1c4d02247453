namespace Grouper.Util;

/// <summary>Searches in ascending arrays.</summary>
/// <remarks>
/// Written out rather than <c>Array.BinarySearch&lt;long&gt;</c>, whose generic code for a value type is
/// compiled when first used (it is not in the runtime's precompiled images): opening a dataset and
/// fetching a first group should not wait for the compiler.
/// </remarks>
internal static class Sorted
{
    /// <summary>The last position whose value is at most <paramref name="value"/>, or -1 when all are larger.</summary>
    public static int LastAtOrBefore(long[] sorted, long value)
    {
        int lo = 0, hi = sorted.Length - 1, found = -1;
        while (lo <= hi)
        {
            int mid = lo + ((hi - lo) >> 1);
            if (sorted[mid] <= value) { found = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        return found;
    }
}
