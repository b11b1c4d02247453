using System.Management.Automation;
using System.Text;
using Xunit;

namespace Grouper.PowerShell.Tests;

/// <summary>
/// Delimited text the extension does not say: -Delimiter (a semicolon CSV as Excel writes it in many locales),
/// -Quoting None (IMDb's TSV files, whose titles hold quotes as text), and a folder read in the format -Format names.
/// </summary>
public sealed class TextOptionsTests : IDisposable
{
    private const string Cmdlet = ",Grouper.PowerShell.Commands.NewGroupedDatasetCommand";
    private readonly PowerShellHost _ps = new();

    public void Dispose() => _ps.Dispose();

    /// <summary>Runs a script that must fail with exactly one error.</summary>
    private ErrorRecord TheError(string script)
    {
        var (output, errors) = _ps.Invoke(script);
        Assert.Empty(output);
        return Assert.Single(errors);
    }

    private List<string> Values(string script) => _ps.Run(script).Select(o => o.ToString()).ToList();

    [Fact]
    public void A_semicolon_CSV_in_a_folder_with_brackets_and_spaces_builds_with_Delimiter()
    {
        var dir = _ps["[a b]"];
        Directory.CreateDirectory(dir);
        // As Excel saves "CSV UTF-8" where the decimal separator is a comma: a byte order mark, semicolons, CRLF.
        File.WriteAllText(Path.Combine(dir, "ventes 2024.csv"),
            "client;montant;note\r\nA;12,50;\"prix; réduit\"\r\nB;3,00;x\r\nA;7,25;\"dit \"\"oui\"\"\"\r\n", new UTF8Encoding(true));

        // Without -Delimiter the header is one column, and the key column is not in it.
        var err = TheError("New-GroupedDataset -LiteralPath '[a b]' -Destination 'par client' -GroupBy client");
        Assert.Equal("BadInput.MissingColumn" + Cmdlet, err.FullyQualifiedErrorId);
        Assert.False(Directory.Exists(_ps["par client"]));

        var info = _ps.Run("New-GroupedDataset -LiteralPath '[a b]' -Destination 'par client' -GroupBy client -Delimiter ';'").Single();
        Assert.Equal((2L, 3L), ((long)info.Properties["GroupCount"].Value, (long)info.Properties["RecordCount"].Value));
        Assert.Equal(["client", "montant", "note"], (string[])info.Properties["Columns"].Value);
        Assert.Equal(["12,50", "7,25"], Values("Get-GroupRecord -LiteralPath 'par client' -Key A | ForEach-Object { $_.montant }"));
        Assert.Equal(["prix; réduit", "dit \"oui\""], Values("Get-GroupRecord -LiteralPath 'par client' -Key A | ForEach-Object { $_.note }"));

        // -Path with the brackets escaped and a wildcard, and a scheme whose labels are counted first, read the same.
        Assert.Equal("3", Values("(New-GroupedDataset -Path '`[a b`]/*.csv' -Destination 'par client 2' -GroupBy client -Delimiter ';').RecordCount").Single());
        var shards = _ps.Run("New-GroupedDataset -LiteralPath '[a b]' -Destination parts -Scheme Shard -GroupCount 2 -LabelsPerGroup 1 -LabelColumn client -Delimiter ';'").Single();
        Assert.Equal(3L, shards.Properties["RecordCount"].Value);
        Assert.Equal(["A", "A", "B"], Values("Get-GroupRecord -LiteralPath parts | ForEach-Object { $_.client }").Order(StringComparer.Ordinal));

        // Tab completion of -GroupBy reads the header with the delimiter on the command line.
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = _ps.Runspace;
        var line = "New-GroupedDataset -LiteralPath '[a b]' -Destination x -Delimiter ';' -GroupBy ";
        Assert.Equal(["client", "montant", "note"], CommandCompletion.CompleteInput(line, line.Length, null, ps).CompletionMatches.Select(m => m.CompletionText));
    }

