using System.Text;
using DuckDB.NET.Data;
using System.Management.Automation;
using Xunit;

namespace Grouper.PowerShell.Tests;

/// <summary>Sharded builds, Merge-GroupedDataset and Import-GroupedDataset through the cmdlets.</summary>
public sealed class ScaleOutTests : IDisposable
{
    private readonly PowerShellHost _ps = new();

    public ScaleOutTests()
    {
        var sb = new StringBuilder("user,n\n");
        for (int i = 0; i < 4000; i++) sb.Append($"u{i * 13 % 97},{i}\n");
        File.WriteAllText(_ps["data.csv"], sb.ToString());
    }

    public void Dispose() => _ps.Dispose();

    private List<(string, long)> Groups(string path) =>
        _ps.Run("Get-Group -LiteralPath $p", new Dictionary<string, object?> { ["p"] = path }).Select(g => ((string)g.Properties["Key"].Value, (long)g.Properties["RecordCount"].Value)).ToList();

    private List<string> Records(string path) =>
        _ps.Run("Get-Group -LiteralPath $p | Get-GroupRecord | ForEach-Object { $_.user + ':' + $_.n }", new Dictionary<string, object?> { ["p"] = path }).Select(o => o.ToString()).ToList();

    [Fact]
    public void Workers_build_parts_that_merge_into_the_single_build()
    {
        _ps.Run("New-GroupedDataset data.csv single -GroupBy user | Out-Null");
        _ps.Run("0..3 | ForEach-Object { New-GroupedDataset data.csv \"part-$_\" -GroupBy user -WorkerIndex $_ -WorkerCount 4 } | Out-Null");
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = _ps.Runspace;
        ps.AddScript("Merge-GroupedDataset -Path part-* -Destination merged -Transfer Copy");
        var merged = Assert.Single(ps.Invoke());
        Assert.Empty(ps.Streams.Error);
        Assert.Equal(4000L, merged.Properties["RecordCount"].Value);
        // A copy of the shards says what it is doing as it goes, as a build's writing phase.
        var progress = ps.Streams.Progress.ToList();
        Assert.All(progress, p => Assert.Equal("Merge-GroupedDataset", p.Activity));
        Assert.Contains(progress, p => p.StatusDescription == "Wrote 0 of 4,000 records in 0 groups" && p.CurrentOperation.EndsWith(".parquet", StringComparison.Ordinal));
        Assert.Contains(progress, p => p.CurrentOperation == "Merging");
        Assert.Equal(ProgressRecordType.Completed, progress[^1].RecordType);
        Assert.Equal(Groups(_ps["single"]), Groups(_ps["merged"]));
        Assert.Equal(Records(_ps["single"]), Records(_ps["merged"]));

        // The merged dataset named like its parts, merged again: the wildcard finds it among them, and it is skipped.
        _ps.Run("Merge-GroupedDataset -Path part-* -Destination part-all | Out-Null");
        using (var again = System.Management.Automation.PowerShell.Create())
        {
            again.Runspace = _ps.Runspace;
            again.AddScript("Merge-GroupedDataset -Path part-* -Destination part-all -Force");
            Assert.Equal(4000L, Assert.Single(again.Invoke()).Properties["RecordCount"].Value);
            Assert.Empty(again.Streams.Error);
            Assert.Contains("Skipped the destination", Assert.Single(again.Streams.Warning).Message);
        }
        Assert.Equal(Records(_ps["single"]), Records(_ps["part-all"]));
        Directory.Delete(_ps["part-all"], true);

        Directory.Delete(_ps["part-2"], true);
        var (_, errors) = _ps.Invoke("Merge-GroupedDataset -Path part-* -Destination again");
        Assert.Equal("Merge.InvalidDataset,Grouper.PowerShell.Commands.MergeGroupedDatasetCommand", Assert.Single(errors).FullyQualifiedErrorId);
        Assert.Contains("worker(s) 2 of 4", errors[0].ToString());
        Assert.False(Directory.Exists(_ps["again"]));

        // Parts named one by one, one of them mistyped: said so, before the merge finds a worker's part missing.
        (_, errors) = _ps.Invoke("Merge-GroupedDataset -LiteralPath part-0, part-1, part-22, part-3 -Destination again");
        Assert.Equal("PathNotFound,Grouper.PowerShell.Commands.MergeGroupedDatasetCommand", errors[0].FullyQualifiedErrorId);
        Assert.Equal("PartsNotFound,Grouper.PowerShell.Commands.MergeGroupedDatasetCommand", errors[^1].FullyQualifiedErrorId);
        Assert.False(Directory.Exists(_ps["again"]));
    }

