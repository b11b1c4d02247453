using System.Globalization;
using Grouper.Format;
using Grouper.Partitioning;

namespace Grouper.Reading;

/// <summary>Which side of a split to read.</summary>
public enum SplitSide { Train, Test }

/// <summary>
/// Which groups to read and in what order, decided from the index alone (no record is read): size
/// filters, a held-out fraction of groups, and a seeded shuffle. The same options give the same groups
/// in the same order on every run, so <see cref="Skip"/> resumes a stream where it stopped.
/// </summary>
public sealed class GroupSelection
{
    public long? MinRecords { get; init; }
    public long? MaxRecords { get; init; }
    public long? MinBytes { get; init; }
    public long? MaxBytes { get; init; }

    /// <summary>
    /// Hold out this fraction of groups as the test side: a group is test when the uniform draw from
    /// xxHash3(key, <see cref="SplitSeed"/>) is below the fraction. Null: no split.
    /// </summary>
    public double? TestFraction { get; init; }
    public long SplitSeed { get; init; }
    public SplitSide Side { get; init; } = SplitSide.Train;

    /// <summary>Shuffle the groups by xxHash3(key, seed); null keeps storage order.</summary>
    public long? ShuffleSeed { get; init; }

    /// <summary>Skip this many selected groups (to resume).</summary>
    public long Skip { get; init; }

    public bool Matches(GroupInfo g) =>
        (MinRecords is null || g.RecordCount >= MinRecords) && (MaxRecords is null || g.RecordCount <= MaxRecords)
        && (MinBytes is null || g.ByteCount >= MinBytes) && (MaxBytes is null || g.ByteCount <= MaxBytes)
        && (TestFraction is not { } f || IsTest(g.Key, f, SplitSeed) == (Side == SplitSide.Test));

    /// <summary>Whether a group is on the test side of a split by groups.</summary>
    public static bool IsTest(string key, double fraction, long seed) => StableRandom.Unit(StableRandom.Hash(key, seed)) < fraction;

    /// <summary>
    /// The selected groups. In storage order this streams the index; shuffled, it holds 16 bytes per
    /// selected group (hash and position) and fetches each group from the index by position.
    /// </summary>
    public IEnumerable<GroupInfo> Apply(GroupedDataset ds)
    {
        var selected = ds.EnumerateGroups().Where(Matches);
        if (ShuffleSeed is not { } seed) return selected.Skip(checked((int)Math.Min(Skip, int.MaxValue)));
        return Shuffled(ds, selected, seed);
    }

    private IEnumerable<GroupInfo> Shuffled(GroupedDataset ds, IEnumerable<GroupInfo> selected, long seed)
    {
        var order = selected.Select(g => (Hash: StableRandom.Hash(g.Key, seed), g.Ordinal)).ToArray();
        Array.Sort(order);
        for (long i = Skip; i < order.Length; i++) yield return ds.GetGroup(order[i].Ordinal)!;
    }

    public IReadOnlyDictionary<string, string> Describe()
    {
        var d = new SortedDictionary<string, string>(StringComparer.Ordinal);
        void Add(string k, object? v) { if (v is not null) d[k] = Convert.ToString(v, CultureInfo.InvariantCulture)!; }
        Add("minRecords", MinRecords); Add("maxRecords", MaxRecords); Add("minBytes", MinBytes); Add("maxBytes", MaxBytes);
        Add("testFraction", TestFraction); if (TestFraction is not null) { Add("splitSeed", SplitSeed); Add("side", Side); }
        Add("shuffleSeed", ShuffleSeed); if (Skip > 0) Add("skip", Skip);
        return d;
    }
}

/// <summary>One round's cohort of groups.</summary>
public sealed record Cohort(int Round, IReadOnlyList<GroupInfo> Groups);

/// <summary>
/// Samples K groups per round for federated rounds. Round r depends only on (seed, r), so a run can
/// resume at any round. Uniform: K distinct groups, each equally likely. Size-weighted: K distinct
/// groups, each drawn with probability proportional to its record count (Efraimidis–Spirakis).
/// </summary>
public static class CohortSampler
{
    public static IEnumerable<Cohort> Sample(GroupedDataset ds, GroupSelection? filter, int perRound, int rounds, long seed,
        bool sizeWeighted = false, int firstRound = 0)
    {
        if (perRound < 1) throw new GrouperException(GrouperErrorKind.InvalidArgument, $"Groups per round must be at least 1 (it is {perRound}).");
        if (rounds < 0 || firstRound < 0) throw new GrouperException(GrouperErrorKind.InvalidArgument, "Rounds must not be negative.");
        filter ??= new GroupSelection();
        // Eligible positions: 8 bytes per selected group.
        var eligible = ds.EnumerateGroups().Where(filter.Matches).Select(g => g.Ordinal).ToArray();
        if (eligible.Length < perRound)
            throw new GrouperException(GrouperErrorKind.InvalidArgument, $"Only {eligible.Length} groups are eligible; a round needs {perRound}.");
        for (int r = firstRound; r < firstRound + rounds; r++)
        {
            var rng = new SplitMix64(StableRandom.Derive(seed, r));
            long[] picked = sizeWeighted ? Weighted(ds, eligible, perRound, rng) : Uniform(eligible, perRound, rng);
            yield return new Cohort(r, picked.Select(o => ds.GetGroup(o)!).ToList());
        }
    }

    private static long[] Uniform(long[] eligible, int k, SplitMix64 rng)
    {
        // Floyd's algorithm: k distinct indices without touching the others.
        var chosen = new HashSet<int>();
        var order = new List<int>(k);
        for (int j = eligible.Length - k; j < eligible.Length; j++)
        {
            int t = (int)(rng.NextUInt64() % (ulong)(j + 1));
            int pick = chosen.Add(t) ? t : j;
            if (pick == j) chosen.Add(j);
            order.Add(pick);
        }
        return order.Select(i => eligible[i]).ToArray();
    }

    private static long[] Weighted(GroupedDataset ds, long[] eligible, int k, SplitMix64 rng)
    {
        // Keep the k largest u^(1/w): a min-heap of (key, position).
        var heap = new PriorityQueue<long, double>();
        foreach (var o in eligible)
        {
            double w = Math.Max(1, ds.GetGroup(o)!.RecordCount);
            double key = Math.Log(rng.NextDouble()) / w; // log of u^(1/w), same order
            if (heap.Count < k) heap.Enqueue(o, key);
            else if (heap.TryPeek(out _, out var min) && key > min) heap.DequeueEnqueue(o, key);
        }
        var result = new List<long>(k);
        while (heap.Count > 0) result.Add(heap.Dequeue());
        result.Reverse();
        return result.ToArray();
    }
}

/// <summary>
/// Splits each group's records: First keeps the first (1 − f) of a group's records for training and the
/// rest for testing; Random puts record i of a group on the test side when the draw from
/// xxHash3(i, seed derived from the key) is below f.
/// </summary>
public sealed record WithinGroupSplit(double TestFraction, bool Random = false, long Seed = 0, SplitSide Side = SplitSide.Train)
{
    public bool Includes(GroupInfo g, long index)
    {
        bool test = Random
            ? StableRandom.Unit(StableRandom.Hash(index, StableRandom.Derive(Seed, g.Key))) < TestFraction
            : index >= g.RecordCount - (long)Math.Round(g.RecordCount * TestFraction, MidpointRounding.AwayFromZero);
        return test == (Side == SplitSide.Test);
    }
}
