using System.Management.Automation;
using System.Text;
using Xunit;

namespace Grouper.PowerShell.Tests;

/// <summary>Partition schemes, derived keys, selection and splits through the cmdlets.</summary>
public sealed class PartitionTests : IDisposable
{
    private readonly PowerShellHost _ps = new();

    public PartitionTests()
    {
        var sb = new StringBuilder("id,label,url\n");
        for (int i = 0; i < 6000; i++) sb.Append($"{i},{(i % 7 < 4 ? "cat" : i % 7 < 6 ? "dog" : "bird")},https://h{i % 11}.example/p{i}\n");
        File.WriteAllText(_ps["data.csv"], sb.ToString());
    }

    public void Dispose() => _ps.Dispose();

    private static string Key(PSObject g) => (string)g.Properties["Key"].Value;
    private static long Count(PSObject g) => (long)g.Properties["RecordCount"].Value;

    [Fact]
    public void A_Dirichlet_scheme_reads_naturally_and_is_recorded_in_the_manifest()
    {
        var ds = _ps.Run("New-GroupedDataset data.csv dir -Scheme Dirichlet -GroupCount 10 -LabelColumn label -Alpha 0.5 -Seed 7").Single();
        Assert.Equal(6000L, ds.Properties["RecordCount"].Value);
        var p = _ps.Run("(Get-GroupedDataset dir).Manifest.Key.Parameters").Single().BaseObject as IReadOnlyDictionary<string, string>;
        Assert.Equal("dirichlet", _ps.Run("(Get-GroupedDataset dir).Manifest.Key.Kind").Single().ToString());
        Assert.Equal("0.5", p!["alpha"]);
        Assert.Equal("7", p["seed"]);
        Assert.Equal("label", p["labelColumn"]);
        Assert.All(_ps.Run("Get-Group dir"), g => Assert.Matches("^[0-9]$", Key(g)));
        // Same seed: the same groups; another seed: others.
        _ps.Run("New-GroupedDataset data.csv dir2 -Scheme Dirichlet -GroupCount 10 -LabelColumn label -Alpha 0.5 -Seed 7 | Out-Null");
        _ps.Run("New-GroupedDataset data.csv dir3 -Scheme Dirichlet -GroupCount 10 -LabelColumn label -Alpha 0.5 -Seed 8 | Out-Null");
        Assert.Equal(File.ReadAllBytes(_ps["dir/index.gidx"]), File.ReadAllBytes(_ps["dir2/index.gidx"]));
        Assert.NotEqual(File.ReadAllBytes(_ps["dir/index.gidx"]), File.ReadAllBytes(_ps["dir3/index.gidx"]));
    }

    [Fact]
    public void Shard_and_per_group_Dirichlet_count_the_labels_of_the_files_first()
    {
        _ps.Run("New-GroupedDataset data.csv shard -Scheme Shard -GroupCount 6 -LabelColumn label -LabelsPerGroup 1 -Seed 1 | Out-Null");
        foreach (var g in _ps.Run("Get-Group shard"))
        {
            var recs = _ps.Run("Get-GroupRecord -LiteralPath shard -Key $key", new Dictionary<string, object?> { ["key"] = Key(g) });
            Assert.Single(recs.Select(r => (string)r.Properties["label"].Value).Distinct());
        }
        var ds = _ps.Run("New-GroupedDataset data.csv inner -Scheme Dirichlet -DirichletMode PerGroup -GroupCount 4 -LabelColumn label -Alpha 1 -MinGroupSize 500").Single();
        Assert.Equal(6000L, ds.Properties["RecordCount"].Value);
        var p = (IReadOnlyDictionary<string, string>)_ps.Run("(Get-GroupedDataset inner).Manifest.Key.Parameters").Single().BaseObject;
        Assert.Equal("PerGroup", p["mode"]);
        Assert.Equal("bird,cat,dog", p["labels"]);
        Assert.Equal("500", p["minGroupSize"]);
        // The labels of a file whose format is named, not told by its extension, are counted as it is read.
        File.Copy(_ps["data.csv"], _ps["data.txt"]);
        Assert.Equal(6000L, _ps.Run("(New-GroupedDataset data.txt shard-txt -Format Csv -Scheme Shard -GroupCount 6 -LabelColumn label -LabelsPerGroup 1 -Seed 1).RecordCount").Single().BaseObject);
        Assert.Equal(File.ReadAllBytes(_ps["shard/index.gidx"]), File.ReadAllBytes(_ps["shard-txt/index.gidx"]));
    }