    [Fact]
    public void An_IMDb_TSV_with_quotes_in_its_titles_builds_with_Quoting_None_and_reads_back_exactly()
    {
        string[] titles = ["\"Quoted\" title", "A \"mid\" quote", "\"", "\"Ends\"", "Ends in \"", "plain"];
        var text = new StringBuilder("tconst\ttitleType\tprimaryTitle\tstartYear\n");
        for (int i = 0; i < titles.Length; i++) text.Append($"tt{i}\t{(i % 2 == 0 ? "movie" : "short")}\t{titles[i]}\t\\N\n");
        File.WriteAllText(_ps["title.basics.tsv"], text.ToString());

        // The repro: RFC 4180 quoting takes the first title's quote for an opening one.
        var err = TheError("New-GroupedDataset -LiteralPath title.basics.tsv -Destination 'by type' -GroupBy titleType");
        Assert.Equal("BadInput.InvalidData" + Cmdlet, err.FullyQualifiedErrorId);
        Assert.Contains("title.basics.tsv, line 2: ' ' follows the closing quote of field 3", err.Exception.Message);
        Assert.Contains("-Quoting None", err.Exception.Message);

        var info = _ps.Run("New-GroupedDataset -LiteralPath title.basics.tsv -Destination 'by type' -GroupBy titleType -Quoting None").Single();
        Assert.Equal((2L, 6L), ((long)info.Properties["GroupCount"].Value, (long)info.Properties["RecordCount"].Value));
        Assert.Equal(titles.Where((_, i) => i % 2 == 0), Values("Get-GroupRecord -LiteralPath 'by type' -Key movie | ForEach-Object { $_.primaryTitle }"));
        Assert.Equal(titles.Where((_, i) => i % 2 == 1), Values("Get-GroupRecord -LiteralPath 'by type' -Key short | ForEach-Object { $_.primaryTitle }"));
        Assert.Equal(["\\N"], Values("@(Get-GroupRecord -LiteralPath 'by type' -Key movie)[0].startYear"));
        // Named as TSV, with its tab given again: the same.
        Assert.Equal("6", Values("(New-GroupedDataset -LiteralPath title.basics.tsv -Destination again -GroupBy titleType -Format Tsv -Delimiter \"`t\" -Quoting None).RecordCount").Single());
    }

    [Theory]
    [InlineData("-Delimiter '\"'", "InvalidDelimiter")]
    [InlineData("-Delimiter \"`n\"", "InvalidDelimiter")]
    [InlineData("-Delimiter 'é'", "InvalidDelimiter")]
    [InlineData("-Delimiter ';' -Format Parquet", "DelimiterWithNonTextFormat")]
    [InlineData("-Delimiter ';' -Format JsonLines", "DelimiterWithNonTextFormat")]
    [InlineData("-Quoting None -Format JsonLines", "QuotingWithNonTextFormat")]
    [InlineData("-Quoting Standard -Format Parquet", "QuotingWithNonTextFormat")]
    [InlineData("-Delimiter ';' -Format Tsv", "DelimiterConflictsWithTsv")]
    public void Bad_combinations_end_the_command_with_their_own_error_before_anything_is_read(string options, string id)
    {
        File.WriteAllText(_ps["in.csv"], "k,v\na,1\n");
        var err = TheError($"New-GroupedDataset -LiteralPath in.csv -Destination out -GroupBy k {options}");
        Assert.Equal(id + Cmdlet, err.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, err.CategoryInfo.Category);
        Assert.IsType<PSArgumentException>(err.Exception);
        Assert.NotNull(err.TargetObject);
        Assert.False(Directory.Exists(_ps["out"]));
    }

