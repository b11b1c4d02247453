using Xunit;

namespace Grouper.PowerShell.Tests;

/// <summary>Test-GroupedDataset, and build failures as the cmdlets report them.</summary>
public sealed class ReliabilityTests : IDisposable
{
    private readonly PowerShellHost _ps = new();

    public ReliabilityTests()
    {
        File.WriteAllLines(_ps["d.csv"], ["user,n", .. Enumerable.Range(0, 3000).Select(i => $"u{i % 41},{i}")]);
        _ps.Run("New-GroupedDataset d.csv ds -GroupBy user | Out-Null");
    }

    public void Dispose() => _ps.Dispose();

    [Fact]
    public void Relative_dataset_paths_of_piped_objects_are_the_current_location_s()
    {
        // They were the process's working folder ("There is no dataset at /tmp/ds"), which pwsh does not move.
        int expected = Enumerable.Range(0, 3000).Count(i => i % 41 == 1);
        Assert.Equal(expected, _ps.Run("Get-GroupRecord -Group @{ Key = 'u1'; DatasetPath = 'ds' }").Count);
        Assert.Equal(3000, _ps.Run("[pscustomobject]@{ Path = './ds' } | Get-GroupRecord").Count);
        Assert.Equal((long)expected, _ps.Run("Measure-GroupStats -InputObject @{ Key = 'u1'; DatasetPath = 'ds' }").Single().Properties["RecordCount"].Value);
        // A path that matches nothing is said once, not once for each key piped in.
        var (output, errors) = _ps.Invoke("'u1', 'u2', 'u3' | Get-GroupRecord ./nope");
        Assert.Empty(output);
        Assert.Equal("PathNotFound,Grouper.PowerShell.Commands.GetGroupRecordCommand", Assert.Single(errors).FullyQualifiedErrorId);
        Assert.Equal(3 * expected, _ps.Run("'u1', 'u1', 'u1' | Get-GroupRecord ./ds").Count);
    }

    [Fact]
    public void A_file_that_cannot_be_read_is_an_error_of_Grouper_s_own_and_the_others_go_on()
    {
        // A link to nothing (as a file the user may not read): the runtime's FileNotFoundException or
        // UnauthorizedAccessException stopped the whole command, naming no input, whatever -ErrorAction said.
        File.CreateSymbolicLink(_ps["gone.csv"], _ps["nowhere.csv"]);
        var (output, errors) = _ps.Invoke("New-GroupedDataset d.csv, gone.csv out -GroupBy user");
        Assert.Empty(output);
        Assert.Equal(["InputNotReadable.ReadFailed,Grouper.PowerShell.Commands.NewGroupedDatasetCommand", "InputsFailed,Grouper.PowerShell.Commands.NewGroupedDatasetCommand"],
            errors.Select(e => e.FullyQualifiedErrorId));
        Assert.Equal(System.Management.Automation.ErrorCategory.ReadError, errors[0].CategoryInfo.Category);
        Assert.Contains("gone.csv", errors[0].Exception.Message);
        Assert.False(Directory.Exists(_ps["out"]));

        // A dataset whose manifest cannot be read: said for it, and the next dataset is still given.
        Directory.CreateDirectory(_ps["bad"]);
        File.CreateSymbolicLink(_ps["bad/manifest.json"], _ps["nowhere.json"]);
        (output, errors) = _ps.Invoke("Get-GroupedDataset -LiteralPath bad, ds");
        Assert.Equal(_ps["ds"], (string)Assert.Single(output).Properties["Path"].Value);
        Assert.Equal(System.Management.Automation.ErrorCategory.ReadError, Assert.Single(errors).CategoryInfo.Category);
        Assert.EndsWith(".ReadFailed,Grouper.PowerShell.Commands.GetGroupedDatasetCommand", errors[0].FullyQualifiedErrorId);
        // The check reports it as a problem of the dataset, and answers for the next one.
        Assert.Equal(["False", "True"], _ps.Run("Test-GroupedDataset -LiteralPath bad, ds -Quiet").Select(o => o.ToString()));
        Assert.StartsWith("The manifest cannot be read", (string)_ps.Run("Test-GroupedDataset -LiteralPath bad").Single().Properties["Message"].Value);
    }

    [Fact]
    public void Test_GroupedDataset_reports_problems_as_objects()
    {
        using (var ps = System.Management.Automation.PowerShell.Create())
        {
            ps.Runspace = _ps.Runspace;
            ps.AddScript("Test-GroupedDataset ds");
            Assert.Empty(ps.Invoke());
            // Each step says how far it is, to its end.
            var progress = ps.Streams.Progress.Select(p => p.StatusDescription).ToList();
            foreach (var step in new[] { "files and their checksums, 2 of 2", "the shards' rows against the index, 1 of 1", "the shards' statistics against their values, 1 of 1" })
                Assert.Contains(progress, p => p.EndsWith(step, StringComparison.Ordinal));
            Assert.Equal(System.Management.Automation.ProgressRecordType.Completed, ps.Streams.Progress[^1].RecordType);
        }
        Assert.Empty(_ps.Run("Test-GroupedDataset ds"));
        Assert.Equal(true, _ps.Run("Test-GroupedDataset ds -Quiet").Single().BaseObject);
        var shard = Directory.GetFiles(_ps["ds/data"]).Single();
        var bytes = File.ReadAllBytes(shard);
        bytes[100] ^= 1;
        File.WriteAllBytes(shard, bytes);
        Assert.Empty(_ps.Run("Test-GroupedDataset ds -Quick"));
        var problem = _ps.Run("Test-GroupedDataset ds").Single();
        Assert.Equal("checksum", problem.Properties["Check"].Value);
        Assert.Equal("data/shard-00000.parquet", problem.Properties["Target"].Value);
        Assert.Equal(false, _ps.Run("Test-GroupedDataset ds -Quiet").Single().BaseObject);
    }

