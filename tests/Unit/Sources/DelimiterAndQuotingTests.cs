using System.Text;
using Grouper.Partitioning;
using Grouper.Sources;
using Xunit;

namespace Grouper.Tests.Sources;

/// <summary>
/// Delimited text other than CSV and TSV: any ASCII delimiter (a semicolon CSV as Excel writes it in many locales, a
/// pipe-separated file), quoting off (IMDb's TSV files, whose titles hold quotes as text), and a folder read in the
/// format a caller names.
/// </summary>
public class DelimiterAndQuotingTests
{
    private static List<string[]> ReadAll(RecordReader r, List<long>? lines = null)
    {
        var rows = new List<string[]>();
        while (r.Read())
        {
            rows.Add(Enumerable.Range(0, r.FieldCount).Select(r.GetString).ToArray());
            lines?.Add(r.RowNumber);
        }
        return rows;
    }

    private static string[] Names(RecordReader r) => Enumerable.Range(0, r.FieldCount).Select(r.GetName).ToArray();

    [Theory]
    [InlineData(';')]
    [InlineData('|')]
    public void A_file_with_another_delimiter_reads_with_it_and_quoted_fields_still_hold_it(char d)
    {
        using var t = new TempDir();
        var path = t[d == ';' ? "eu.csv" : "pipes.txt"];
        // Quoted fields with the delimiter, a doubled quote and a line break inside; commas are text.
        File.WriteAllText(path,
            $"id{d}name{d}note\r\n" +
            $"1{d}\"Müller{d} Hans\"{d}\"say \"\"hi\"\"\"\r\n" +
            $"2{d}plain, with a comma{d}\"two\nlines\"\r\n" +
            $"3{d}{d}x\r\n", new UTF8Encoding(false));
        using var r = SourceFiles.Open(path, new SourceOptions { Delimiter = d });
        Assert.IsType<CsvRecordReader>(r);
        Assert.Equal(["id", "name", "note"], Names(r));
        var lines = new List<long>();
        Assert.Equal([["1", $"Müller{d} Hans", "say \"hi\""], ["2", "plain, with a comma", "two\nlines"], ["3", "", "x"]], ReadAll(r, lines));
        Assert.Equal([2L, 3, 5], lines);
        // Named as CSV, the delimiter given still wins over the comma.
        using var named = SourceFiles.Open(path, new SourceOptions { Format = SourceFormat.Csv, Delimiter = d });
        Assert.Equal(["id", "name", "note"], Names(named));
        Assert.Equal(3, ReadAll(named).Count);
    }

    [Fact]
    public void Errors_in_a_file_with_another_delimiter_name_the_file_and_the_line()
    {
        using var t = new TempDir();
        var path = t["bad [1].csv"];
        File.WriteAllText(path, "k;v;w\n1;2;3\n4;\"ab\" ;6\n");
        using var r = SourceFiles.Open(path, new SourceOptions { Delimiter = ';' });
        Assert.True(r.Read());
        var ex = Assert.Throws<GrouperException>(() => r.Read());
        Assert.Equal((GrouperErrorKind.InvalidData, 3L, path), (ex.Kind, ex.Row, ex.SourceName));
        Assert.Contains($"{path}, line 3: ' ' follows the closing quote of field 2", ex.Message);

        File.WriteAllText(path, "k;v\n1;2\n3;4;5\n");
        using var r2 = SourceFiles.Open(path, new SourceOptions { Delimiter = ';' });
        var ex2 = Assert.Throws<GrouperException>(() => { while (r2.Read()) { } });
        Assert.Equal(3L, ex2.Row);
        Assert.Contains($"{path}, line 3 has 3 fields but the header has 2", ex2.Message);
    }

    // IMDb's title.basics.tsv: tabs, no quoting, titles with quotes at their start, in their middle, alone.
    private const string Imdb =
        "tconst\tprimaryTitle\tn\n" +
        "tt1\t\"Quoted\" title\t1\n" +
        "tt2\tA \"mid\" quote\t2\n" +
        "tt3\t\"\t3\n" +
        "tt4\t\"\"\t4\n" +
        "tt5\tends in a quote\"\t5\n" +
        "tt6\t\"open, never closed\t6\n";

    private static readonly string[][] ImdbRows =
    [
        ["tt1", "\"Quoted\" title", "1"],
        ["tt2", "A \"mid\" quote", "2"],
        ["tt3", "\"", "3"],
        ["tt4", "\"\"", "4"],
        ["tt5", "ends in a quote\"", "5"],
        ["tt6", "\"open, never closed", "6"],
    ];