    [Fact]
    public void Iid_size_skew_and_derived_keys()
    {
        var iid = _ps.Run("New-GroupedDataset data.csv iid -Scheme Iid -GroupCount 4 -Seed 3 | Out-Null; Get-Group iid");
        Assert.Equal(["0", "1", "2", "3"], iid.Select(Key));
        Assert.All(iid, g => Assert.InRange(Count(g), 1300, 1700));
        var skew = _ps.Run("New-GroupedDataset data.csv skew -Scheme SizeSkew -SizeCurve Linear -GroupCount 3 | Out-Null; Get-Group skew").Select(Count).ToList();
        Assert.True(skew[0] < skew[1] && skew[1] < skew[2], string.Join(",", skew));
        var hosts = _ps.Run("New-GroupedDataset data.csv hosts -GroupBy url -KeyPattern '^https://(?<key>[^/]+)' | Out-Null; Get-Group hosts").Select(Key).ToList();
        Assert.Equal(11, hosts.Count);
        Assert.Contains("h3.example", hosts);
        Assert.Equal(5, _ps.Run("New-GroupedDataset data.csv buckets -GroupBy id -HashBuckets 5 | Out-Null; Get-Group buckets").Count);
        var merged = _ps.Run("New-GroupedDataset data.csv merged -GroupBy url -KeyPattern '^https://([^/]+)' -IdsPerGroup 4 | Out-Null; Get-Group merged");
        Assert.Equal(["0000000000", "0000000001", "0000000002"], merged.Select(Key));
    }

    [Fact]
    public void Bad_values_are_named_and_combinations_refused()
    {
        var (_, errors) = _ps.Invoke("New-GroupedDataset data.csv x -Scheme Lottery -GroupCount 3");
        Assert.Contains("Lottery", Assert.Single(errors).ToString());
        Assert.Contains("Iid", errors[0].ToString()); // the valid names are listed
        (_, errors) = _ps.Invoke("New-GroupedDataset data.csv x -Scheme Dirichlet -GroupCount 3 -LabelColumn label -Alpha -2");
        Assert.Contains("-2", Assert.Single(errors).ToString());
        (_, errors) = _ps.Invoke("New-GroupedDataset data.csv x -Scheme Dirichlet -GroupCount 3 -LabelColumn label");
        Assert.Equal("SchemeNeedsAlpha,Grouper.PowerShell.Commands.NewGroupedDatasetCommand", Assert.Single(errors).FullyQualifiedErrorId);
        (_, errors) = _ps.Invoke("[pscustomobject]@{ label = 'a' } | New-GroupedDataset -Destination x -Scheme Shard -GroupCount 3 -LabelColumn label -LabelsPerGroup 1");
        Assert.Equal("SchemeNeedsFileInput,Grouper.PowerShell.Commands.NewGroupedDatasetCommand", Assert.Single(errors).FullyQualifiedErrorId);
        (_, errors) = _ps.Invoke("New-GroupedDataset data.csv x -GroupBy id -Scheme Iid -GroupCount 2");
        Assert.Equal("KeyParameterConflict,Grouper.PowerShell.Commands.NewGroupedDatasetCommand", Assert.Single(errors).FullyQualifiedErrorId);
        (_, errors) = _ps.Invoke("New-GroupedDataset data.csv x -Scheme Shard -GroupCount 1 -LabelColumn label -LabelsPerGroup 1");
        Assert.Equal("BuildStart.InvalidArgument,Grouper.PowerShell.Commands.NewGroupedDatasetCommand", Assert.Single(errors).FullyQualifiedErrorId);
        // A scheme's parameter where it does nothing was ignored without a word (a label column that does not exist, even).
        foreach (var (script, says) in new[]
        {
            ("New-GroupedDataset data.csv x -GroupBy id -LabelColumn nope", "-LabelColumn applies to -Scheme Dirichlet and Shard."),
            ("New-GroupedDataset data.csv x -GroupBy id -GroupCount 4", "-GroupCount applies to -Scheme Iid and SizeSkew and Dirichlet and Shard."),
            ("New-GroupedDataset data.csv x -Scheme Iid -GroupCount 4 -Alpha 0.5", "-Alpha applies to -Scheme Dirichlet, not Iid."),
            ("New-GroupedDataset data.csv x -Scheme Dirichlet -GroupCount 4 -LabelColumn label -Alpha 1 -Exponent 2", "-Exponent applies to -Scheme SizeSkew, not Dirichlet."),
        })
        {
            (_, errors) = _ps.Invoke(script);
            Assert.Equal("SchemeParameterUnused,Grouper.PowerShell.Commands.NewGroupedDatasetCommand", Assert.Single(errors).FullyQualifiedErrorId);
            Assert.Equal(says, errors[0].Exception.Message);
        }
        Assert.False(Directory.Exists(_ps["x"]));
        Assert.Empty(Directory.GetDirectories(_ps.Dir, ".*"));
    }

