using System.Text;
using Grouper.Keys;
using Grouper.Schema;
using Grouper.Sources;
using Grouper.Util;
using Grouper.Writer;
using Parquet;
using Parquet.Schema;
using Xunit;

namespace Grouper.Tests.Writer;

/// <summary>
/// CSV, JSON Lines and Parquet records have encoders of their own (<see cref="RowCodec.EncodeOwn{TText}"/>:
/// text read where it lies, without virtual calls): they must write the bytes the general encoder writes and
/// leave the schema as the general one does; and the builder's paths for them must build the datasets its
/// general way builds.
/// </summary>
public class RowCodecTests
{
    private static CsvRecordReader Csv(string name, string text) =>
        new(name, new MemoryStream(new UTF8Encoding(false).GetBytes(text)), ',');

    /// <summary>
    /// A schema that met a JSON Lines source with a column the CSV lacks first (sources of flexible columns
    /// let later ones differ): the CSV's map has a -1 in it.
    /// </summary>
    private static (SchemaBuilder Schema, int[] Map) Bound(CsvRecordReader csv)
    {
        var schema = new SchemaBuilder();
        using (var first = new JsonLinesRecordReader("first.jsonl", new MemoryStream(Encoding.UTF8.GetBytes("{\"id\":\"a\",\"extra\":\"b\"}\n"))))
        {
            Assert.True(first.Read());
            schema.Bind(first);
        }
        return (schema, schema.Bind(csv));
    }

    private static void AssertSameSchema(SchemaBuilder a, SchemaBuilder b)
    {
        Assert.Equal(a.Count, b.Count);
        for (int g = 0; g < a.Count; g++)
        {
            Assert.Equal(a[g].Kind, b[g].Kind);
            Assert.Equal(a[g].Nullable, b[g].Nullable);
            Assert.Equal(a[g].SignBits, b[g].SignBits);
            Assert.Equal(a[g].InexactInteger, b[g].InexactInteger);
        }
    }

    /// <summary>
    /// Reads two readers of one source in step and encodes each record the general way and the source's own:
    /// the bytes and the key tags must agree. Returns the records read and the key tags written.
    /// </summary>
    private static (int Rows, int KeyTags) AssertSameEncodings(RecordReader general, RecordReader own,
        Func<ByteBuffer, int> encodeGeneral, Func<ByteBuffer, int> encodeOwn, Action? afterEach = null)
    {
        var a = new ByteBuffer(64);
        var b = new ByteBuffer(64);
        int rows = 0, keyTags = 0;
        while (general.Read())
        {
            Assert.True(own.Read());
            a.Clear();
            b.Clear();
            int tags = encodeGeneral(a);
            Assert.Equal(tags, encodeOwn(b));
            Assert.True(a.Span.SequenceEqual(b.Span), $"record {rows + 1}: the encodings differ");
            keyTags += tags;
            rows++;
            afterEach?.Invoke();
        }
        Assert.False(own.Read());
        return (rows, keyTags);
    }

    [Theory]
    [InlineData(0)]   // the key is the id column: written as the key tag
    [InlineData(-1)]  // no column is the key
    [InlineData(2)]   // the key is the text column
    public void The_csv_encoder_writes_the_general_encoders_bytes(int keyOrdinal)
    {
        var sb = new StringBuilder("id,name,text\n");
        var rng = new Random(5);
        for (int i = 0; i < 300; i++)
        {
            string text = (i % 50) switch
            {
                0 => "",                                             // an empty field
                1 => new string('y', 100_000),                       // larger than the row buffer
                2 => "\"a, quoted\nfield with \"\"quotes\"\"\"",     // quotes, a comma and a line break
                _ => $"ü{new string('x', rng.Next(0, 200))}€",       // multi-byte UTF-8
            };
            sb.Append(i % 7 == 0 ? "" : $"id{rng.Next(1000)}").Append(',').Append(i % 3 == 0 ? "" : "n").Append(',').Append(text).Append('\n');
        }
        string data = sb.ToString();
        using var general = Csv("t.csv", data);
        using var csv = Csv("t.csv", data);
        var (schemaA, mapA) = Bound(general);
        var (schemaB, mapB) = Bound(csv);
        Assert.Contains(-1, mapA);
        var (rows, _) = AssertSameEncodings(general, csv,
            a => RowCodec.Encode(general, mapA, schemaA, a, keyOrdinal), b => RowCodec.EncodeOwn<RowCodec.CsvText>(csv, mapB, schemaB, b, keyOrdinal));
        Assert.Equal(300, rows);
        AssertSameSchema(schemaA, schemaB);
        Assert.Equal(ValueKind.String, schemaB[0].Kind);
    }