    [Fact]
    public void A_destination_that_cannot_be_written_is_a_write_error_for_every_writer()
    {
        _ps.Run("New-GroupedDataset data.csv ds -GroupBy user | Out-Null");
        File.WriteAllText(_ps["plain.txt"], "a file, not a folder");
        foreach (var (script, id) in new[]
        {
            ("New-GroupedDataset data.csv plain.txt/out -GroupBy user", "BuildStart.WriteFailed,Grouper.PowerShell.Commands.NewGroupedDatasetCommand"),
            ("Merge-GroupedDataset ds -Destination plain.txt/merged", "Merge.WriteFailed,Grouper.PowerShell.Commands.MergeGroupedDatasetCommand"),
            ("Import-GroupedDataset ds/data -Destination plain.txt/imported -GroupBy user", "Import.WriteFailed,Grouper.PowerShell.Commands.ImportGroupedDatasetCommand"),
        })
        {
            var (output, errors) = _ps.Invoke(script);
            Assert.Empty(output);
            var err = Assert.Single(errors);
            Assert.Equal(id, err.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.WriteError, err.CategoryInfo.Category);
            Assert.Contains("Cannot write beside", err.ToString());
        }
        Assert.Equal("a file, not a folder", File.ReadAllText(_ps["plain.txt"]));
    }

    [Fact]
    public void File_split_parts_whose_json_types_differ_merge_with_a_warning()
    {
        // Worker 0's file has integers and worker 1's fractions and nulls: their parts' schemas differ.
        File.WriteAllText(_ps["0.jsonl"], "{\"user\":\"a\",\"n\":1}\n{\"user\":\"a\",\"n\":2}\n");
        File.WriteAllText(_ps["1.jsonl"], "{\"user\":\"b\",\"n\":2.5}\n{\"user\":\"b\",\"n\":null}\n");
        _ps.Run("New-GroupedDataset 0.jsonl, 1.jsonl single -GroupBy user | Out-Null");
        _ps.Run("0, 1 | ForEach-Object { New-GroupedDataset 0.jsonl, 1.jsonl \"fpart $_\" -GroupBy user -WorkerIndex $_ -WorkerCount 2 -SplitBy File } | Out-Null");
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = _ps.Runspace;
        ps.AddScript("Merge-GroupedDataset -LiteralPath 'fpart 0', 'fpart 1' -Destination 'merged [json]' -MemoryLimit 8MB");
        var output = ps.Invoke();
        Assert.Empty(ps.Streams.Error);
        var warning = Assert.Single(ps.Streams.Warning);
        Assert.Contains("column 'n' is double, nullable in it and int64, never null in the other", warning.Message);
        Assert.Contains("written again", warning.Message);
        Assert.Equal(4L, Assert.Single(output).Properties["RecordCount"].Value);
        // The rewrite takes as long as a build, and reports as one.
        var progress = ps.Streams.Progress.ToList();
        Assert.All(progress, p => Assert.Equal("Merge-GroupedDataset", p.Activity));
        Assert.Contains(progress, p => p.StatusDescription.Contains("records"));
        Assert.Contains(progress, p => p.RecordType == ProgressRecordType.Completed);
        Assert.Equal(Groups(_ps["single"]), Groups(_ps["merged [json]"]));
        Assert.Equal(Records(_ps["single"]), Records(_ps["merged [json]"]));
    }

