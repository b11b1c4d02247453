using System.Management.Automation;
using System.Text;
using Xunit;

namespace Grouper.PowerShell.Tests;

/// <summary>Measure-GroupStats with labels and text, per-group rows, and Export-GroupReport, through the cmdlets.</summary>
public sealed class StatsReportTests : IDisposable
{
    private readonly PowerShellHost _ps = new();

    public StatsReportTests()
    {
        var sb = new StringBuilder("user,label,text\n");
        // u0: only label a; u1: a and b evenly; u2: only b. Text: two words per record.
        foreach (var (u, labels) in new[] { ("u0", "aaaa"), ("u1", "abab"), ("u2", "bbbb") })
            foreach (var l in labels) sb.Append($"{u},{l},\"hello\u00A0wörld\"\n");
        File.WriteAllText(_ps["d.csv"], sb.ToString());
        _ps.Run("New-GroupedDataset d.csv ds -GroupBy user | Out-Null");
    }

    public void Dispose() => _ps.Dispose();

    [Fact]
    public void Label_and_text_measures()
    {
        var s = _ps.Run("Measure-GroupStats ds -LabelColumn label -TextColumn text").Single();
        Assert.Equal(3L, s.Properties["GroupCount"].Value);
        Assert.Equal(2, s.Properties["LabelCount"].Value);
        Assert.Equal(4.0 / 3, (double)s.Properties["MeanDistinctLabels"].Value!, 9);
        Assert.Equal(1.0 / 3, (double)s.Properties["MeanEntropy"].Value!, 9);           // 0, 1, 0 bits
        Assert.Equal(Math.Sqrt(1 - Math.Sqrt(0.5)), (double)s.Properties["MaxHellinger"].Value!, 9); // u0 vs global (1/2,1/2)
        Assert.Equal(24L, s.Properties["TotalWords"].Value);
        Assert.Equal(12L * 11, s.Properties["TotalCharacters"].Value);                   // "hello wörld" is 11 characters
        Assert.Equal(0.0, (double)s.Properties["Gini"].Value, 9);

        var rows = _ps.Run("Measure-GroupStats ds -LabelColumn label -PerGroup");
        Assert.Equal(["u0", "u1", "u2"], rows.Select(r => (string)r.Properties["Key"].Value));
        Assert.Equal(0.0, (double)rows[1].Properties["JensenShannon"].Value!, 9);
        Assert.Equal(1, rows[0].Properties["DistinctLabels"].Value);
        Assert.Equal(0.5, (double)rows[0].Properties["EarthMovers"].Value!, 9);          // ranks a=0, b=1: |1 - 1/2|
        var (_, errors) = _ps.Invoke("Measure-GroupStats ds -LabelColumn nope");
        Assert.Equal("MeasureDataset.MissingColumn,Grouper.PowerShell.Commands.MeasureGroupStatsCommand", Assert.Single(errors).FullyQualifiedErrorId);
    }

    [Fact]
    public void Piped_groups_are_looked_up_again_by_key_in_the_dataset_as_it_is_now()
    {
        var before = _ps.Run("Get-Group ds -Key u0, u2");
        Assert.Equal(0L, before[0].Properties["RowOffset"].Value);
        // Built again: a0 comes first and takes u0's rows; u0 is smaller and has both labels; u2 is gone.
        File.WriteAllText(_ps["d2.csv"], "user,label,text\na0,b,x\na0,b,x\na0,b,x\na0,b,x\nu0,a,x\nu0,b,x\n");
        _ps.Run("New-GroupedDataset d2.csv ds -GroupBy user -Force | Out-Null");
        var (rows, errors) = _ps.Invoke("$groups | Measure-GroupStats -LabelColumn label -PerGroup", new Dictionary<string, object?> { ["groups"] = before });
        var u0 = Assert.Single(rows);
        Assert.Equal("u0", u0.Properties["Key"].Value);
        Assert.Equal(2L, u0.Properties["RecordCount"].Value);
        Assert.Equal(2, u0.Properties["DistinctLabels"].Value);
        var err = Assert.Single(errors);
        Assert.Equal("GroupNotFound,Grouper.PowerShell.Commands.MeasureGroupStatsCommand", err.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, err.CategoryInfo.Category);
        Assert.Equal("u2", err.TargetObject);
        (rows, errors) = _ps.Invoke("$groups | Measure-GroupStats", new Dictionary<string, object?> { ["groups"] = before });
        Assert.Equal(2L, Assert.Single(rows).Properties["RecordCount"].Value);
        Assert.Single(errors);
    }