    [Fact]
    public void Scheme_names_complete()
    {
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = _ps.Runspace;
        var line = "New-GroupedDataset data.csv x -Scheme D";
        Assert.Equal(["Dirichlet"], CommandCompletion.CompleteInput(line, line.Length, null, ps).CompletionMatches.Select(m => m.CompletionText));
        line = "New-GroupedDataset data.csv x -Scheme Dirichlet -LabelColumn la";
        Assert.Equal(["label"], CommandCompletion.CompleteInput(line, line.Length, null, ps).CompletionMatches.Select(m => m.CompletionText));
    }

    [Fact]
    public void Preview_reports_groups_without_writing()
    {
        var preview = _ps.Run("New-GroupedDataset data.csv never -Scheme Iid -GroupCount 3 -Preview");
        Assert.Equal(["0", "1", "2"], preview.Select(Key));
        Assert.Equal(6000L, preview.Sum(Count));
        Assert.False(Directory.Exists(_ps["never"]));
        _ps.Run("New-GroupedDataset data.csv real -Scheme Iid -GroupCount 3 | Out-Null");
        Assert.Equal(preview.Select(Count), _ps.Run("Get-Group real").Select(Count));
        var objs = _ps.Run("1..50 | ForEach-Object { [pscustomobject]@{ k = $_ % 5 } } | New-GroupedDataset -Destination never -GroupBy k -Preview");
        Assert.Equal(5, objs.Count);
        Assert.All(objs, o => Assert.Equal(10L, Count(o)));
    }

    [Fact]
    public void Selection_shuffle_resume_holdout_and_cohorts()
    {
        _ps.Run("New-GroupedDataset data.csv ds -GroupBy id -HashBuckets 40 | Out-Null");
        var all = _ps.Run("Get-Group ds").Select(Key).ToList();
        var shuffled = _ps.Run("Get-Group ds -Shuffle -Seed 4").Select(Key).ToList();
        Assert.Equal(all.Order(), shuffled.Order());
        Assert.NotEqual(all, shuffled);
        var firstTen = _ps.Run("Get-Group ds -Shuffle -Seed 4 -First 10");
        Assert.Equal(9L, firstTen.Last().Properties["Position"].Value);
        Assert.Equal(shuffled.Skip(10), _ps.Run("Get-Group ds -Shuffle -Seed 4 -Skip 10").Select(Key));
        var big = _ps.Run("Get-Group ds -MinRecords 150");
        Assert.All(big, g => Assert.True(Count(g) >= 150));
        var train = _ps.Run("Get-Group ds -HoldOutFraction 0.3 -SplitSeed 2").Select(Key).ToList();
        var test = _ps.Run("Get-Group ds -HoldOutFraction 0.3 -SplitSeed 2 -Side Test").Select(Key).ToList();
        Assert.Equal(all.Order(), train.Concat(test).Order());
        var cohorts = _ps.Run("Get-Group ds -GroupsPerRound 5 -Rounds 4 -Seed 1");
        Assert.Equal(20, cohorts.Count);
        Assert.Equal([0, 1, 2, 3], cohorts.Select(c => (int)c.Properties["Round"].Value).Distinct());
        var resumed = _ps.Run("Get-Group ds -GroupsPerRound 5 -Rounds 2 -Seed 1 -FirstRound 2");
        Assert.Equal(cohorts.Skip(10).Select(Key), resumed.Select(Key));
        Assert.Equal(10, _ps.Run("Get-Group ds -GroupsPerRound 5 -Rounds 2 -SizeWeighted").Count);
        // Groups found by key count their place among those found, piped keys too (each was 0).
        Assert.Equal([0L, 1L, 2L], _ps.Run("Get-Group ds -Key (Get-Group ds -First 3 | ForEach-Object Key)").Select(g => (long)g.Properties["Position"].Value));
        Assert.Equal([0L, 1L], _ps.Run("Get-Group ds -Skip 5 -First 2 | ForEach-Object Key | Get-Group ds").Select(g => (long)g.Properties["Position"].Value));
        var (_, errors) = _ps.Invoke("Get-Group ds -Key 01 -Shuffle");
        Assert.Equal("KeyWithSelection,Grouper.PowerShell.Commands.GetGroupCommand", Assert.Single(errors).FullyQualifiedErrorId);
    }