    [Fact]
    public void Quoting_None_reads_every_quote_as_text_and_a_record_as_one_line()
    {
        using var t = new TempDir();
        var path = t["title.basics.tsv"];
        File.WriteAllText(path, Imdb, new UTF8Encoding(false));
        using (var r = SourceFiles.Open(path, new SourceOptions { Quoting = CsvQuoting.None }))
        {
            Assert.Equal(["tconst", "primaryTitle", "n"], Names(r));
            var lines = new List<long>();
            Assert.Equal(ImdbRows, ReadAll(r, lines));
            Assert.Equal([2L, 3, 4, 5, 6, 7], lines);
        }
        // However the input is cut between reads; and a header's quotes are text too.
        var bytes = Encoding.UTF8.GetBytes("\"tconst\"\t" + Imdb[7..]);
        foreach (int chunk in new[] { 1, 2, 3, 7, 64 })
        {
            using var r = new CsvRecordReader("t.tsv", new ChunkStream(bytes, chunk), '\t', CsvQuoting.None);
            Assert.Equal(["\"tconst\"", "primaryTitle", "n"], Names(r));
            Assert.Equal(ImdbRows, ReadAll(r));
        }
        // With a semicolon, and through the UTF-8 slices the writer takes.
        var semi = Encoding.UTF8.GetBytes("k;v\r\n\"a\";\"x\"\"\r\n");
        using var s = new CsvRecordReader("s.csv", new MemoryStream(semi), ';', CsvQuoting.None);
        Assert.True(s.Read());
        Assert.Equal(["\"a\"", "\"x\"\""], [s.GetString(0), s.GetString(1)]);
        Assert.True(s.TryGetUtf8(1, out var utf8));
        Assert.Equal("\"x\"\""u8.ToArray(), utf8.ToArray());
        Assert.Equal(2L, s.RowNumber);
        Assert.False(s.Read());
    }

    [Fact]
    public void Quoting_None_splits_what_standard_quoting_would_join_and_says_where()
    {
        using var t = new TempDir();
        var path = t["joined.tsv"];
        File.WriteAllText(path, "k\tv\n1\t\"a\tb\"\n2\t\"two\nlines\"\n");
        // Standard quoting: one field each, the second on two lines.
        using (var r = SourceFiles.Open(path))
            Assert.Equal([["1", "a\tb"], ["2", "two\nlines"]], ReadAll(r));
        // Without: the tab inside the quotes splits, naming the file and the line.
        using var none = SourceFiles.Open(path, new SourceOptions { Quoting = CsvQuoting.None });
        var ex = Assert.Throws<GrouperException>(() => { while (none.Read()) { } });
        Assert.Equal((GrouperErrorKind.InvalidData, 2L), (ex.Kind, ex.Row));
        Assert.Contains($"{path}, line 2 has 3 fields but the header has 2", ex.Message);
        // The line break inside the quotes ends a record: "2\t\"two" and "lines\"" are records of lines 3 and 4.
        File.WriteAllText(path, "k\tv\n2\t\"two\nlines\"\n");
        using var split = SourceFiles.Open(path, new SourceOptions { Quoting = CsvQuoting.None });
        Assert.True(split.Read());
        Assert.Equal(["2", "\"two"], [split.GetString(0), split.GetString(1)]);
        ex = Assert.Throws<GrouperException>(() => split.Read());
        Assert.Equal(3L, ex.Row);
        Assert.Contains($"{path}, line 3 has 1 fields but the header has 2", ex.Message);
    }

    [Fact]
    public void Standard_quoting_stops_at_IMDbs_titles_naming_the_line_and_quoting_off()
    {
        using var t = new TempDir();
        var path = t["title.basics.tsv"];
        File.WriteAllText(path, Imdb);
        using var r = SourceFiles.Open(path);
        var ex = Assert.Throws<GrouperException>(() => r.Read());
        Assert.Equal(2L, ex.Row);
        Assert.Contains($"{path}, line 2: ' ' follows the closing quote of field 2", ex.Message);
        Assert.Contains("-Quoting None", ex.Message);
    }