    private static readonly DataField[] ParquetFields =
    [
        new DataField<string>("k"), new DataField<int?>("i"), new DataField<string>("text"), new DataField<double?>("d"),
        new DateTimeDataField("ts", DateTimeFormat.Timestamp, true, DateTimeTimeUnit.Micros, false), new DataField<Guid>("g"),
        new DataField<string>("req", nullable: false),
    ];

    /// <summary>
    /// Two row groups of every kind of value the Parquet path meets: keys that are null, empty or multi-byte,
    /// a text value larger than the row buffer, nulls in each nullable column, a Guid column (text, but not
    /// held as UTF-8: the general way).
    /// </summary>
    private static async Task WriteParquet(string path)
    {
        await using var fs = File.Create(path);
        var w = await ParquetWriter.CreateAsync(new ParquetSchema(ParquetFields), fs);
        var rng = new Random(9);
        for (int g = 0; g < 2; g++)
        {
            using var rg = w.CreateRowGroup();
            var range = Enumerable.Range(g * 150, 150).ToArray();
            await rg.WriteAsync(ParquetFields[0], range.Select(i => (i % 11) switch { 0 => null, 1 => "", _ => $"kü{i % 13}" }).ToArray(), null);
            await rg.WriteAsync<int>(ParquetFields[1], range.Select(i => i % 5 == 0 ? (int?)null : i - 100).ToArray().AsMemory(), null, null, default);
            await rg.WriteAsync(ParquetFields[2], range.Select(i => (i % 40) switch { 0 => null, 1 => new string('y', 100_000), 2 => "", _ => $"€{new string('x', rng.Next(0, 150))}" }).ToArray(), null);
            await rg.WriteAsync<double>(ParquetFields[3], range.Select(i => i % 6 == 0 ? (double?)null : i / 3.0).ToArray().AsMemory(), null, null, default);
            await rg.WriteAsync<DateTime>(ParquetFields[4], range.Select(i => new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(i)).ToArray().AsMemory(), null, null, default);
            await rg.WriteAsync<Guid>(ParquetFields[5], range.Select(i => new Guid(i, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)).ToArray().AsMemory(), null, null, default);
            await rg.WriteAsync(ParquetFields[6], range.Select(i => "r" + i).ToArray(), null);
        }
        await w.DisposeAsync();
    }

    [Theory]
    [InlineData(0)]   // the key is the k column: written as the key tag where it is text
    [InlineData(-1)]  // no column is the key
    [InlineData(2)]   // the key is the text column
    public async Task The_parquet_encoder_writes_the_general_encoders_bytes(int keyOrdinal)
    {
        using var t = new TempDir();
        await WriteParquet(t["s.parquet"]);
        using var general = new ParquetRecordReader(t["s.parquet"]);
        using var parquet = new ParquetRecordReader(t["s.parquet"]);
        var schemaA = new SchemaBuilder();
        var schemaB = new SchemaBuilder();
        var mapA = schemaA.Bind(general);
        var mapB = schemaB.Bind(parquet);
        int direct = 0;
        var (rows, keyTags) = AssertSameEncodings(general, parquet,
            a => RowCodec.Encode(general, mapA, schemaA, a, keyOrdinal), b => RowCodec.EncodeOwn<RowCodec.ParquetText>(parquet, mapB, schemaB, b, keyOrdinal),
            () => direct += parquet.Column(2).Text!.TryGetUtf8(parquet.RowInGroup, out _) ? 1 : 0);
        Assert.Equal(300, rows);
        Assert.Equal(300, direct); // the text column was read as the file's UTF-8: the path under test was taken
        Assert.Equal(keyOrdinal < 0 ? 0 : 300 - (keyOrdinal == 0 ? 28 : 8), keyTags); // null values are not the key's text
        AssertSameSchema(schemaA, schemaB);
    }