    [Fact]
    public void Keys_from_the_pipeline_are_refused_with_shuffle_skip_and_cohorts_as_keys_given_by_name_are()
    {
        _ps.Run("New-GroupedDataset data.csv ds -GroupBy label | Out-Null");
        foreach (var script in new[]
        {
            "'cat', 'dog' | Get-Group ds -Shuffle -Seed 9",
            "'cat', 'dog' | Get-Group ds -Skip 1",
            "'cat', 'dog' | Get-Group ds -GroupsPerRound 1",
            "Get-Group ds -Key cat -Shuffle",
        })
        {
            var (output, errors) = _ps.Invoke(script);
            Assert.Empty(output);
            var err = Assert.Single(errors);
            Assert.Equal("KeyWithSelection,Grouper.PowerShell.Commands.GetGroupCommand", err.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidArgument, err.CategoryInfo.Category);
        }
    }

    [Fact]
    public void Size_filters_and_the_hold_out_split_apply_to_groups_found_by_key()
    {
        _ps.Run("New-GroupedDataset data.csv ds -GroupBy label | Out-Null");
        var sizes = _ps.Run("Get-Group ds").ToDictionary(Key, Count);
        Assert.True(sizes["cat"] > 1000 && sizes["bird"] < 1000);
        Assert.Equal(["cat"], _ps.Run("Get-Group ds -Key cat, bird -MinRecords 1000").Select(Key));
        Assert.Equal(["cat"], _ps.Run("'cat', 'bird' | Get-Group ds -MinRecords 1000").Select(Key));
        Assert.Equal(["bird"], _ps.Run("Get-Group ds -Key cat, bird -MaxRecords 999").Select(Key));
        Assert.Empty(_ps.Run("Get-Group ds -Key cat, dog -HoldOutFraction 1 -Side Train"));
        Assert.Equal(["cat", "dog"], _ps.Run("Get-Group ds -Key cat, dog -HoldOutFraction 1 -Side Test").Select(Key));
        // A key's side is the side a selection of all groups puts it on.
        var test = _ps.Run("Get-Group ds -HoldOutFraction 0.5 -SplitSeed 3 -Side Test").Select(Key).ToList();
        Assert.Equal(test, _ps.Run("Get-Group ds -Key bird, cat, dog -HoldOutFraction 0.5 -SplitSeed 3 -Side Test").Select(Key).Order(StringComparer.Ordinal));
        // A key left out by a filter is not an error; a key not in the dataset still is.
        var (output, errors) = _ps.Invoke("Get-Group ds -Key cat, nope -MaxRecords 1");
        Assert.Empty(output);
        Assert.Equal("GroupNotFound,Grouper.PowerShell.Commands.GetGroupCommand", Assert.Single(errors).FullyQualifiedErrorId);

        // A side without a split read every group (every record), as if no split had been asked for; cohorts'
        // parameters without cohorts, and a shuffle of cohorts drawn at random already, were ignored.
        foreach (var (script, id) in new[]
        {
            ("Get-Group ds -Side Test", "ParameterNeedsHoldOutFraction,Grouper.PowerShell.Commands.GetGroupCommand"),
            ("Get-Group ds -SplitSeed 4", "ParameterNeedsHoldOutFraction,Grouper.PowerShell.Commands.GetGroupCommand"),
            ("Get-Group ds -Rounds 3", "ParameterNeedsGroupsPerRound,Grouper.PowerShell.Commands.GetGroupCommand"),
            ("Get-Group ds -GroupsPerRound 2 -Shuffle", "ShuffleWithRounds,Grouper.PowerShell.Commands.GetGroupCommand"),
            ("Get-GroupRecord ds -Key cat -Side Test", "ParameterNeedsTestFraction,Grouper.PowerShell.Commands.GetGroupRecordCommand"),
            ("Get-GroupRecord ds -RandomSplit", "ParameterNeedsTestFraction,Grouper.PowerShell.Commands.GetGroupRecordCommand"),
        })
        {
            (output, errors) = _ps.Invoke(script);
            Assert.Empty(output);
            Assert.Equal(id, Assert.Single(errors).FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidArgument, errors[0].CategoryInfo.Category);
        }
    }

