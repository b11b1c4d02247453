using System.IO.Compression;
using System.Globalization;
using System.Text;
using Grouper.Keys;
using Grouper.Reading;
using Grouper.Schema;
using Grouper.Sources;
using Grouper.Writer;
using Xunit;

namespace Grouper.Tests.Sources;

public class CsvAndJsonTests
{
    private static List<string[]> ReadAll(RecordReader r, List<long>? lines = null)
    {
        var rows = new List<string[]>();
        while (r.Read())
        {
            rows.Add(Enumerable.Range(0, r.FieldCount).Select(i => r.GetValue(i)?.ToString() ?? "<null>").ToArray());
            lines?.Add(r.RowNumber);
        }
        return rows;
    }

    [Fact]
    public void Csv_quoting_edge_cases()
    {
        using var t = new TempDir();
        var path = t["q.csv"];
        File.WriteAllText(path, "\uFEFFid,text,n\r\n1,\"a, b\",x\r\n2,\"say \"\"hi\"\"\",\r\n3,\"two\nlines\r\nhere\",z\r\n\r\n4,,\"\"\n5,last,no-newline", new UTF8Encoding(false));
        using var r = SourceFiles.Open(path);
        Assert.Equal(["id", "text", "n"], Enumerable.Range(0, r.FieldCount).Select(r.GetName));
        var lines = new List<long>();
        var rows = ReadAll(r, lines);
        Assert.Equal(5, rows.Count);
        Assert.Equal(["1", "a, b", "x"], rows[0]);
        Assert.Equal(["2", "say \"hi\"", ""], rows[1]);
        Assert.Equal(["3", "two\nlines\r\nhere", "z"], rows[2]);
        Assert.Equal(["4", "", ""], rows[3]);
        Assert.Equal(["5", "last", "no-newline"], rows[4]);
        Assert.Equal([2L, 3, 4, 8, 9], lines);
        Assert.Equal(ValueKind.String, r.GetKind(1));
    }

    [Fact]
    public void Tsv_and_gzip()
    {
        using var t = new TempDir();
        using (var gz = new GZipStream(File.Create(t["a.tsv.gz"]), CompressionLevel.Fastest))
            gz.Write(Encoding.UTF8.GetBytes("k\tv\nx\t1,2\ny\t\"q\tq\"\n"));
        Assert.Equal(SourceFormat.Tsv, SourceFiles.DetectFormat(t["a.tsv.gz"]));
        using var r = SourceFiles.Open(t["a.tsv.gz"]);
        Assert.Equal([["x", "1,2"], ["y", "q\tq"]], ReadAll(r));

        // A damaged gzip file that decompresses to nothing says what it may be; an empty plain file does not.
        File.WriteAllBytes(t["damaged.csv.gz"], [0x1f, 0x8b, 8, 0, .. "garbage"u8]);
        var ex = Assert.Throws<GrouperException>(() => SourceFiles.Open(t["damaged.csv.gz"]));
        Assert.Contains("damaged.csv.gz is empty once decompressed (a damaged gzip file", ex.Message);
        File.WriteAllText(t["empty.csv"], "");
        Assert.EndsWith("empty.csv is empty: a CSV file needs a header row.", Assert.Throws<GrouperException>(() => SourceFiles.Open(t["empty.csv"])).Message);
    }

    [Fact]
    public void A_ragged_row_names_file_and_line()
    {
        using var t = new TempDir();
        File.WriteAllText(t["r.csv"], "a,b\n1,2\n\"x\ny\",3\n4\n");
        using var r = SourceFiles.Open(t["r.csv"]);
        var ex = Assert.Throws<GrouperException>(() => ReadAll(r));
        Assert.Equal(GrouperErrorKind.InvalidData, ex.Kind);
        Assert.Equal(5, ex.Row);
        Assert.Contains("r.csv, line 5", ex.Message);
        Assert.Contains("1 fields", ex.Message);
    }

    [Fact]
    public void An_unbalanced_quote_is_reported()
    {
        using var t = new TempDir();
        File.WriteAllText(t["u.csv"], "a,b\n1,2\n3,\"open\n5,6\n");
        using var r = SourceFiles.Open(t["u.csv"]);
        var ex = Assert.Throws<GrouperException>(() => ReadAll(r));
        Assert.Contains("u.csv", ex.Message);
        Assert.Equal(3, ex.Row);
    }

    [Fact]
    public void A_bad_header_is_reported()
    {
        using var t = new TempDir();
        File.WriteAllText(t["h.csv"], "a,b,a\n1,2,3\n");
        Assert.Contains("'a' twice", Assert.Throws<GrouperException>(() => SourceFiles.Open(t["h.csv"])).Message);
        File.WriteAllText(t["e.csv"], "");
        Assert.Contains("e.csv", Assert.Throws<GrouperException>(() => SourceFiles.Open(t["e.csv"])).Message);
        File.WriteAllText(t["blanks.csv"], "\r\n\n");
        Assert.Contains("is empty", Assert.Throws<GrouperException>(() => SourceFiles.Open(t["blanks.csv"])).Message);

        // Blank lines before the header are skipped as those between records are: the first was taken for a header
        // of one column without a name.
        File.WriteAllText(t["lead.csv"], "\n\r\nk,v\na,1\n\nb,2\n");
        using (var r = SourceFiles.Open(t["lead.csv"]))
        {
            Assert.Equal(["k", "v"], Enumerable.Range(0, r.FieldCount).Select(r.GetName));
            var rows = new List<(long, string)>();
            while (r.Read()) rows.Add((r.RowNumber, r.GetString(0)));
            Assert.Equal([(4L, "a"), (6L, "b")], rows);
        }
        File.WriteAllText(t["gap.csv"], "\n\nk,,v\n");
        var ex = Assert.Throws<GrouperException>(() => SourceFiles.Open(t["gap.csv"]));
        Assert.Equal((3L, $"Column 2 of the header of {t["gap.csv"]} (line 3) has no name."), (ex.Row, ex.Message));
    }