    [Fact]
    public void Text_options_with_inputs_that_are_not_delimited_text_are_refused()
    {
        File.WriteAllText(_ps["in.csv"], "k,v\na,1\n");
        File.WriteAllText(_ps["x.jsonl"], "{\"k\":\"a\"}\n");
        _ps.Run("New-GroupedDataset -LiteralPath in.csv -Destination ds -GroupBy k | Out-Null");
        var shard = Directory.GetFiles(_ps["ds"], "*.parquet", SearchOption.AllDirectories).Single();

        // A JSON Lines or Parquet file named with -Delimiter or -Quoting None: the whole command stops, naming the file.
        var err = TheError("New-GroupedDataset -LiteralPath in.csv, x.jsonl -Destination out -GroupBy k -Delimiter ','");
        Assert.Equal("DelimiterWithNonTextInput" + Cmdlet, err.FullyQualifiedErrorId);
        Assert.Equal((ErrorCategory.InvalidArgument, _ps["x.jsonl"]), (err.CategoryInfo.Category, err.TargetObject));
        err = TheError("New-GroupedDataset -LiteralPath $shard -Destination out -GroupBy k -Quoting None".Replace("$shard", $"'{shard.Replace("'", "''")}'"));
        Assert.Equal("QuotingWithNonTextInput" + Cmdlet, err.FullyQualifiedErrorId);
        Assert.Equal((ErrorCategory.InvalidArgument, shard), (err.CategoryInfo.Category, err.TargetObject));
        Assert.False(Directory.Exists(_ps["out"]));
        // -Quoting Standard is the default: it changes nothing for such a file.
        Assert.Equal("1", Values("(New-GroupedDataset -LiteralPath x.jsonl -Destination out -GroupBy k -Quoting Standard).RecordCount").Single());

        // Records on the pipeline are no text to split.
        var piped = TheError("[pscustomobject]@{ k = 'a' } | New-GroupedDataset -Destination piped -GroupBy k -Quoting None");
        Assert.Equal("QuotingWithPipelineRecords" + Cmdlet, piped.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, piped.CategoryInfo.Category);
        Assert.Equal("a", ((PSObject)piped.TargetObject).Properties["k"].Value);
        Assert.Equal("DelimiterWithPipelineRecords" + Cmdlet, TheError("[pscustomobject]@{ k = 'a' } | New-GroupedDataset -Destination piped -GroupBy k -Delimiter ';'").FullyQualifiedErrorId);
        Assert.False(Directory.Exists(_ps["piped"]));
        // Files piped in are still files.
        Assert.Equal("1", Values("[System.IO.FileInfo]::new([System.IO.Path]::Combine($PWD.ProviderPath, 'in.csv')) | New-GroupedDataset -Destination 'piped file' -GroupBy k -Delimiter ',' | ForEach-Object { $_.RecordCount }").Single());
    }

    [Fact]
    public void A_folder_named_CSV_with_Format_is_read_whatever_its_files_extensions()
    {
        var dir = _ps["export [1]"];
        Directory.CreateDirectory(Path.Combine(dir, "more"));
        File.WriteAllText(Path.Combine(dir, "part 1.txt"), "k,v\na,1\nb,2\n");
        File.WriteAllText(Path.Combine(dir, "more", "part 2.txt"), "k,v\na,3\n");
        File.WriteAllText(Path.Combine(dir, "events.jsonl"), "{\"k\":\"z\"}\n");
        // A dataset built into the folder earlier: its shards, index and manifest are no CSV.
        _ps.Run("New-GroupedDataset -LiteralPath 'export [1]/part 1.txt' -Destination 'export [1]/old' -GroupBy k -Format Csv | Out-Null");

        var info = _ps.Run("New-GroupedDataset -LiteralPath 'export [1]' -Destination 'by k' -GroupBy k -Format Csv").Single();
        Assert.Equal([Path.Combine(dir, "more", "part 2.txt"), Path.Combine(dir, "part 1.txt")], (string[])info.Properties["Sources"].Value);
        Assert.Equal((2L, 3L), ((long)info.Properties["GroupCount"].Value, (long)info.Properties["RecordCount"].Value));
        Assert.Equal(["3", "1"], Values("Get-GroupRecord -LiteralPath 'by k' -Key a | ForEach-Object { $_.v }")); // in the files' ordinal order

        // -Delimiter without -Format: the folder's delimited text files, .txt among them.
        var semi = _ps.Run("New-GroupedDataset -LiteralPath 'export [1]' -Destination 'by k 2' -GroupBy k -Delimiter ','").Single();
        Assert.Equal((string[])info.Properties["Sources"].Value, (string[])semi.Properties["Sources"].Value);
    }
}
