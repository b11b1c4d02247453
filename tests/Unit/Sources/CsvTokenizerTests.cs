using System.Text;
using Grouper.Sources;
using Xunit;

namespace Grouper.Tests.Sources;

/// <summary>The UTF-8 CSV tokenizer: RFC 4180 at every buffer boundary, strict where a file is damaged.</summary>
public class CsvTokenizerTests
{
    /// <summary>Hands out a few bytes per read, so that every construct is cut at every position in turn.</summary>
    private sealed class TrickleStream(byte[] data, int seed) : Stream
    {
        private readonly Random _random = new(seed);
        private int _at;
        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = Math.Min(Math.Min(count, _random.Next(1, 8)), data.Length - _at);
            data.AsSpan(_at, n).CopyTo(buffer.AsSpan(offset));
            _at += n;
            return n;
        }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => _at; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>An endless stream: the header, then a quote that never closes.</summary>
    private sealed class EndlessQuote() : Stream
    {
        private static readonly byte[] Head = "k,v\n1,\""u8.ToArray();
        private long _at;
        public override int Read(byte[] buffer, int offset, int count)
        {
            for (int i = 0; i < count; i++, _at++) buffer[offset + i] = _at < Head.Length ? Head[_at] : (byte)'x';
            return count;
        }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _at; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static string RandomValue(Random random)
    {
        string[] pieces = ["a", "xyz", ",", "\"", "\"\"", "\n", "\r\n", "\r", " ", "é", "東京", "😀", "\t", ""];
        var sb = new StringBuilder();
        int n = random.Next(0, 6);
        if (random.Next(4) == 0) sb.Append(new string('w', random.Next(100, 3000)));
        for (int i = 0; i < n; i++) sb.Append(pieces[random.Next(pieces.Length)]);
        return sb.ToString();
    }

    private static string Quoted(string v, char delimiter, Random random)
    {
        bool must = v.IndexOfAny([delimiter, '"', '\r', '\n']) >= 0 || v.Length == 0 && random.Next(2) == 0;
        return must || random.Next(5) == 0 ? "\"" + v.Replace("\"", "\"\"") + "\"" : v;
    }

    [Theory]
    [InlineData(',', 1)]
    [InlineData('\t', 2)]
    [InlineData(';', 3)]
    public void Random_records_read_back_whole_with_their_lines_however_the_input_is_cut(char delimiter, int seed)
    {
        var random = new Random(seed);
        var expected = new List<string[]>();
        var lines = new List<long>();
        var file = new StringBuilder($"id{delimiter}\"te\"\"xt\"{delimiter}last\r\n");
        long line = 2;
        string[] breaks = ["\n", "\r\n", "\r"];
        for (int i = 0; i < 3000; i++)
        {
            if (random.Next(40) == 0) { file.Append("\r\n"); line++; }   // a blank line
            var row = new[] { i.ToString(System.Globalization.CultureInfo.InvariantCulture), RandomValue(random), RandomValue(random) };
            expected.Add(row);
            lines.Add(line);
            var text = string.Join(delimiter, row.Select(v => Quoted(v, delimiter, random)));
            file.Append(text);
            // Lines as the reader counts them: each LF, and a record's own CR or CRLF ending.
            line += text.Count(c => c == '\n');
            if (i < 2999 || random.Next(2) == 0) { var b = breaks[random.Next(3)]; file.Append(b); line += 1; }
        }
        var bytes = new UTF8Encoding(false).GetBytes(file.ToString());
        foreach (var stream in new Func<Stream>[] { () => new MemoryStream(bytes), () => new TrickleStream(bytes, seed) })
        {
            using var r = new CsvRecordReader("t.csv", stream(), delimiter);
            Assert.Equal(["id", "te\"xt", "last"], Enumerable.Range(0, r.FieldCount).Select(r.GetName));
            int n = 0;
            while (r.Read())
            {
                Assert.Equal(expected[n], Enumerable.Range(0, 3).Select(r.GetString));
                Assert.True(r.TryGetUtf8(1, out var utf8));
                Assert.Equal(Encoding.UTF8.GetBytes(expected[n][1]), utf8.ToArray());
                // Character spans of several fields stay valid together (keys made of several columns).
                var first = r.GetChars(1);
                var second = r.GetChars(2);
                Assert.Equal(expected[n][1], first.ToString());
                Assert.Equal(expected[n][2], second.ToString());
                Assert.Equal(lines[n], r.RowNumber);
                n++;
            }
            Assert.Equal(expected.Count, n);
        }
    }

    [Fact]
    public void A_quote_inside_an_unquoted_field_is_text_and_lone_CRs_end_records()
    {
        var bytes = "k,v\rab\"c,2\r\"x\",\"\"\"\"\r"u8.ToArray();
        using var r = new CsvRecordReader("t.csv", new MemoryStream(bytes), ',');
        Assert.True(r.Read());
        Assert.Equal(("ab\"c", "2", 2L), (r.GetString(0), r.GetString(1), r.RowNumber));
        Assert.True(r.Read());
        Assert.Equal(("x", "\"", 3L), (r.GetString(0), r.GetString(1), r.RowNumber));
        Assert.False(r.Read());
    }