    [Fact]
    public void Piped_groups_are_measured_against_the_whole_dataset_once_each_with_its_path()
    {
        // u0 holds only a; the whole dataset holds a and b evenly.
        var row = _ps.Run("Get-Group ds -Key u0 | Measure-GroupStats -LabelColumn label -PerGroup").Single();
        Assert.Equal(0.3112781, (double)row.Properties["JensenShannon"].Value!, 6);
        Assert.Equal(Math.Sqrt(1 - Math.Sqrt(0.5)), (double)row.Properties["Hellinger"].Value!, 9);
        Assert.Equal(0.5, (double)row.Properties["EarthMovers"].Value!, 9);
        var s = _ps.Run("Get-Group ds -Key u0 | Measure-GroupStats -LabelColumn label").Single();
        Assert.Equal(2, s.Properties["LabelCount"].Value);
        Assert.Equal(0.3112781, (double)s.Properties["MeanJensenShannon"].Value!, 6);
        Assert.Equal(Path.Combine(_ps.Dir, "ds"), s.Properties["DatasetPath"].Value);
        Assert.Equal(s.Properties["DatasetPath"].Value, _ps.Run("Measure-GroupStats ds").Single().Properties["DatasetPath"].Value);

        // A group piped twice counts once, with a warning.
        var output = _ps.Run("Get-Group ds -Key u0, u1, u0 | Measure-GroupStats 3>&1");
        var warning = Assert.IsType<WarningRecord>(Assert.Single(output, o => o.BaseObject is WarningRecord).BaseObject);
        Assert.Contains("1 group", warning.Message);
        var stats = Assert.Single(output, o => o.BaseObject is not WarningRecord);
        Assert.Equal(2L, stats.Properties["GroupCount"].Value);
        Assert.Equal(8L, stats.Properties["RecordCount"].Value);
        Assert.Equal(["u0", "u1"], _ps.Run("Get-Group ds -Key u0, u1, u0 | Measure-GroupStats -PerGroup -WarningAction SilentlyContinue").Select(r => (string)r.Properties["Key"].Value));
    }

    [Fact]
    public void Blank_labels_are_counted_as_missing_and_numeric_labels_stay_numeric()
    {
        // Numeric labels 1 and 3 (2 apart), and labels left blank in a CSV file.
        File.WriteAllText(_ps["n.csv"], "user,label\nu0,1\nu0,3\nu0,\nu1,3\nu1,3\nu1,\nu2,\n");
        _ps.Run("New-GroupedDataset n.csv n -GroupBy user | Out-Null");
        var s = _ps.Run("Measure-GroupStats n -LabelColumn label").Single();
        Assert.Equal(2, s.Properties["LabelCount"].Value);
        Assert.Equal(3L, s.Properties["MissingLabels"].Value);
        var rows = _ps.Run("Measure-GroupStats n -LabelColumn label -PerGroup");
        Assert.Equal([1L, 1L, 1L], rows.Select(r => (long?)r.Properties["MissingLabels"].Value));
        Assert.Equal([2, 1, 0], rows.Select(r => (int?)r.Properties["DistinctLabels"].Value));
        // u0 is (1/2, 1/2) against (1/4, 3/4): 1/4 of the mass moves 2 (by rank it would move 1).
        Assert.Equal(0.5, (double)rows[0].Properties["EarthMovers"].Value!, 9);
        Assert.Null(rows[2].Properties["Entropy"].Value);
        Assert.Null(rows[2].Properties["EarthMovers"].Value);
        // NaN is no number: the labels are ranked, and no distance is NaN.
        File.WriteAllText(_ps["nan.csv"], "user,label\nu0,1\nu0,1\nu1,2\nu1,NaN\n");
        _ps.Run("New-GroupedDataset nan.csv nan -GroupBy user | Out-Null");
        Assert.All(_ps.Run("Measure-GroupStats nan -LabelColumn label -PerGroup"), r => Assert.Equal(0.75, (double)r.Properties["EarthMovers"].Value!, 9));
    }

