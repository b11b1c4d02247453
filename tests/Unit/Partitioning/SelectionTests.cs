using Grouper.Keys;
using Grouper.Reading;
using Grouper.Schema;
using Grouper.Writer;
using Xunit;
using static Grouper.Tests.TestRecords;

namespace Grouper.Tests.Partitioning;

public class SelectionTests : IDisposable
{
    private readonly TempDir _t = new();
    private readonly GroupedDataset _ds;

    public SelectionTests()
    {
        // 200 groups; group gNNN has NNN % 20 + 1 records.
        var rows = Enumerable.Range(0, 200).SelectMany(g => Enumerable.Range(0, g % 20 + 1).Select(i => new object?[] { $"g{g:D3}", (long)i })).ToList();
        using (var b = new GroupedDatasetBuilder(_t["ds"], new BuildOptions { Key = KeySpec.FromColumns("k") }))
        {
            using (var r = new TestRecords("in", [Col("k", ValueKind.String), Col("i", ValueKind.Int64)], rows)) b.AddAll(r);
            b.Complete();
        }
        _ds = GroupedDataset.Open(_t["ds"]);
    }

    public void Dispose()
    {
        _ds.Dispose();
        _t.Dispose();
    }

    [Fact]
    public void Size_filters_read_only_the_index()
    {
        var sel = new GroupSelection { MinRecords = 5, MaxRecords = 10 }.Apply(_ds).ToList();
        Assert.Equal(60, sel.Count);
        Assert.All(sel, g => Assert.InRange(g.RecordCount, 5, 10));
        Assert.NotEmpty(new GroupSelection { MinBytes = 50 }.Apply(_ds));
    }

    [Fact]
    public void Shuffle_is_a_seeded_permutation_and_skip_resumes()
    {
        var a = new GroupSelection { ShuffleSeed = 1 }.Apply(_ds).Select(g => g.Key).ToList();
        var b = new GroupSelection { ShuffleSeed = 1 }.Apply(_ds).Select(g => g.Key).ToList();
        var c = new GroupSelection { ShuffleSeed = 2 }.Apply(_ds).Select(g => g.Key).ToList();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.Equal(_ds.EnumerateGroups().Select(g => g.Key).Order(), a.Order());
        Assert.NotEqual(a, a.Order(StringComparer.Ordinal));
        Assert.Equal(a.Skip(150), new GroupSelection { ShuffleSeed = 1, Skip = 150 }.Apply(_ds).Select(g => g.Key));
        Assert.Equal(_ds.EnumerateGroups().Skip(7).Select(g => g.Key), new GroupSelection { Skip = 7 }.Apply(_ds).Select(g => g.Key));
    }

    [Fact]
    public void Held_out_groups_are_a_seeded_fraction_and_the_sides_are_complementary()
    {
        var train = new GroupSelection { TestFraction = 0.25, SplitSeed = 3 }.Apply(_ds).Select(g => g.Key).ToList();
        var test = new GroupSelection { TestFraction = 0.25, SplitSeed = 3, Side = SplitSide.Test }.Apply(_ds).Select(g => g.Key).ToList();
        Assert.Empty(train.Intersect(test));
        Assert.Equal(200, train.Count + test.Count);
        Assert.InRange(test.Count, 30, 70);
        var other = new GroupSelection { TestFraction = 0.25, SplitSeed = 4, Side = SplitSide.Test }.Apply(_ds).Select(g => g.Key).ToList();
        Assert.NotEqual(test, other);
    }

    [Fact]
    public void Cohorts_are_distinct_within_a_round_seeded_and_resumable()
    {
        var rounds = CohortSampler.Sample(_ds, null, 10, 30, seed: 5).ToList();
        Assert.Equal(Enumerable.Range(0, 30), rounds.Select(r => r.Round));
        Assert.All(rounds, r => Assert.Equal(10, r.Groups.Select(g => g.Key).Distinct().Count()));
        Assert.True(rounds.Select(r => string.Join(",", r.Groups.Select(g => g.Key))).Distinct().Count() > 25);
        var resumed = CohortSampler.Sample(_ds, null, 10, 5, seed: 5, firstRound: 20).ToList();
        Assert.Equal(rounds.Skip(20).Take(5).Select(r => r.Groups.Select(g => g.Key).ToList()), resumed.Select(r => r.Groups.Select(g => g.Key).ToList()));
        // Uniform: over many rounds every group is drawn about equally often.
        var counts = CohortSampler.Sample(_ds, null, 10, 2000, seed: 6).SelectMany(r => r.Groups).GroupBy(g => g.Key).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(200, counts.Count);
        Assert.All(counts.Values, c => Assert.InRange(c, 60, 145)); // expected 100
        var filtered = CohortSampler.Sample(_ds, new GroupSelection { MinRecords = 15 }, 5, 10, seed: 1).SelectMany(r => r.Groups);
        Assert.All(filtered, g => Assert.True(g.RecordCount >= 15));
        Assert.Throws<GrouperException>(() => CohortSampler.Sample(_ds, new GroupSelection { MinRecords = 20 }, 50, 1, 1).ToList());
    }

    [Fact]
    public void Size_weighted_cohorts_favor_large_groups()
    {
        var draws = CohortSampler.Sample(_ds, null, 5, 2000, seed: 8, sizeWeighted: true).SelectMany(r => r.Groups).ToList();
        double meanDrawn = draws.Average(g => g.RecordCount);
        double meanAll = _ds.EnumerateGroups().Average(g => g.RecordCount);
        Assert.True(meanDrawn > meanAll * 1.3, $"weighted mean {meanDrawn} vs {meanAll}");
        var uniform = CohortSampler.Sample(_ds, null, 5, 2000, seed: 8).SelectMany(r => r.Groups).Average(g => g.RecordCount);
        Assert.InRange(uniform, meanAll * 0.9, meanAll * 1.1);
    }

    [Fact]
    public void Within_group_splits_are_complementary()
    {
        var g = _ds.FindGroup("g019")!; // 20 records
        var trainFirst = _ds.ReadRecords(g, new WithinGroupSplit(0.25)).Select(r => (long)r[1]!).ToList();
        var testFirst = _ds.ReadRecords(g, new WithinGroupSplit(0.25, Side: SplitSide.Test)).Select(r => (long)r[1]!).ToList();
        Assert.Equal(Enumerable.Range(0, 15).Select(i => (long)i), trainFirst);
        Assert.Equal(Enumerable.Range(15, 5).Select(i => (long)i), testFirst);
        var trainRand = _ds.ReadRecords(g, new WithinGroupSplit(0.5, Random: true, Seed: 2)).Select(r => (long)r[1]!).ToList();
        var testRand = _ds.ReadRecords(g, new WithinGroupSplit(0.5, Random: true, Seed: 2, Side: SplitSide.Test)).Select(r => (long)r[1]!).ToList();
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), trainRand.Concat(testRand).Order());
        Assert.NotEqual(Enumerable.Range(0, trainRand.Count).Select(i => (long)i), trainRand);
    }
}