    /// <summary>
    /// A typed file as DuckDB writes one: integers of every width and sign, floats with NaN, infinities and
    /// both zeros, dates, timestamps of each unit with and without a zone, booleans (bits, the general way),
    /// nulls in each, integers beyond 2^53 (which the schema notes): its numbers, dates and timestamps are taken as they lie in the page
    /// (<c>TryEncodeFixed</c>), in the bytes the general encoder writes, with the same notes in the schema.
    /// </summary>
    [Fact]
    public void The_parquet_encoder_writes_a_typed_files_values_as_the_general_encoder_does()
    {
        using var t = new TempDir();
        var path = t["typed.parquet"];
        DuckSql.Run($@"COPY (SELECT 'k' || (i % 7) AS k,
            CASE WHEN i % 9 = 0 THEN NULL ELSE (i % 256 - 128)::TINYINT END AS i8, (i * 37 % 65536 - 32768)::SMALLINT AS i16,
            CASE i % 5 WHEN 0 THEN -2147483648 WHEN 1 THEN 2147483647 ELSE i * 1001 - 500000 END::INTEGER AS i32,
            CASE i % 6 WHEN 0 THEN -9223372036854775808 WHEN 1 THEN 9223372036854775807 WHEN 2 THEN 9007199254740993 ELSE i * -7 END::BIGINT AS i64,
            (i % 200)::UTINYINT AS u8, (i * 800000)::UINTEGER AS u32, CASE WHEN i % 4 = 0 THEN 18446744073709551615 ELSE i END::UBIGINT AS u64,
            CASE i % 6 WHEN 0 THEN 'NaN'::FLOAT WHEN 1 THEN '-inf'::FLOAT WHEN 2 THEN -0.0::FLOAT ELSE i / 3.0 END::FLOAT AS f,
            CASE i % 7 WHEN 0 THEN 'NaN'::DOUBLE WHEN 1 THEN 'inf'::DOUBLE WHEN 2 THEN -0.0 WHEN 3 THEN NULL ELSE i / 7.0 END::DOUBLE AS d,
            CASE i % 4 WHEN 0 THEN DATE '0001-01-01' WHEN 1 THEN DATE '9999-12-31' ELSE DATE '2024-02-29' + (i::INTEGER) END AS dt,
            TIMESTAMP '1969-12-31 23:59:59.999999' + to_microseconds(i * 1000003) AS ts,
            CASE WHEN i % 3 = 0 THEN NULL ELSE TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_microseconds(i * 7) END AS tsz,
            (TIMESTAMP '2000-01-01' + to_milliseconds(i * 13))::TIMESTAMP_MS AS tms,
            (TIMESTAMP '2262-04-11 00:00:00' - to_microseconds(i * 11))::TIMESTAMP_NS AS tns,
            CASE WHEN i % 5 = 0 THEN NULL ELSE i % 3 = 0 END AS b
            FROM range(5000) r(i)) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 2048)");
        using var general = new ParquetRecordReader(path);
        using var parquet = new ParquetRecordReader(path);
        var schemaA = new SchemaBuilder();
        var schemaB = new SchemaBuilder();
        var mapA = schemaA.Bind(general);
        var mapB = schemaB.Bind(parquet);
        var (rows, _) = AssertSameEncodings(general, parquet,
            a => RowCodec.Encode(general, mapA, schemaA, a, 0), b => RowCodec.EncodeOwn<RowCodec.ParquetText>(parquet, mapB, schemaB, b, 0));
        Assert.Equal(5000, rows);
        AssertSameSchema(schemaA, schemaB);
        Assert.NotNull(schemaB[4].InexactInteger); // 2^53 + 1: noted, through the general way
        Assert.True(schemaB[4].SignBits < 0);
    }

    /// <summary>Hides the reader's type from the builder, which then takes the general way with it.</summary>
    private sealed class Plain(RecordReader r) : RecordReader
    {
        public override string SourceName => r.SourceName;
        public override long RowNumber => r.RowNumber;
        public override int FieldCount => r.FieldCount;
        public override string GetName(int o) => r.GetName(o);
        public override bool IsSchemaFlexible => r.IsSchemaFlexible;
        public override int SchemaVersion => r.SchemaVersion;
        public override ColumnSpec? GetDeclaredColumn(int o) => r.GetDeclaredColumn(o);
        public override bool Read() => r.Read();
        public override ValueKind GetKind(int o) => r.GetKind(o);
        public override string GetString(int o) => r.GetString(o);
        public override ReadOnlySpan<char> GetChars(int o) => r.GetChars(o);
        public override bool TryGetUtf8(int o, out ReadOnlySpan<byte> utf8) => r.TryGetUtf8(o, out utf8);
        public override long GetInt64(int o) => r.GetInt64(o);
        public override ulong GetUInt64(int o) => r.GetUInt64(o);
        public override double GetDouble(int o) => r.GetDouble(o);
        public override bool GetBoolean(int o) => r.GetBoolean(o);
        public override decimal GetDecimal(int o) => r.GetDecimal(o);
        public override DateTime GetDateTime(int o) => r.GetDateTime(o);
        public override DateOnly GetDate(int o) => r.GetDate(o);
        public override TimeSpan GetTime(int o) => r.GetTime(o);
        public override ReadOnlySpan<byte> GetBytes(int o) => r.GetBytes(o);
        protected override void Dispose(bool disposing) { if (disposing) r.Dispose(); }
    }

    /// <summary>
    /// JSON Lines of every kind of value the fast parse and the full parse leave: keys that are null, empty,
    /// escaped or missing; a text value larger than the row buffer; numbers of both kinds, booleans;
    /// a line with an escape (the full parse's characters, not UTF-8).
    /// </summary>
    private static string JsonLines()
    {
        var sb = new StringBuilder();
        var rng = new Random(3);
        for (int i = 0; i < 300; i++)
        {
            string k = (i % 13) switch { 0 => "null", 1 => "\"\"", 2 => "\"k\\u00e9\"", 3 => "\"a\\tb\"", _ => $"\"kü{i % 17}\"" };
            string text = (i % 50) switch { 0 => "\"" + new string('y', 100_000) + "\"", 1 => "\"a\\\"quote\"", _ => $"\"€{new string('x', rng.Next(0, 150))}\"" };
            string n = (i % 4) switch { 0 => "7", 1 => "2.5", 2 => "-3", _ => "null" };
            string b = (i % 3) switch { 0 => "true", 1 => "false", _ => "null" };
            sb.Append(i % 29 == 5 ? $"{{\"text\":{text},\"n\":{n},\"b\":{b}}}" : $"{{\"k\":{k},\"text\":{text},\"n\":{n},\"b\":{b}}}").Append('\n');
        }
        return sb.ToString();
    }

    [Theory]
    [InlineData(0)]   // the key is the k column
    [InlineData(-1)]  // no column is the key
    [InlineData(1)]   // the key is the text column
    public void The_json_encoder_writes_the_general_encoders_bytes(int keyOrdinal)
    {
        var data = Encoding.UTF8.GetBytes(JsonLines());
        using var general = new JsonLinesRecordReader("j.jsonl", new MemoryStream(data));
        using var json = new JsonLinesRecordReader("j.jsonl", new MemoryStream(data));
        var schemaA = new SchemaBuilder();
        var schemaB = new SchemaBuilder();
        int utf8 = 0;
        // The first line names the fields: the maps are bound after each line is read.
        var (rows, _) = AssertSameEncodings(general, json,
            a => RowCodec.Encode(general, schemaA.Bind(general), schemaA, a, keyOrdinal), b => RowCodec.EncodeOwn<RowCodec.JsonText>(json, schemaB.Bind(json), schemaB, b, keyOrdinal),
            () => utf8 += json.TryGetUtf8(1, out _) ? 1 : 0);
        Assert.Equal(300, rows);
        Assert.InRange(utf8, 250, 299); // text read as the line's UTF-8, and as characters where it has an escape
        AssertSameSchema(schemaA, schemaB);
    }

    /// <summary>
    /// Each source's own path into the sort takes the key from the key column where the key extractor would
    /// (text held as UTF-8, not empty) and otherwise asks the extractor: the dataset is byte for byte the one
    /// the general way builds (the same reader, its type hidden from the builder).
    /// </summary>
    [Theory]
    [InlineData("parquet", "k")]
    [InlineData("parquet", "g")]        // text, but not held as UTF-8
    [InlineData("parquet", "k", "i")]   // two columns: never the column itself
    [InlineData("jsonl", "k")]
    [InlineData("jsonl", "n")]          // numbers
    [InlineData("jsonl", "k", "b")]     // booleans
    [InlineData("csv", "k")]
    [InlineData("csv", "k", "n")]
    public async Task A_source_builds_the_dataset_the_general_way_builds(string format, params string[] key)
    {
        using var t = new TempDir();
        var source = t["s." + format];
        if (format == "parquet") await WriteParquet(source);
        else if (format == "jsonl") await File.WriteAllTextAsync(source, JsonLines());
        else await File.WriteAllTextAsync(source, "k,text,n\n" + string.Concat(Enumerable.Range(0, 300).Select(i => $"{(i % 9 == 0 ? "" : "kü" + i % 17)},\"x{i}, y\",{i % 4}\n")));
        foreach (var (dir, general) in new[] { ("a", true), ("b", false) })
        {
            using var builder = new GroupedDatasetBuilder(t[dir], new BuildOptions { Key = new ColumnKeySpec(key) { NullPolicy = NullKeyPolicy.Group }, MemoryLimit = 4 << 20 });
            var r = SourceFiles.Open(source);
            using (var read = general ? new Plain(r) : r) builder.AddAll(read);
            builder.Complete();
        }
        var files = Directory.GetFiles(t["a"], "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(t["a"], f)).Order().ToList();
        Assert.Contains(files, f => f.EndsWith(".parquet"));
        Assert.Equal(files, Directory.GetFiles(t["b"], "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(t["b"], f)).Order());
        foreach (var f in files)
            Assert.True(File.ReadAllBytes(Path.Combine(t["a"], f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(t["b"], f))), $"{f} differs");
    }
}