    [Fact]
    public void Skip_resumes_a_stream_of_cohorts_at_a_position()
    {
        _ps.Run("New-GroupedDataset data.csv ds -GroupBy id -HashBuckets 40 | Out-Null");
        var cohorts = _ps.Run("Get-Group ds -GroupsPerRound 3 -Rounds 4 -Seed 3");
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (long)i), cohorts.Select(c => (long)c.Properties["Position"].Value));
        foreach (var skip in new[] { 2, 3, 7 })
        {
            var resumed = _ps.Run($"Get-Group ds -GroupsPerRound 3 -Rounds 4 -Seed 3 -Skip {skip}");
            Assert.Equal(cohorts.Skip(skip).Select(Key), resumed.Select(Key));
            Assert.Equal(cohorts.Skip(skip).Select(c => c.Properties["Round"].Value), resumed.Select(c => c.Properties["Round"].Value));
            Assert.Equal(Enumerable.Range(skip, 12 - skip).Select(i => (long)i), resumed.Select(c => (long)c.Properties["Position"].Value));
        }
        Assert.Empty(_ps.Run("Get-Group ds -GroupsPerRound 3 -Rounds 4 -Seed 3 -Skip 12"));
        // Positions count from -FirstRound, as the stream that -Skip resumes did.
        Assert.Equal(cohorts.Skip(3 + 4).Select(Key), _ps.Run("Get-Group ds -GroupsPerRound 3 -Rounds 3 -FirstRound 1 -Seed 3 -Skip 4").Select(Key));
        // Too few groups for a round is still an error when every round is skipped.
        var (_, errors) = _ps.Invoke("Get-Group ds -GroupsPerRound 3 -MinRecords 100000 -Skip 5");
        Assert.Equal("OpenDataset.InvalidArgument,Grouper.PowerShell.Commands.GetGroupCommand", Assert.Single(errors).FullyQualifiedErrorId);
    }

    [Fact]
    public void Within_group_record_splits()
    {
        _ps.Run("New-GroupedDataset data.csv ds -GroupBy label | Out-Null");
        var all = _ps.Run("Get-GroupRecord ds -Key bird").Select(r => r.Properties["id"].Value.ToString()).ToList();
        var train = _ps.Run("Get-GroupRecord ds -Key bird -TestFraction 0.2").Select(r => r.Properties["id"].Value.ToString()).ToList();
        var test = _ps.Run("Get-GroupRecord ds -Key bird -TestFraction 0.2 -Side Test").Select(r => r.Properties["id"].Value.ToString()).ToList();
        Assert.Equal(all, train.Concat(test));
        Assert.Equal((int)Math.Round(all.Count * 0.2, MidpointRounding.AwayFromZero), test.Count);
        var rtrain = _ps.Run("Get-GroupRecord ds -Key bird -TestFraction 0.2 -RandomSplit -SplitSeed 5").Select(r => r.Properties["id"].Value.ToString()).ToList();
        var rtest = _ps.Run("Get-GroupRecord ds -Key bird -TestFraction 0.2 -RandomSplit -SplitSeed 5 -Side Test").Select(r => r.Properties["id"].Value.ToString()).ToList();
        Assert.Equal(all.Order(), rtrain.Concat(rtest).Order());
        Assert.NotEqual(test, rtest);
    }
}