    [Fact]
    public void Nested_parquet_columns_build_into_json_text_and_an_import_in_place_refuses_them()
    {
        Directory.CreateDirectory(_ps["nested [in]"]);
        using (var db = new DuckDBConnection("Data Source=:memory:"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"COPY (SELECT 'u' || (i % 3) AS user, [i, i + 1] AS tokens, {{'lang': 'en', 'score': NULL::DOUBLE}} AS meta FROM range(30) r(i) ORDER BY user, i) TO '{_ps["nested [in]/0.parquet"]}' (FORMAT parquet)";
            cmd.ExecuteNonQuery();
        }
        var records = _ps.Run("New-GroupedDataset -LiteralPath 'nested [in]/0.parquet' -Destination nested -GroupBy user | Out-Null; Get-Group nested -Key u1 | Get-GroupRecord");
        Assert.Equal(10, records.Count);
        Assert.Equal("[1,2]", records[0].Properties["tokens"].Value);
        Assert.Equal("{\"lang\":\"en\",\"score\":null}", records[0].Properties["meta"].Value);

        var (_, errors) = _ps.Invoke("Import-GroupedDataset -LiteralPath 'nested [in]' -GroupBy user");
        var err = Assert.Single(errors);
        Assert.Equal("Import.SchemaMismatch,Grouper.PowerShell.Commands.ImportGroupedDatasetCommand", err.FullyQualifiedErrorId);
        Assert.Contains("-Regroup", err.ToString());
        Assert.False(File.Exists(_ps["nested [in]/manifest.json"]));
        Assert.Equal(30L, _ps.Run("Import-GroupedDataset -LiteralPath 'nested [in]' -GroupBy user -Destination regrouped -Regroup").Single().Properties["RecordCount"].Value);
    }

    [Fact]
    public void Worker_parameters_are_checked()
    {
        var (_, errors) = _ps.Invoke("New-GroupedDataset data.csv x -GroupBy user -WorkerIndex 4 -WorkerCount 4");
        Assert.Equal("WorkerIndexOutOfRange,Grouper.PowerShell.Commands.NewGroupedDatasetCommand", Assert.Single(errors).FullyQualifiedErrorId);
        (_, errors) = _ps.Invoke("New-GroupedDataset data.csv x -GroupBy user -WorkerIndex 1");
        Assert.Equal("WorkerParametersIncomplete,Grouper.PowerShell.Commands.NewGroupedDatasetCommand", Assert.Single(errors).FullyQualifiedErrorId);
        (_, errors) = _ps.Invoke("[pscustomobject]@{ user = 'a' } | New-GroupedDataset -Destination x -GroupBy user -WorkerIndex 0 -WorkerCount 2 -SplitBy File");
        Assert.Equal("FileSplitNeedsFiles,Grouper.PowerShell.Commands.NewGroupedDatasetCommand", Assert.Single(errors).FullyQualifiedErrorId);
        // Numbered groups are every worker's in a file split: the parts overlapped and could not be merged (with -IdColumn too).
        foreach (var numbered in new[] { "-Scheme Iid -GroupCount 3", "-Scheme Iid -GroupCount 3 -IdColumn user", "-GroupBy user -HashBuckets 4", "-GroupBy user -IdsPerGroup 5" })
        {
            (_, errors) = _ps.Invoke($"New-GroupedDataset data.csv x {numbered} -WorkerIndex 0 -WorkerCount 2 -SplitBy File");
            Assert.Equal("FileSplitNumberedGroups,Grouper.PowerShell.Commands.NewGroupedDatasetCommand", Assert.Single(errors).FullyQualifiedErrorId);
        }
        Assert.False(Directory.Exists(_ps["x"]));
    }

    [Fact]
    public void DuckDB_output_is_imported_and_unsorted_files_are_refused_or_regrouped()
    {
        var dir = _ps["duck out"];
        using (var db = new DuckDBConnection("Data Source=:memory:"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"""
                COPY (SELECT *, hash(user) % 3 AS bucket FROM read_csv('{_ps["data.csv"]}', header = true) ORDER BY bucket, user) TO '{dir}' (FORMAT parquet, PARTITION_BY (bucket));
                COPY (SELECT * FROM read_csv('{_ps["data.csv"]}', header = true)) TO '{_ps["unsorted.parquet"]}' (FORMAT parquet);
                """;
            cmd.ExecuteNonQuery();
        }
        _ps.Run("New-GroupedDataset data.csv single -GroupBy user | Out-Null");
        var imported = _ps.Run("Import-GroupedDataset -LiteralPath 'duck out' -GroupBy user -Destination imported").Single();
        Assert.Equal(4000L, imported.Properties["RecordCount"].Value);
        Assert.Equal(Groups(_ps["single"]), Groups(_ps["imported"]));
        Assert.Equal(Records(_ps["single"]).Order(), Records(_ps["imported"]).Order());

        _ps.Run("Import-GroupedDataset -LiteralPath 'duck out' -GroupBy user | Out-Null"); // in place
        Assert.Equal(Groups(_ps["single"]), Groups(_ps["duck out"]));

        Directory.CreateDirectory(_ps["loose"]);
        File.Move(_ps["unsorted.parquet"], _ps["loose/unsorted.parquet"]);
        var (_, errors) = _ps.Invoke("Import-GroupedDataset loose -GroupBy user -Destination nope");
        var err = Assert.Single(errors);
        Assert.Equal("Import.InvalidData,Grouper.PowerShell.Commands.ImportGroupedDatasetCommand", err.FullyQualifiedErrorId);
        Assert.Contains("unsorted.parquet", err.ToString());
        Assert.False(Directory.Exists(_ps["nope"]));
        var regrouped = _ps.Run("Import-GroupedDataset loose -GroupBy user -Destination regrouped -Regroup").Single();
        Assert.Equal(Groups(_ps["single"]), Groups(_ps["regrouped"]));
        // -Transfer where nothing is transferred was accepted without a word (-Regroup -Transfer Move left the files).
        foreach (var script in new[] { "Import-GroupedDataset loose -GroupBy user -Destination again -Regroup -Transfer Move", "Import-GroupedDataset loose -GroupBy user -Transfer Copy" })
        {
            (_, errors) = _ps.Invoke(script);
            Assert.Equal("TransferUnused,Grouper.PowerShell.Commands.ImportGroupedDatasetCommand", Assert.Single(errors).FullyQualifiedErrorId);
        }
        Assert.True(File.Exists(_ps["loose/unsorted.parquet"]));
        Assert.False(Directory.Exists(_ps["again"]));
    }
}
