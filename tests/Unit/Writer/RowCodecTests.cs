using System.Text;
using Grouper.Schema;
using Grouper.Sources;
using Grouper.Util;
using Grouper.Writer;
using Xunit;

namespace Grouper.Tests.Writer;

/// <summary>
/// CSV records have an encoder of their own (<see cref="RowCodec.EncodeCsv"/>, no virtual calls): it must
/// write the bytes the general encoder writes and leave the schema as the general one does.
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
        var a = new ByteBuffer(64);
        var b = new ByteBuffer(64);
        int rows = 0;
        while (general.Read())
        {
            Assert.True(csv.Read());
            a.Clear();
            b.Clear();
            int tagsA = RowCodec.Encode(general, mapA, schemaA, a, keyOrdinal);
            int tagsB = RowCodec.EncodeCsv(csv, mapB, schemaB, b, keyOrdinal);
            Assert.Equal(tagsA, tagsB);
            Assert.True(a.Span.SequenceEqual(b.Span), $"row {rows}: the encodings differ");
            rows++;
        }
        Assert.False(csv.Read());
        Assert.Equal(300, rows);
        Assert.Equal(schemaA.Count, schemaB.Count);
        for (int g = 0; g < schemaA.Count; g++)
        {
            Assert.Equal(schemaA[g].Kind, schemaB[g].Kind);
            Assert.Equal(schemaA[g].Nullable, schemaB[g].Nullable);
        }
        Assert.Equal(ValueKind.String, schemaB[0].Kind);
    }
}