    [Fact]
    public void Durable_builds_merges_and_imports_commit_what_the_others_do()
    {
        // -Durable adds the write-through to the disk before each commit (fsync: the crash tests fail it on
        // purpose); it changes no byte of what is committed.
        _ps.Run("New-GroupedDataset d.csv dur -GroupBy user -Durable | Out-Null");
        AssertSameFiles(_ps["ds"], _ps["dur"]);
        _ps.Run("0, 1 | ForEach-Object { New-GroupedDataset d.csv \"p$_\" -GroupBy user -WorkerIndex $_ -WorkerCount 2 } | Out-Null");
        _ps.Run("Merge-GroupedDataset p0, p1 merged | Out-Null; Merge-GroupedDataset p0, p1 'merged [durable]' -Durable | Out-Null");
        AssertSameFiles(_ps["merged"], _ps["merged [durable]"]);
        _ps.Run("Import-GroupedDataset -LiteralPath ds/data -GroupBy user -Destination imported -Transfer Copy -Durable | Out-Null");
        // In place, replacing the manifest: the old index goes only once the new one is on the disk.
        _ps.Run("Import-GroupedDataset -LiteralPath imported -GroupBy user -Force -Durable | Out-Null");
        Assert.Empty(_ps.Run("Test-GroupedDataset -LiteralPath dur, 'merged [durable]', imported"));
        Assert.Single(Directory.GetFiles(_ps["imported"], "index*.gidx"));
    }

    /// <summary>
    /// A manifest edited to disagree with the shards' schema, or with the index's group count, and a dataset
    /// re-indexed in place from its own shards: as the commands report them.
    /// </summary>
    [Fact]
    public void A_manifest_that_disagrees_with_the_files_is_reported_and_refused_in_words()
    {
        var manifest = _ps["ds/manifest.json"];
        var sound = File.ReadAllText(manifest);
        var json = System.Text.Json.Nodes.JsonNode.Parse(sound)!;
        // A CSV's columns are text: n said to be a number.
        json["schema"]!.AsArray().Single(c => (string?)c!["name"] == "n")!["type"] = "int64";
        File.WriteAllText(manifest, json.ToJsonString());
        var problem = _ps.Run("Test-GroupedDataset ds").Single();
        Assert.Equal(("schema", "data/shard-00000.parquet", "Column 'n' is string, never null in the shard; the manifest says int64, never null."),
            ((string)problem.Properties["Check"].Value, (string)problem.Properties["Target"].Value, (string)problem.Properties["Message"].Value));
        var (_, errors) = _ps.Invoke("Get-GroupRecord ds -Key u1");
        var err = Assert.Single(errors);
        Assert.Equal(System.Management.Automation.ErrorCategory.InvalidData, err.CategoryInfo.Category);
        Assert.Contains($"The shard {_ps["ds/data/shard-00000.parquet"]} does not match the manifest", err.Exception.Message);

        json = System.Text.Json.Nodes.JsonNode.Parse(sound)!;
        json["groupCount"] = 5;
        File.WriteAllText(manifest, json.ToJsonString());
        Assert.Equal(false, _ps.Run("Test-GroupedDataset ds -Quick -Quiet").Single().BaseObject);
        Assert.Contains("the index has 41 groups, the manifest 5", (string)_ps.Run("Test-GroupedDataset ds -Quick").Single().Properties["Message"].Value);

        // Its shards re-indexed in place by the same column: readable as before, their key column a column of their own.
        File.WriteAllText(manifest, sound);
        var before = _ps.Run("Get-GroupRecord ds -Key u1 | ForEach-Object { $_.n }").Select(o => o.BaseObject).ToList();
        _ps.Run("Import-GroupedDataset ds -GroupBy user -Force | Out-Null");
        Assert.Equal(true, _ps.Run("Test-GroupedDataset ds -Quiet").Single().BaseObject);
        Assert.Equal(before, _ps.Run("Get-GroupRecord ds -Key u1 | ForEach-Object { $_.n }").Select(o => o.BaseObject));
        Assert.Equal(["u1"], _ps.Run("Get-GroupRecord ds -Key u1 | ForEach-Object { $_.__group_key }").Select(o => o.BaseObject).Distinct());
    }

    private static void AssertSameFiles(string a, string b)
    {
        var files = Directory.GetFiles(a, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(a, f)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(files, Directory.GetFiles(b, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(b, f)).Order(StringComparer.Ordinal));
        foreach (var f in files) Assert.True(File.ReadAllBytes(Path.Combine(a, f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(b, f))), f);
    }

    [Fact]
    public void A_second_writer_is_refused_with_ResourceBusy()
    {
        // A lock held as another build would hold it.
        using var held = new FileStream(_ps[".busy.grouper-lock"], FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        var (_, errors) = _ps.Invoke("New-GroupedDataset d.csv busy -GroupBy user");
        var err = Assert.Single(errors);
        Assert.Equal("BuildStart.ResourceBusy,Grouper.PowerShell.Commands.NewGroupedDatasetCommand", err.FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.ResourceBusy, err.CategoryInfo.Category);
        Assert.False(Directory.Exists(_ps["busy"]));
    }

    [Fact]
    public void An_unwritable_destination_is_a_write_error()
    {
        File.WriteAllText(_ps["afile"], "x");
        var (_, errors) = _ps.Invoke("New-GroupedDataset d.csv afile/ds -GroupBy user");
        var err = Assert.Single(errors);
        Assert.Equal("BuildStart.WriteFailed,Grouper.PowerShell.Commands.NewGroupedDatasetCommand", err.FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.WriteError, err.CategoryInfo.Category);
    }
}