    [Theory]
    [InlineData("k,v\n1,2\n\"ab\"c,2\n", 3, "'c' follows the closing quote of field 1")]
    [InlineData("k,v\n1,2\n3,\"ab\" \n", 3, "' ' follows the closing quote of field 2")]
    [InlineData("k,v\n1,\"two\nlines\"\n3,\"open\n5,6\n", 4, "no closing quote")]
    [InlineData("k,v\n1,2\n3\n", 3, "has 1 fields but the header has 2")]
    [InlineData("k,v\n1,2\n3,4,5\n", 3, "has 3 fields but the header has 2")]
    public void Damaged_records_name_the_line_and_what_is_wrong(string text, long line, string what)
    {
        using var r = new CsvRecordReader("bad.csv", new MemoryStream(Encoding.UTF8.GetBytes(text)), ',');
        var ex = Assert.Throws<GrouperException>(() => { while (r.Read()) { } });
        Assert.Equal(GrouperErrorKind.InvalidData, ex.Kind);
        Assert.Equal(line, ex.Row);
        Assert.Contains($"bad.csv, line {line}", ex.Message);
        Assert.Contains(what, ex.Message);
    }

    [Fact]
    public void Invalid_UTF8_names_its_own_line_even_inside_a_quoted_field()
    {
        var bytes = new List<byte>("k,v\n1,ok\n2,\"multi\nline "u8.ToArray());
        bytes.AddRange([0xC3, 0x28]); // a lead byte without its continuation
        bytes.AddRange("\"\n3,z\n"u8.ToArray());
        using var r = new CsvRecordReader("u.csv", new MemoryStream(bytes.ToArray()), ',');
        Assert.True(r.Read());
        var ex = Assert.Throws<GrouperException>(() => r.Read());
        Assert.Equal(4, ex.Row);
        Assert.Contains("not valid UTF-8 at line 4", ex.Message);
        Assert.Contains("0xC3", ex.Message);
    }

    [Theory]
    [InlineData(4, 61)]
    [InlineData(5, 200)]
    [InlineData(6, 1 << 20)]
    public void A_damaged_byte_anywhere_is_reported_at_its_line_after_every_record_before_it(int seed, int chunk)
    {
        // Text is validated ahead of the parse, as much as has been read: whatever the cut, the records before
        // the damaged byte read back and the error names the damaged byte's own line. Every record start is
        // damaged in turn, so the damage falls before, across and after the boundaries of the reads.
        var random = new Random(seed);
        var file = new StringBuilder("id,text\n");
        var starts = new List<int>();
        for (int i = 0; i < 150; i++)
        {
            starts.Add(new UTF8Encoding(false).GetByteCount(file.ToString()));
            file.Append(i + 10).Append(',').Append(Quoted(RandomValue(random), ',', random)).Append('\n');
        }
        var good = new UTF8Encoding(false).GetBytes(file.ToString());
        for (int record = 0; record < starts.Count; record++)
        {
            byte damage = (byte)(record % 3) switch { 0 => 0xFF, 1 => 0xC3, _ => 0x80 }; // never valid; a lead alone; a stray continuation
            int at = starts[record] + random.Next(2);                    // one of the number's digits
            var bytes = (byte[])good.Clone();
            bytes[at] = damage;
            if (damage == 0xC3 && bytes[at + 1] is >= 0x80 and < 0xC0) continue;   // it made a character
            long line = 1 + bytes.AsSpan(0, at).Count((byte)'\n');
            using var r = new CsvRecordReader("d.csv", new ChunkStream(bytes, chunk), ',');
            int n = 0;
            var ex = Assert.Throws<GrouperException>(() => { while (r.Read()) n++; });
            Assert.Equal(line, ex.Row);
            Assert.Contains($"not valid UTF-8 at line {line}", ex.Message);
            Assert.Equal(record, n);
        }
        // Undamaged, every read size: characters cut between reads are whole once the rest arrives.
        foreach (int size in new[] { 1, 2, 3, 5, chunk })
        {
            using var r = new CsvRecordReader("d.csv", new ChunkStream(good, size), ',');
            int n = 0;
            while (r.Read()) n++;
            Assert.Equal(starts.Count, n);
        }
    }

    [Fact]
    public void A_quote_that_never_closes_stops_at_the_record_limit_instead_of_reading_on()
    {
        using var r = new CsvRecordReader("endless.csv", new EndlessQuote(), ',');
        var ex = Assert.Throws<GrouperException>(() => r.Read());
        Assert.Equal(2, ex.Row);
        Assert.Contains($"longer than {CsvRecordReader.MaxRecordBytes >> 20} MB", ex.Message);
    }

    [Theory]
    [InlineData("utf-16LE")]
    [InlineData("utf-16BE")]
    [InlineData("utf-32LE")]
    [InlineData("utf-32BE")]
    public void Files_with_a_UTF16_or_UTF32_byte_order_mark_are_read_as_text(string encodingName)
    {
        // Excel's "Unicode text" export is UTF-16 with a byte order mark, tab-separated.
        var encoding = Encoding.GetEncoding(encodingName);
        var text = "k\tv\r\nZürich\t\"a\tb\"\r\n東京\t😀\r\n";
        var bytes = encoding.GetPreamble().Concat(encoding.GetBytes(text)).ToArray();
        using var r = new CsvRecordReader("u.tsv", new TrickleStream(bytes, 7), '\t');
        Assert.Equal(["k", "v"], Enumerable.Range(0, r.FieldCount).Select(r.GetName));
        Assert.True(r.Read());
        Assert.Equal(("Zürich", "a\tb"), (r.GetString(0), r.GetString(1)));
        Assert.True(r.Read());
        Assert.Equal(("東京", "😀", 3L), (r.GetString(0), r.GetString(1), r.RowNumber));
        Assert.False(r.Read());
    }
}