    [Fact]
    public void Json_lines_keep_types_and_grow_columns()
    {
        using var t = new TempDir();
        File.WriteAllText(t["d.jsonl"], "{\"u\":\"a\",\"n\":1,\"x\":1.5,\"ok\":true}\r\n\n{\"u\":\"b\",\"n\":9223372036854775807,\"nested\":{\"k\":[1,2]},\"ok\":null}\n{\"x\":2e3,\"u\":\"c\"}");
        using var r = SourceFiles.Open(t["d.jsonl"]);
        Assert.True(r.Read());
        Assert.Equal(1, r.RowNumber);
        Assert.Equal(["u", "n", "x", "ok"], Enumerable.Range(0, r.FieldCount).Select(r.GetName));
        Assert.Equal([ValueKind.String, ValueKind.Int64, ValueKind.Double, ValueKind.Boolean], Enumerable.Range(0, 4).Select(r.GetKind));
        Assert.Equal(1L, r.GetValue(1));
        Assert.Equal(1.5, r.GetValue(2));
        Assert.Equal(true, r.GetValue(3));
        int v = r.SchemaVersion;
        Assert.True(r.Read());
        Assert.Equal(3, r.RowNumber);
        Assert.NotEqual(v, r.SchemaVersion);
        Assert.Equal(long.MaxValue, r.GetValue(1));
        Assert.Equal(ValueKind.Null, r.GetKind(2));
        Assert.Equal(ValueKind.Null, r.GetKind(3));
        Assert.Equal("{\"k\":[1,2]}", r.GetValue(r.GetOrdinal("nested")));
        Assert.True(r.Read());
        Assert.Equal(2000.0, r.GetValue(2));
        Assert.Equal(ValueKind.Null, r.GetKind(1));
        Assert.False(r.Read());
    }

    /// <summary>Builds <paramref name="input"/> (a file in <paramref name="t"/>) grouped by "k" into <paramref name="dest"/>, and opens it.</summary>
    private static GroupedDataset BuildFile(TempDir t, string input, string dest = "ds")
    {
        using (var b = new GroupedDatasetBuilder(t[dest], new BuildOptions { Key = KeySpec.FromColumns("k") }))
        {
            using (var r = SourceFiles.Open(t[input])) b.AddAll(r);
            b.Complete();
        }
        return GroupedDataset.Open(t[dest]);
    }

    [Theory]
    [InlineData("{\"k\":\"a\",\"n\":9007199254740993}\n{\"k\":\"b\",\"n\":0.5}\n", "line 1", "line 2")]     // the integer first
    [InlineData("{\"k\":\"a\",\"n\":0.5}\n{\"k\":\"b\",\"n\":-9007199254740993}\n", "line 2", "line 1")]    // the fraction first
    [InlineData("{\"k\":\"a\",\"n\":1}\n{\"k\":\"b\",\"n\":2.5}\n{\"k\":\"c\",\"n\":9007199254740995}\n", "line 3", "line 2")] // a column of doubles already
    public void Integers_a_double_would_round_stop_a_build_that_widens_their_column_to_double(string jsonl, string integerAt, string widenedAt)
    {
        using var t = new TempDir();
        File.WriteAllText(t["d.jsonl"], jsonl);
        var ex = Assert.Throws<GrouperException>(() => BuildFile(t, "d.jsonl").Dispose());
        Assert.Equal(GrouperErrorKind.SchemaMismatch, ex.Kind);
        Assert.Contains("'n'", ex.Message);
        Assert.Contains($"d.jsonl, {integerAt})", ex.Message);
        Assert.Contains($"(its first at {t["d.jsonl"]}, {widenedAt})", ex.Message);
        Assert.False(Directory.Exists(t["ds"]));
    }

    [Fact]
    public void A_broken_json_line_is_named_by_its_line_and_byte_in_plain_words()
    {
        // The JSON reader sees one line at a time: its words ended "LineNumber: 0 | BytePositionInLine: 0.." (line 0
        // of every file, and two periods).
        foreach (var (text, at) in new[] { ("{\"k\":1}\n{\"k\": x}\n", "byte 7"), ("{\"k\":1}\n{\"k\":2,}\n", "byte 8"), ("{\"k\":\"\\ud800\"}\n", null) })
        {
            using var r = new JsonLinesRecordReader("d.jsonl", new MemoryStream(Encoding.UTF8.GetBytes(text)));
            var ex = Assert.Throws<GrouperException>(() => { while (r.Read()) r.GetValue(0); });
            Assert.StartsWith($"d.jsonl, line {ex.Row}: not valid JSON Lines: ", ex.Message);
            Assert.DoesNotContain("LineNumber", ex.Message);
            Assert.DoesNotContain("..", ex.Message);
            Assert.EndsWith(at is null ? "." : $" (at {at} of the line).", ex.Message);
        }
    }

    [Fact]
    public void Json_integers_beyond_a_long_are_read_exactly_or_refused()
    {
        // They were read as doubles: 18446744073709551615 as 1.8446744073709552E19.
        using var t = new TempDir();
        File.WriteAllText(t["u.jsonl"], "{\"k\":\"a\",\"id\":18446744073709551615,\"e\":100000000000000000000}\n{\"k\":\"a\",\"id\":9223372036854775808,\"e\":1}\n");
        using (var r = SourceFiles.Open(t["u.jsonl"]))
        {
            Assert.True(r.Read());
            Assert.Equal((ValueKind.UInt64, (object)18446744073709551615UL), (r.GetKind(1), r.GetValue(1)));
            Assert.Equal((ValueKind.Double, (object)1e20), (r.GetKind(2), r.GetValue(2))); // beyond 64 bits, but a double holds it
        }
        using (var ds = BuildFile(t, "u.jsonl"))
            Assert.Equal([18446744073709551615UL, 9223372036854775808UL], ds.ReadRecords(ds.FindGroup("a")!).Select(rec => (ulong)rec[1]!));

        // Beyond 64 bits where a double would round it: refused with its line, also on the one-pass parse of flat lines.
        File.WriteAllText(t["big.jsonl"], "{\"k\":\"a\",\"n\":1}\n{\"k\":\"a\",\"n\":-123456789012345678901234}\n");
        var ex = Assert.Throws<GrouperException>(() =>
        {
            using var r = SourceFiles.Open(t["big.jsonl"]);
            while (r.Read()) { }
        });
        Assert.Equal((GrouperErrorKind.InvalidData, 2L), (ex.Kind, ex.Row));
        Assert.Contains("-123456789012345678901234", ex.Message);

        // A signed and an unsigned integer beyond 2^53 in one column: a double would round the unsigned one.
        File.WriteAllText(t["mix.jsonl"], "{\"k\":\"a\",\"n\":-1}\n{\"k\":\"a\",\"n\":18446744073709551615}\n");
        ex = Assert.Throws<GrouperException>(() => BuildFile(t, "mix.jsonl", "ds2").Dispose());
        Assert.Equal(GrouperErrorKind.SchemaMismatch, ex.Kind);
        Assert.Contains("18446744073709551615", ex.Message);
    }