    [Fact]
    public void A_delimiter_that_cannot_separate_fields_is_refused()
    {
        using var t = new TempDir();
        File.WriteAllText(t["a.csv"], "k\n1\n");
        foreach (var bad in new[] { '"', '\r', '\n', 'é', '；' })
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => new CsvRecordReader("x.csv", new MemoryStream("k\n"u8.ToArray()), bad, CsvQuoting.None));
            var ex = Assert.Throws<GrouperException>(() => SourceFiles.Open(t["a.csv"], new SourceOptions { Delimiter = bad }));
            Assert.Equal(GrouperErrorKind.InvalidArgument, ex.Kind);
            Assert.False(CsvRecordReader.IsValidDelimiter(bad));
        }
        foreach (var good in new[] { ',', ';', '|', '\t', ' ', ':' }) Assert.True(CsvRecordReader.IsValidDelimiter(good));
    }

    [Fact]
    public void A_delimiter_or_quoting_makes_inputs_delimited_text()
    {
        using var t = new TempDir();
        File.WriteAllText(t["data.txt"], "k;v\na;1\n");
        File.WriteAllText(t["data.dat"], "k;v\na;1\n");
        File.WriteAllText(t["x.jsonl"], "{\"k\":1}\n");
        // A .txt file is delimited text once its delimiter is known.
        using (var r = SourceFiles.Open(t["data.txt"], new SourceOptions { Delimiter = ';' }))
            Assert.Equal([["a", "1"]], ReadAll(r));
        Assert.Equal(GrouperErrorKind.InvalidArgument, Assert.Throws<GrouperException>(() => SourceFiles.Open(t["data.txt"], new SourceOptions { Quoting = CsvQuoting.None })).Kind);
        Assert.Equal(GrouperErrorKind.InvalidArgument, Assert.Throws<GrouperException>(() => SourceFiles.Open(t["data.dat"], new SourceOptions { Delimiter = ';' })).Kind);
        // JSON Lines or Parquet by extension, or by name: refused, not read with the option ignored.
        var ex = Assert.Throws<GrouperException>(() => SourceFiles.Open(t["x.jsonl"], new SourceOptions { Delimiter = ';' }));
        Assert.Equal((GrouperErrorKind.InvalidArgument, t["x.jsonl"]), (ex.Kind, ex.SourceName));
        Assert.Contains("is a JSON Lines file", ex.Message);
        Assert.Throws<GrouperException>(() => SourceFiles.Open(t["data.txt"], new SourceOptions { Format = SourceFormat.Parquet, Quoting = CsvQuoting.None }));
        Assert.Throws<GrouperException>(() => SourceFiles.Open(t["data.txt"], new SourceOptions { Format = SourceFormat.JsonLines, Delimiter = ';' }));
        // Named, any file is read in the format named.
        using (var r = SourceFiles.Open(t["data.dat"], new SourceOptions { Format = SourceFormat.Csv, Delimiter = ';' }))
            Assert.Equal([["a", "1"]], ReadAll(r));
    }

    [Fact]
    public void A_label_scan_reads_the_files_as_the_build_does()
    {
        using var t = new TempDir();
        File.WriteAllText(t["labels.txt"], "id;label\n1;\"cat; big\"\n2;dog\n3;\"cat; big\"\n");
        var counts = LabelScan.Count([t["labels.txt"]], "label", new SourceOptions { Delimiter = ';' });
        Assert.Equal([new("cat; big", 2L), new KeyValuePair<string, long>("dog", 1L)], counts.ToList());
    }

    [Fact]
    public void A_folder_read_in_a_named_format_takes_its_files_of_any_extension_but_not_other_formats_or_Grouper_own()
    {
        using var t = new TempDir();
        var dir = Path.Combine(t.Path, "in [x] y");
        foreach (var f in new[] { "data.txt", "export", "b.csv", "c.tsv.gz", "sub/more.dat", "notes.md", "x.jsonl", "y.parquet", "z.parquet.gz",
                     ".hidden.txt", ".ds.grouper-lock", ".ds.grouper-tmp-1/part.txt", "ds/manifest.json", "ds/index.gidx", "ds/data/shard-00000.parquet" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(dir, f))!);
            File.WriteAllText(Path.Combine(dir, f), "k\n1\n");
        }
        List<string> Inputs(SourceOptions? o) => SourceFiles.Expand(dir, o).Select(f => Path.GetRelativePath(dir, f).Replace('\\', '/')).ToList();
        // By extension: the known ones (a dataset's folder is its shards); as before.
        Assert.Equal(["b.csv", "c.tsv.gz", "ds/data/shard-00000.parquet", "x.jsonl", "y.parquet"], Inputs(null));
        Assert.Equal(Inputs(null), Inputs(SourceOptions.Of(null)));
        // Named CSV: every file, except those whose extension names JSON Lines or Parquet, dot names and a dataset's index
        // and manifest (CSV and TSV are one kind: a .tsv file named CSV is read as CSV, as one named by its path is).
        Assert.Equal(["b.csv", "c.tsv.gz", "data.txt", "export", "notes.md", "sub/more.dat"], Inputs(new SourceOptions { Format = SourceFormat.Csv }));
        Assert.Equal(Inputs(new SourceOptions { Format = SourceFormat.Csv }), Inputs(new SourceOptions { Format = SourceFormat.Tsv }));
        Assert.Equal(["data.txt", "ds/data/shard-00000.parquet", "export", "notes.md", "sub/more.dat", "y.parquet", "z.parquet.gz"], Inputs(new SourceOptions { Format = SourceFormat.Parquet }));
        Assert.Equal(["data.txt", "export", "notes.md", "sub/more.dat", "x.jsonl"], Inputs(new SourceOptions { Format = SourceFormat.JsonLines }));
        // A delimiter and no format: the folder's delimited text files, .txt among them; quoting alone: .csv and .tsv.
        Assert.Equal(["b.csv", "c.tsv.gz", "data.txt"], Inputs(new SourceOptions { Delimiter = ';' }));
        Assert.Equal(["b.csv", "c.tsv.gz"], Inputs(new SourceOptions { Quoting = CsvQuoting.None }));
        // A folder with nothing to read says what it looked for.
        var empty = Path.Combine(t.Path, "only parquet");
        Directory.CreateDirectory(empty);
        File.WriteAllText(Path.Combine(empty, "a.parquet"), "");
        var ex = Assert.Throws<GrouperException>(() => SourceFiles.Expand(empty, new SourceOptions { Delimiter = ';' }));
        Assert.Equal(GrouperErrorKind.NotFound, ex.Kind);
        Assert.Contains(".txt files", ex.Message);
    }
}