    [Fact]
    public void Get_GroupRecord_reads_only_the_named_properties()
    {
        var recs = _ps.Run("Get-GroupRecord ds -Key u1 -Property label");
        Assert.Equal(4, recs.Count);
        Assert.Equal(["label"], recs[0].Properties.Select(p => p.Name));
        Assert.Equal(["a", "b", "a", "b"], recs.Select(r => (string)r.Properties["label"].Value));
        var (_, errors) = _ps.Invoke("Get-GroupRecord ds -Key u1 -Property nope");
        Assert.Equal("ReadGroup.MissingColumn,Grouper.PowerShell.Commands.GetGroupRecordCommand", Assert.Single(errors).FullyQualifiedErrorId);
    }

    [Fact]
    public void Stats_are_in_the_manifest_at_build_time()
    {
        var stats = _ps.Run("(Get-GroupedDataset ds).Stats").Single();
        Assert.Equal(3L, stats.Properties["GroupCount"].Value);
        Assert.Equal(4.0, stats.Properties["MedianRecords"].Value);
    }

    [Fact]
    public void Export_GroupReport_writes_one_html_file_and_respects_Force_and_WhatIf()
    {
        var file = _ps.Run("Export-GroupReport ds 'report [1].html' -LabelColumn label").Single();
        var path = _ps["report [1].html"];
        Assert.Equal(path, file.Properties["FullName"].Value);
        var html = File.ReadAllText(path);
        Assert.Contains("label-heatmap", html);
        Assert.Contains(">u1<", html);
        var (_, errors) = _ps.Invoke("Export-GroupReport ds 'report [1].html'");
        Assert.Equal("ReportExists,Grouper.PowerShell.Commands.ExportGroupReportCommand", Assert.Single(errors).FullyQualifiedErrorId);
        _ps.Run("Export-GroupReport ds 'report [1].html' -Force | Out-Null");
        Assert.DoesNotContain("label-heatmap", File.ReadAllText(path));
        _ps.Run("Export-GroupReport ds other.html -WhatIf");
        Assert.False(File.Exists(_ps["other.html"]));
        Assert.Empty(Directory.GetFiles(_ps.Dir, "*.tmp-*"));

        // A destination that is a folder, or in a folder that does not exist: an error of its own, nothing written.
        foreach (var (destination, id, category) in new[]
        {
            ("ds", "ReportDestinationIsFolder", ErrorCategory.InvalidArgument),
            ("'new folder/'", "ReportDestinationIsFolder", ErrorCategory.InvalidArgument),
            ("'new folder/r.html'", "ReportFolderNotFound", ErrorCategory.ObjectNotFound),
            // With -Force the report replaced the dataset's manifest, and the dataset was lost.
            ("ds/manifest.json -Force", "ReportInsideDataset", ErrorCategory.InvalidArgument),
            ("ds/report.html", "ReportInsideDataset", ErrorCategory.InvalidArgument),
        })
        {
            var (output, errs) = _ps.Invoke($"Export-GroupReport ds {destination}");
            Assert.Empty(output);
            var err = Assert.Single(errs);
            Assert.Equal($"{id},Grouper.PowerShell.Commands.ExportGroupReportCommand", err.FullyQualifiedErrorId);
            Assert.Equal(category, err.CategoryInfo.Category);
        }
        Assert.False(Directory.Exists(_ps["new folder"]));
        Assert.Empty(Directory.GetFiles(_ps.Dir, "*.tmp-*"));
        Assert.Empty(Directory.GetFiles(_ps["ds"], "*.tmp-*"));
        Assert.Equal("True", _ps.Run("Test-GroupedDataset ds -Quiet").Single().ToString());
    }
}