    [Theory]
    [InlineData("{\"k\":\"a\",\"n\":1}\n{\"k\":\"a\",\"n\":18446744073709551615}\n{\"k\":\"a\",\"n\":0}\n")] // the longs first
    [InlineData("{\"k\":\"a\",\"n\":18446744073709551615}\n{\"k\":\"a\",\"n\":1}\n{\"k\":\"a\",\"n\":0}\n")] // the uint64 first
    public void Non_negative_longs_and_integers_beyond_a_long_make_a_uint64_column(string jsonl)
    {
        // They made a column of doubles, which rounded 2^64 - 1 and so stopped the build.
        using var t = new TempDir();
        File.WriteAllText(t["d.jsonl"], jsonl);
        using var ds = BuildFile(t, "d.jsonl");
        Assert.Equal(ValueKind.UInt64, ds.Columns[1].Kind);
        var expected = jsonl.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => ulong.Parse(l[(l.LastIndexOf(':') + 1)..^1], CultureInfo.InvariantCulture));
        Assert.Equal(expected, ds.ReadRecords(ds.FindGroup("a")!).Select(rec => (ulong)rec[1]!));
    }

    [Fact]
    public void A_negative_integer_beside_integers_beyond_a_long_makes_doubles_where_they_are_exact_and_stops_where_not()
    {
        using var t = new TempDir();
        // 2^63 is a double exactly: the column becomes double, every value exact.
        File.WriteAllText(t["exact.jsonl"], "{\"k\":\"a\",\"n\":9223372036854775808}\n{\"k\":\"a\",\"n\":-3}\n");
        using (var ds = BuildFile(t, "exact.jsonl"))
        {
            Assert.Equal(ValueKind.Double, ds.Columns[1].Kind);
            Assert.Equal([9223372036854775808.0, -3.0], ds.ReadRecords(ds.FindGroup("a")!).Select(rec => (double)rec[1]!));
        }
        // 2^64 - 1 is not: the negative (after it, or before it) stops the build, naming the integer's line.
        foreach (var jsonl in new[]
        {
            "{\"k\":\"a\",\"n\":5}\n{\"k\":\"a\",\"n\":18446744073709551615}\n{\"k\":\"b\",\"n\":-1}\n",
            "{\"k\":\"a\",\"n\":-1}\n{\"k\":\"b\",\"n\":18446744073709551615}\n",
        })
        {
            File.WriteAllText(t["d.jsonl"], jsonl);
            var ex = Assert.Throws<GrouperException>(() => BuildFile(t, "d.jsonl", "ds2").Dispose());
            Assert.Equal(GrouperErrorKind.SchemaMismatch, ex.Kind);
            Assert.Contains("'n' holds both negative integers and integers beyond a long", ex.Message);
            Assert.Contains($"18446744073709551615 ({t["d.jsonl"]}, line 2)", ex.Message);
            Assert.False(Directory.Exists(t["ds2"]));
        }
    }

    [Theory]
    [InlineData("{\"k\":\"a\",\"n\":1e400}")]                 // a flat line: the one-pass parse leaves it to the full one
    [InlineData("{\"k\":\"a\",\"x\":[1],\"n\":-2.5E+999}")] // a nested value: the full parse from the start
    public void A_json_number_beyond_a_doubles_range_is_refused_with_its_line(string line)
    {
        // It was read as Infinity.
        using var t = new TempDir();
        File.WriteAllText(t["d.jsonl"], "{\"k\":\"a\",\"n\":1.5}\n" + line + "\n");
        var ex = Assert.Throws<GrouperException>(() =>
        {
            using var r = SourceFiles.Open(t["d.jsonl"]);
            while (r.Read()) { }
        });
        Assert.Equal((GrouperErrorKind.InvalidData, 2L), (ex.Kind, ex.Row));
        Assert.Contains("beyond a double's range", ex.Message);
        Assert.Contains("'n'", ex.Message);
    }

    [Fact]
    public void A_json_column_whose_first_values_are_null_builds_and_reads_back_its_nulls()
    {
        // The first record's null was of the column's kind then (none yet), and the column was left not
        // nullable: the shard writer stopped at that record with an InvalidDataException.
        using var t = new TempDir();
        File.WriteAllText(t["d.jsonl"], "{\"k\":\"a\",\"n\":null,\"s\":null}\n{\"k\":\"a\",\"n\":2,\"s\":\"x\"}\n{\"k\":\"b\",\"n\":3}\n");
        using var ds = BuildFile(t, "d.jsonl");
        Assert.All(ds.Manifest.Columns.Where(c => c.Name != "k"), c => Assert.True(c.Nullable));
        var a = ds.ReadRecords(ds.FindGroup("a")!).ToList();
        Assert.Equal([null, 2L], a.Select(rec => rec[1]));
        Assert.Equal([null, "x"], a.Select(rec => rec[2]));
        Assert.Equal([3L], ds.ReadRecords(ds.FindGroup("b")!).Select(rec => rec[1]));
    }

    [Fact]
    public void A_json_field_with_an_empty_name_is_refused_with_its_line()
    {
        // "" is a name JSON allows; a dataset's manifest does not (such a build once committed a dataset that
        // would not open).
        using var t = new TempDir();
        File.WriteAllText(t["d.jsonl"], "{\"k\":\"a\",\"n\":1}\n{\"k\":\"b\",\"\":2}\n");
        var ex = Assert.Throws<GrouperException>(() => BuildFile(t, "d.jsonl").Dispose());
        Assert.Equal((GrouperErrorKind.InvalidData, 2L), (ex.Kind, ex.Row));
        Assert.Contains("empty name", ex.Message);
        Assert.False(Directory.Exists(t["ds"]));
    }

    [Fact]
    public void Integers_a_double_holds_exactly_widen_with_fractions_and_read_back_as_they_were()
    {
        using var t = new TempDir();
        // 2^53, -2^53 and 2^60 (a multiple of a power of two beyond 53 bits) are held exactly; so is long.MinValue.
        File.WriteAllText(t["d.jsonl"], "{\"k\":\"a\",\"n\":9007199254740992}\n{\"k\":\"a\",\"n\":-9007199254740992}\n" +
            "{\"k\":\"a\",\"n\":1152921504606846976}\n{\"k\":\"a\",\"n\":-9223372036854775808}\n{\"k\":\"a\",\"n\":0.25}\n" +
            "{\"k\":\"b\",\"n\":9223372036854775807}\n");
        // The last integer (long.MaxValue) is not exact in a double, but its column is already double: refused.
        Assert.Throws<GrouperException>(() => BuildFile(t, "d.jsonl").Dispose());
        File.WriteAllText(t["d.jsonl"], string.Join("\n", File.ReadAllLines(t["d.jsonl"])[..^1]) + "\n");
        using var ds = BuildFile(t, "d.jsonl");
        Assert.Equal(ValueKind.Double, ds.Manifest.Columns.Single(c => c.Name == "n").Kind);
        var values = ds.ReadRecords(ds.FindGroup("a")!).Select(rec => (double)rec[1]!).ToList();
        Assert.Equal([9007199254740992.0, -9007199254740992.0, 1152921504606846976.0, -9223372036854775808.0, 0.25], values);
    }

    [Fact]
    public void Json_lines_text_survives_reordered_and_escaped_names_escapes_and_long_values()
    {
        // Names are matched by their bytes (escaped ones by their text) and values kept as characters of
        // one buffer per line: all must read back exactly, whatever the order and length.
        using var t = new TempDir();
        var longText = new string('é', 10_000);
        File.WriteAllText(t["e.jsonl"], string.Join("\n",
            "{\"k\":\"a\",\"t\":\"x\\\"y\\\\z\\n\"}",
            "{\"t\":\"second\",\"k\":\"b\"}",
            "{\"\\u006b\":\"c\",\"t\":\"" + longText + "\",\"o\":{\"ü\":[1,\"s\"]}}",
            "{\"k\":\"d\",\"o\":null,\"t\":\"\\ud83d\\ude00\"}"), new UTF8Encoding(false));
        using var r = SourceFiles.Open(t["e.jsonl"]);
        var rows = new List<(string K, string T, string? O)>();
        while (r.Read())
        {
            int o = r.GetOrdinal("o");
            rows.Add((r.GetChars(r.GetOrdinal("k")).ToString(), r.GetString(r.GetOrdinal("t")), o >= 0 && r.GetKind(o) != ValueKind.Null ? r.GetString(o) : null));
        }
        Assert.Equal(["k", "t", "o"], Enumerable.Range(0, r.FieldCount).Select(r.GetName));
        Assert.Equal([("a", "x\"y\\z\n", null), ("b", "second", null), ("c", longText, "{\"ü\":[1,\"s\"]}"), ("d", "😀", null)], rows);
    }

    [Theory]
    [InlineData("{\"a\":1}\n{\"a\":\n", 2, "not valid JSON")]
    [InlineData("{\"a\":1}\n[1,2]\n", 2, "not a JSON object")]
    [InlineData("{\"a\":1,\"a\":2}\n", 1, "twice")]
    [InlineData("{\"a\":1} x\n", 1, "not valid JSON")]
    public void A_broken_json_line_names_file_and_line(string text, int line, string what)
    {
        using var t = new TempDir();
        File.WriteAllText(t["b.jsonl"], text);
        using var r = SourceFiles.Open(t["b.jsonl"]);
        var ex = Assert.Throws<GrouperException>(() => { while (r.Read()) { } });
        Assert.Equal(line, ex.Row);
        Assert.Contains($"b.jsonl, line {line}", ex.Message);
        Assert.Contains(what, ex.Message);
    }

    [Theory]
    [InlineData(7, 53)]
    [InlineData(8, 300)]
    [InlineData(9, 1 << 20)]
    public void A_damaged_byte_in_a_json_value_names_its_line_and_field_after_every_line_before_it(int seed, int chunk)
    {
        // Lines are validated ahead, as much as has been read; a line holding a damaged byte has its values
        // checked one by one. Every line is damaged in turn, so the damage falls across the reads' boundaries.
        var random = new Random(seed);
        string[] pieces = ["a", "xyz", " ", "é", "東京", "😀", "\\n", "\\u00e9"];
        var lines = new List<string>();
        for (int i = 0; i < 120; i++)
        {
            var text = new StringBuilder("ab");
            for (int j = random.Next(0, 12); j > 0; j--) text.Append(pieces[random.Next(pieces.Length)]);
            lines.Add($"{{\"id\":{i},\"t\":\"{text}\"}}");
        }
        var good = new UTF8Encoding(false).GetBytes(string.Join("\n", lines) + "\n");
        int start = 0, byValue = 0;
        for (int line = 0; line < lines.Count; line++)
        {
            int at = Array.IndexOf(good, (byte)'a', start);             // the first byte of the line's text value
            start = Array.IndexOf(good, (byte)'\n', start) + 1;
            var bytes = (byte[])good.Clone();
            bytes[at + random.Next(2)] = (line % 2 == 0) ? (byte)0xFF : (byte)0x80;
            using var r = new JsonLinesRecordReader("d.jsonl", new ChunkStream(bytes, chunk));
            int n = 0;
            var ex = Assert.Throws<GrouperException>(() =>
            {
                while (r.Read()) { r.TryGetUtf8(r.GetOrdinal("t"), out _); n++; }  // false for a value with escapes
            });
            Assert.Equal(line + 1, ex.Row);
            // A value with escapes is decoded by the JSON reader, which names the damage in its words.
            Assert.StartsWith($"d.jsonl, line {line + 1}: not valid JSON Lines: ", ex.Message);
            Assert.Contains("UTF-8", ex.Message);
            if (ex.Message.Contains("the value of 't' is not valid UTF-8")) byValue++;
            Assert.Equal(line, n);
        }
        Assert.True(byValue > lines.Count / 4, $"{byValue} lines failed their value check");
        foreach (int size in new[] { 1, 2, 3, chunk })
        {
            using var r = new JsonLinesRecordReader("d.jsonl", new ChunkStream(good, size));
            int n = 0;
            while (r.Read()) { r.TryGetUtf8(r.GetOrdinal("t"), out _); n++; }
            Assert.Equal(lines.Count, n);
        }
    }

    [Fact]
    public void The_one_pass_parse_of_flat_lines_reads_what_the_full_parse_reads()
    {
        // Each line follows a line that names every field, so the one-pass parse may take it; the same text is
        // read again with that parse turned off. Values, kinds, text and errors must be the same.
        var random = new Random(12);
        // "tab\tx" is a name with a byte to escape: written escaped, or (wrongly) with the raw tab.
        string[] names = ["id", "t", "naïve", "東京", "n", "flag", "tab\\tx"];
        string[] numbers = ["0", "-0", "7", "-12", "123456789012", "9223372036854775807", "9223372036854775808",
            "-9223372036854775808", "-9223372036854775809", "0.1", "-2.5", "1e5", "1E-3", "6.02e+23", "1.7976931348623157e308",
            "4.9e-324", "1e400", "01", ".5", "1.", "-", "1e", "2.5E", "+1", "0x10", "1_000", "3.14159265358979323846264338327950288"];
        string[] texts = ["", "a", "héllo", "東京", "😀", "a\\\"b", "tab\\tx", "\\u00e9", "x\\ny", "raw\tTAB", "q"];
        string Value()
        {
            return random.Next(10) switch
            {
                0 or 1 or 2 => "\"" + texts[random.Next(texts.Length)] + "\"",
                3 or 4 or 5 => numbers[random.Next(numbers.Length)],
                6 => "true", 7 => "false", 8 => "null",
                _ => random.Next(4) switch { 0 => "{\"a\":1}", 1 => "[1,2]", 2 => "tru", _ => "nul" },
            };
        }
        string Space() => random.Next(4) == 0 ? new[] { " ", "\t", "  ", " \t " }[random.Next(4)] : "";
        var warmup = "{" + string.Join(",", names.Select(n => $"\"{n}\":1")) + "}";
        int flat = 0;
        for (int i = 0; i < 3000; i++)
        {
            var fields = names.OrderBy(_ => random.Next()).Take(random.Next(1, names.Length + 1)).ToList();
            if (random.Next(20) == 0) fields.Add(fields[0]);                                   // a field twice
            string Name(string n) => random.Next(30) switch { 0 => n.Replace("i", "\\u0069"), 1 => n.Replace("\\t", "\t"), _ => n };
            var parts = fields.Select(n => $"{Space()}\"{Name(n)}\"{Space()}:{Space()}{Value()}{Space()}");
            var line = Space() + "{" + string.Join(",", parts) + "}" + Space() + (random.Next(40) == 0 ? "x" : "");
            if (random.Next(60) == 0) line = line.TrimEnd().TrimEnd('}');                     // not closed
            var text = Encoding.UTF8.GetBytes(warmup + "\n" + line + "\n");
            string Outcome(bool flatPath, out long flatLines)
            {
                using var r = new JsonLinesRecordReader("f.jsonl", new MemoryStream(text)) { FlatPath = flatPath };
                try
                {
                    r.Read();
                    if (!r.Read()) { flatLines = r.FlatLines; return "no record"; }
                    var sb = new StringBuilder();
                    for (int o = 0; o < r.FieldCount; o++)
                    {
                        var kind = r.GetKind(o);
                        sb.Append(r.GetName(o)).Append('=').Append(kind).Append(':');
                        sb.Append(kind switch
                        {
                            ValueKind.Int64 => r.GetInt64(o).ToString(System.Globalization.CultureInfo.InvariantCulture),
                            ValueKind.Double => BitConverter.DoubleToInt64Bits(r.GetDouble(o)).ToString(System.Globalization.CultureInfo.InvariantCulture),
                            ValueKind.Boolean => r.GetBoolean(o).ToString(),
                            ValueKind.String => (r.TryGetUtf8(o, out var u) ? "utf8 " + Convert.ToHexString(u) : "chars ") + "|" + r.GetString(o),
                            _ => "",
                        }).Append(';');
                    }
                    flatLines = r.FlatLines;
                    return sb.ToString();
                }
                catch (Exception ex) { flatLines = r.FlatLines; return ex.GetType().Name + ": " + ex.Message; }
            }
            var fast = Outcome(true, out long taken);
            var full = Outcome(false, out _);
            Assert.True(full == fast, $"line {line}\nfull: {full}\nfast: {fast}");
            flat += (int)taken;
        }
        Assert.True(flat > 300, $"{flat} lines took the one-pass parse");
    }

    [Fact]
    public void A_string_ends_where_a_byte_by_byte_search_says_wherever_it_lies_in_the_line()
    {
        // The one-pass parse finds a string's end 32 bytes at a time and reads a line's last 32 bytes again
        // instead of its tail: every stop (closing quote, escape, control character) at every place before,
        // across and after a 32-byte boundary, from every start, must give what one byte at a time gives.
        static int OneByteAtATime(ReadOnlySpan<byte> line, int from)
        {
            for (int i = from; i < line.Length; i++)
            {
                if (line[i] == (byte)'"') return i;
                if (line[i] == (byte)'\\' || line[i] < 0x20) return -1;
            }
            return -1;
        }
        byte[] stops = [(byte)'"', (byte)'\\', 0x00, 0x09, 0x1F];
        byte[] others = [(byte)'a', 0x20, 0x7F, 0x80, 0xC3, 0xFF];
        var random = new Random(5);
        int checkedEnds = 0;
        for (int length = 0; length <= 100; length++)
        {
            var line = new byte[length];
            for (int trial = 0; trial < 12; trial++)
            {
                for (int i = 0; i < length; i++) line[i] = others[random.Next(others.Length)];
                // None, one or two stops, anywhere.
                for (int k = trial % 3; k > 0 && length > 0; k--) line[random.Next(length)] = stops[random.Next(stops.Length)];
                for (int from = 0; from <= length; from++)
                {
                    Assert.True(OneByteAtATime(line, from) == JsonLinesRecordReader.StringEnd(line, from),
                        $"length {length}, from {from}: {Convert.ToHexString(line)}");
                    checkedEnds++;
                }
            }
        }
        // Each stop at each place of a 70-byte line (a text value's length in the benchmark's lines).
        for (int at = 0; at < 70; at++)
            foreach (var stop in stops)
            {
                var line = Enumerable.Repeat((byte)'x', 70).ToArray();
                line[at] = stop;
                for (int from = 0; from <= 70; from++)
                    Assert.Equal(OneByteAtATime(line, from), JsonLinesRecordReader.StringEnd(line, from));
            }
        Assert.True(checkedEnds > 60_000);
    }

    [Fact]
    public void Long_strings_read_by_the_one_pass_parse_are_what_the_full_parse_reads()
    {
        // Text values 0-90 bytes long with an escape, a raw control character or a non-ASCII character at
        // several places: the one-pass parse takes the plain ones and leaves the others to the full parse,
        // which alone reports the raw tab. Each line follows one that names both fields.
        string[] inserts = ["\\n", "\\\"", "\t", "é", "東", ""];
        int flat = 0, errors = 0;
        for (int length = 0; length <= 90; length += 3)
            for (int at = 0; at <= length; at += 7)
                foreach (var insert in inserts)
                {
                    var text = new string('w', at) + insert + new string('v', length - at);
                    var bytes = Encoding.UTF8.GetBytes($"{{\"k\":\"a\",\"t\":\"\"}}\n{{\"k\":\"g\",\"t\":\"{text}\"}}\n");
                    string Outcome(bool flatPath, out long flatLines)
                    {
                        using var r = new JsonLinesRecordReader("l.jsonl", new MemoryStream(bytes)) { FlatPath = flatPath };
                        try
                        {
                            r.Read();
                            if (!r.Read()) { flatLines = r.FlatLines; return "no record"; }
                            flatLines = r.FlatLines;
                            int t = r.GetOrdinal("t");
                            return r.GetString(r.GetOrdinal("k")) + "|" + r.GetString(t) + "|" + (r.TryGetUtf8(t, out var u) ? Convert.ToHexString(u) : "chars");
                        }
                        catch (GrouperException ex) { flatLines = r.FlatLines; return "error: " + ex.Message; }
                    }
                    var fast = Outcome(true, out long taken);
                    var full = Outcome(false, out _);
                    Assert.True(full == fast, $"text {text}\nfull: {full}\nfast: {fast}");
                    flat += (int)taken;
                    if (full.StartsWith("error: ", StringComparison.Ordinal)) errors++;
                }
        Assert.True(errors > 50, $"{errors} lines with a raw tab refused");
        Assert.True(flat > 300, $"{flat} lines took the one-pass parse");
    }

    /// <summary>Gives its bytes, then fails as a disk or a network share can.</summary>
    private sealed class FailingStream(byte[] data) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) =>
            Position < Length ? base.Read(buffer, offset, Math.Min(count, 4096)) : throw new IOException("the share went away");
        public override int Read(Span<byte> buffer)
        {
            var chunk = new byte[Math.Min(buffer.Length, 4096)];
            int n = Read(chunk, 0, chunk.Length);
            chunk.AsSpan(0, n).CopyTo(buffer);
            return n;
        }
    }

    [Theory]
    [InlineData("csv")]
    [InlineData("jsonl")]
    public void A_source_that_fails_while_it_is_read_is_named_and_nothing_is_committed(string format)
    {
        // The builder reads Grouper's own readers in a loop of their own; an error that is not the reader's
        // own report must still come out as one naming the source and the record, and the build left unmade.
        using var t = new TempDir();
        var text = new StringBuilder(format == "csv" ? "k,v\n" : "");
        for (int i = 0; i < 2000; i++) text.Append(format == "csv" ? $"g{i % 7},{i}\n" : $"{{\"k\":\"g{i % 7}\",\"v\":{i}}}\n");
        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        RecordReader reader = format == "csv"
            ? new CsvRecordReader("remote.csv", new FailingStream(bytes), ',')
            : new JsonLinesRecordReader("remote.jsonl", new FailingStream(bytes));
        var b = new GroupedDatasetBuilder(t["ds"], new BuildOptions { Key = KeySpec.FromColumns("k") });
        var ex = Assert.Throws<GrouperException>(() => b.AddAll(reader));
        reader.Dispose();
        b.Dispose();
        Assert.Equal(GrouperErrorKind.InvalidData, ex.Kind);
        Assert.StartsWith("Cannot read remote." + format, ex.Message);
        Assert.Contains("the share went away", ex.Message);
        Assert.IsType<IOException>(ex.InnerException);
        Assert.False(Directory.Exists(t["ds"]));
    }

    [Fact]
    public void A_name_with_a_byte_to_escape_is_never_taken_as_it_lies()
    {
        // The one-pass parse compares the name it expects where it lies; a name whose text needs an escape
        // (here a tab) must not match a line that writes it raw, which is not JSON.
        var text = Encoding.UTF8.GetBytes("{\"a\\tb\":1,\"c\":2}\n{\"a\tb\":3,\"c\":4}\n");
        string Outcome(bool flatPath)
        {
            using var r = new JsonLinesRecordReader("n.jsonl", new MemoryStream(text)) { FlatPath = flatPath };
            Assert.True(r.Read());
            Assert.Equal("a\tb", r.GetName(0));
            try { return r.Read() ? $"read {r.GetInt64(0)}" : "no record"; }
            catch (GrouperException ex) { return ex.Message; }
        }
        var full = Outcome(false);
        Assert.DoesNotContain("read", full);
        Assert.Equal(full, Outcome(true));
    }

    [Fact]
    public void Gzipped_json_lines_longer_than_the_buffer()
    {
        using var t = new TempDir();
        var big = new string('z', 200_000);
        using (var gz = new GZipStream(File.Create(t["g.ndjson.gz"]), CompressionLevel.Fastest))
            gz.Write(Encoding.UTF8.GetBytes($"{{\"k\":\"a\",\"t\":\"{big}\"}}\n{{\"k\":\"b\",\"t\":\"short\"}}\n"));
        using var r = SourceFiles.Open(t["g.ndjson.gz"]);
        var rows = ReadAll(r);
        Assert.Equal(big, rows[0][1]);
        Assert.Equal("short", rows[1][1]);
    }

    [Fact]
    public void Folders_and_wildcards_expand_in_ordinal_order()
    {
        using var t = new TempDir();
        var dir = Path.Combine(t.Path, "in [x] y");
        Directory.CreateDirectory(Path.Combine(dir, "sub"));
        foreach (var f in new[] { "b.csv", "a.csv", "sub/c.csv", "notes.txt", "B.jsonl" }) File.WriteAllText(Path.Combine(dir, f), "k\n1\n");
        Assert.Equal(["B.jsonl", "a.csv", "b.csv", "sub/c.csv"], SourceFiles.Expand(dir).Select(f => Path.GetRelativePath(dir, f)));
        Assert.Equal(["a.csv", "b.csv"], SourceFiles.Expand(Path.Combine(dir, "*.csv")).Select(Path.GetFileName));
        Assert.Equal(["a.csv", "b.csv", "c.csv"], SourceFiles.Expand(Path.Combine(dir, "**", "*.csv")).Select(Path.GetFileName));
        Assert.Equal(GrouperErrorKind.NotFound, Assert.Throws<GrouperException>(() => SourceFiles.Expand(Path.Combine(dir, "*.parquet"))).Kind);
        Assert.Equal(GrouperErrorKind.NotFound, Assert.Throws<GrouperException>(() => SourceFiles.Expand(Path.Combine(dir, "nope.csv"))).Kind);
        Assert.Equal(GrouperErrorKind.InvalidArgument, Assert.Throws<GrouperException>(() => SourceFiles.DetectFormat("x.txt")).Kind);
    }

    [Fact]
    public void Objects_map_to_kinds()
    {
        var r = new ObjectRecordReader();
        r.SetCurrent([new("s", "x"), new("i", 5), new("d", 1.5), new("t", new DateTimeOffset(2020, 1, 1, 5, 0, 0, TimeSpan.FromHours(2))), new("g", Guid.Empty), new("n", null)], 1);
        Assert.Equal([ValueKind.String, ValueKind.Int32, ValueKind.Double, ValueKind.Timestamp, ValueKind.String, ValueKind.Null], Enumerable.Range(0, 6).Select(r.GetKind));
        Assert.Equal(new DateTime(2020, 1, 1, 3, 0, 0, DateTimeKind.Utc), r.GetDateTime(3));
        r.SetCurrent([new("i", 7L), new("new", true)], 2);
        Assert.Equal(ValueKind.Null, r.GetKind(0));
        Assert.Equal(ValueKind.Int64, r.GetKind(1));
        Assert.Equal(7L, r.GetInt64(1));
        Assert.Equal(6, r.GetOrdinal("new"));
        Assert.Equal("pipeline, object 2", r.Location);
    }

    [Fact]
    public void Nested_values_of_objects_are_their_json_text_with_unordered_keys_sorted()
    {
        var r = new ObjectRecordReader();
        var table = new System.Collections.Hashtable { ["b"] = 1, ["a"] = new System.Collections.Hashtable { ["y"] = new object?[] { 1, "é" }, ["x"] = null } };
        var ordered = new System.Collections.Specialized.OrderedDictionary { ["z"] = 1, ["a"] = 2 };
        var list = new List<object?> { 1L, "a\"b", null, 2.5, double.NaN, new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc), new byte[] { 1, 2 }, 12.50m, Guid.Empty };
        r.SetCurrent([new("h", table), new("o", ordered), new("l", list), new("e", Array.Empty<int>())], 1);
        Assert.All(Enumerable.Range(0, 4), o => Assert.Equal(ValueKind.String, r.GetKind(o)));
        // Was "System.Collections.Hashtable", "System.Collections.Generic.List`1[System.Object]"...
        Assert.Equal("{\"a\":{\"x\":null,\"y\":[1,\"é\"]},\"b\":1}", r.GetString(0));
        Assert.Equal("{\"z\":1,\"a\":2}", r.GetString(1));
        Assert.Equal("[1,\"a\\\"b\",null,2.5,\"NaN\",\"2024-01-01T00:00:00Z\",\"AQI=\",12.50,\"00000000-0000-0000-0000-000000000000\"]", r.GetString(2));
        Assert.Equal("[]", r.GetString(3));
        // A dictionary holding itself: written 32 levels deep, then as its text, not forever.
        var cycle = new System.Collections.Hashtable();
        cycle["me"] = cycle;
        r.SetCurrent([new("c", cycle)], 2);
        Assert.StartsWith(string.Concat(Enumerable.Repeat("{\"me\":", 32)) + "\"System.Collections.Hashtable\"", r.GetString(r.GetOrdinal("c")));
    }

    [Fact]
    public void Generic_dictionaries_are_records_and_nested_values_and_a_name_twice_is_an_error()
    {
        // Enumerated as IEnumerable they give KeyValuePairs, which stopped a build with an InvalidCastException.
        var inner = new Dictionary<string, object?> { ["y"] = 2, ["x"] = "é" };
        var record = new SortedDictionary<string, object?> { ["k"] = "a", ["n"] = inner };
        Assert.Equal(["k", "n"], ObjectRecordReader.StableEntries(record).Select(e => e.Key));
        var r = new ObjectRecordReader();
        r.SetCurrent(ObjectRecordReader.StableEntries(record), 1);
        Assert.Equal("a", r.GetString(r.GetOrdinal("k")));
        Assert.Equal("{\"x\":\"é\",\"y\":2}", r.GetString(r.GetOrdinal("n")));
        r.SetCurrent([new("o", new Dictionary<object, object?> { [2] = true, ["1"] = null })], 2);
        Assert.Equal("{\"1\":null,\"2\":true}", r.GetString(r.GetOrdinal("o")));

        // A hashtable's keys 1 and '1' name one column: the second value replaced the first without a word.
        var twice = new System.Collections.Hashtable { [1] = "x", ["1"] = "y", ["k"] = "a" };
        var ex = Assert.Throws<GrouperException>(() => r.SetCurrent(ObjectRecordReader.StableEntries(twice), 3));
        Assert.Equal(GrouperErrorKind.InvalidData, ex.Kind);
        Assert.Contains("pipeline, object 3 has two fields named '1'", ex.Message);
        // The next record with each name once is fine.
        r.SetCurrent([new("1", "x"), new("k", "b")], 4);
        Assert.Equal("x", r.GetString(r.GetOrdinal("1")));
    }

    private static GroupedDataset BuildObjects(TempDir t, params decimal?[] values)
    {
        using (var b = new GroupedDatasetBuilder(t["ds"], new BuildOptions { Key = KeySpec.FromColumns("k") }))
        {
            var r = new ObjectRecordReader();
            for (int i = 0; i < values.Length; i++)
            {
                r.SetCurrent([new("k", "g"), new("m", values[i])], i + 1);
                b.Add(r);
            }
            b.Complete();
        }
        return GroupedDataset.Open(t["ds"]);
    }

    [Fact]
    public void Decimal_columns_take_the_precision_and_scale_their_values_need()
    {
        // decimal(29, 9) held these before, rounding the tenth decimal and overflowing past 20 whole digits.
        using (var t = new TempDir())
        using (var ds = BuildObjects(t, 12.50m, 0.0000000001m, null, -1.5m))
        {
            var m = ds.Manifest.Columns.Single(c => c.Name == "m");
            Assert.Equal((29, 10), (m.Precision, m.Scale));
            Assert.Equal([12.5m, 0.0000000001m, null, -1.5m], ds.ReadRecords(ds.FindGroup("g")!).Select(rec => (decimal?)rec[1]));
        }
        using (var t = new TempDir())
        using (var ds = BuildObjects(t, 1.5m, 79228162514264337593543950335m, 1.000000000m))
        {
            var m = ds.Manifest.Columns.Single(c => c.Name == "m");
            Assert.Equal((38, 9), (m.Precision, m.Scale)); // 29 whole digits and the default 9 after the point; trailing zeros need none
            Assert.Equal([1.5m, 79228162514264337593543950335m, 1m], ds.ReadRecords(ds.FindGroup("g")!).Select(rec => (decimal?)rec[1]));
        }
        using (var t = new TempDir())
        {
            // 29 whole digits and 28 after the point: no Parquet decimal holds both exactly.
            var ex = Assert.Throws<GrouperException>(() => BuildObjects(t, 79228162514264337593543950335m, 1.0000000000000000000000000001m).Dispose());
            Assert.Equal((GrouperErrorKind.SchemaMismatch, 2L), (ex.Kind, ex.Row));
            Assert.Contains("'m'", ex.Message);
            Assert.Contains("pipeline, object 2", ex.Message);
            Assert.False(Directory.Exists(t["ds"]));
        }
    }

    [Fact]
    public async Task A_key_read_as_the_sources_UTF8_groups_with_the_same_key_made_from_characters()
    {
        // JSON Lines text without escapes, CSV text (quoted or not) and Parquet text go to the sort as the
        // source's own bytes; an escaped JSON string is made into characters and encoded: the same key either way.
        using var t = new TempDir();
        File.WriteAllText(t["a.jsonl"], string.Join("\n",
            """{"k":"Zürich","n":"1"}""", """{"k":"Z\u00fcrich","n":"2"}""", """{"k":"東京","n":"3"}""", """{"k":"\u0034\u0032","n":"4"}""",
            """{"k":"42","n":"5"}""", """{"k":"😀 \"q\"","n":"6"}""", """{"k":"😀 \u0022q\u0022","n":"7"}"""), new UTF8Encoding(false));
        File.WriteAllText(t["b.csv"], "k,n\nZürich,8\n東京,9\n42,10\n\"😀 \"\"q\"\"\",11\n", new UTF8Encoding(false));
        var field = new Parquet.Schema.DataField<string>("k", false);
        var number = new Parquet.Schema.DataField<string>("n", false);
        await using (var fs = File.Create(t["c.parquet"]))
        await using (var w = await Parquet.ParquetWriter.CreateAsync(new Parquet.Schema.ParquetSchema(field, number), fs))
        {
            using var rg = w.CreateRowGroup();
            await rg.WriteAsync<ReadOnlyMemory<char>>(field, new[] { "Zürich", "東京", "42", "😀 \"q\"" }.Select(v => v.AsMemory()).ToArray().AsMemory(), null, null, default);
            await rg.WriteAsync<ReadOnlyMemory<char>>(number, new[] { "12", "13", "14", "15" }.Select(v => v.AsMemory()).ToArray().AsMemory(), null, null, default);
            rg.CompleteValidate();
        }
        using (var b = new GroupedDatasetBuilder(t["ds"], new BuildOptions { Key = KeySpec.FromColumns("k") }))
        {
            foreach (var file in new[] { "a.jsonl", "b.csv", "c.parquet" })
                using (var r = SourceFiles.Open(t[file])) b.AddAll(r);
            b.Complete();
        }
        using var ds = GroupedDataset.Open(t["ds"]);
        var groups = ds.EnumerateGroups().ToDictionary(g => g.Key, g => ds.ReadRecords(g).Select(r => Convert.ToInt64(r[1], System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        Assert.Equal(4, groups.Count);
        Assert.Equal([1L, 2, 8, 12], groups["Zürich"]);
        Assert.Equal([3L, 9, 13], groups["東京"]);
        Assert.Equal([4L, 5, 10, 14], groups["42"]);
        Assert.Equal([6L, 7, 11, 15], groups["😀 \"q\""]);
    }

    [Theory]
    [InlineData("big.jsonl.gz")]
    [InlineData("big.csv.gz")]
    [InlineData("big.jsonl")]
    public void Text_sources_read_several_megabytes_whole_and_report_damaged_gzip(string name)
    {
        // Records across the readers' buffer boundaries come whole and in order; damaged compressed data
        // is an error that names the file.
        using var t = new TempDir();
        bool json = name.Contains(".jsonl"), gz = name.EndsWith(".gz");
        const int rows = 60_000; // about 5 MB: several read-ahead blocks
        var text = new StringBuilder(json ? "" : "id,text\n");
        for (int i = 0; i < rows; i++)
            text.Append(json ? $"{{\"id\":\"{i}\",\"text\":\"{new string('x', i % 150)}é\"}}\n" : $"{i},{new string('x', i % 150)}é\n");
        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        using (var fs = File.Create(t[name]))
        using (Stream w = gz ? new GZipStream(fs, CompressionLevel.Fastest) : fs)
            w.Write(bytes);
        using (var r = SourceFiles.Open(t[name]))
        {
            int n = 0;
            while (r.Read())
            {
                Assert.Equal(n.ToString(System.Globalization.CultureInfo.InvariantCulture), r.GetString(0));
                Assert.Equal(new string('x', n % 150) + "é", r.GetString(1));
                n++;
            }
            Assert.Equal(rows, n);
        }
        if (!gz) return;
        var damaged = File.ReadAllBytes(t[name]);
        for (int i = damaged.Length / 2; i < damaged.Length / 2 + 64; i++) damaged[i] ^= 0x5A;
        File.WriteAllBytes(t[name], damaged);
        var ex = Assert.Throws<GrouperException>(() =>
        {
            using var r = SourceFiles.Open(t[name]);
            while (r.Read()) { }
        });
        Assert.Equal(GrouperErrorKind.InvalidData, ex.Kind);
        Assert.Contains(name, ex.Message);
    }
}
