using System.Text;
using Grouper.Format;
using Grouper.Stats;
using Xunit;

namespace Grouper.Tests.Reliability;

/// <summary>manifest.json: every field read back as written, and a damaged manifest a clear error.</summary>
public class ManifestTests
{
    private static DatasetManifest Full(string? keyColumn = DatasetManifest.KeyColumnName) => new()
    {
        CreatedBy = "Grouper test",
        KeyColumn = keyColumn,
        Key = new KeyInfo
        {
            Kind = "dirichlet", Columns = ["label", "région"], Description = "dirichlet over \"label\"", NullPolicy = "group", NullGroupName = "(none)",
            Parameters = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["alpha"] = "0.5", ["seed"] = "42" },
        },
        Schema =
        [
            new ColumnInfo { Name = "id", Type = "int64", Nullable = false },
            new ColumnInfo { Name = "price", Type = "decimal", Nullable = true, Precision = 18, Scale = 4 },
            new ColumnInfo { Name = "at", Type = "timestamp", Nullable = true, Unit = "micros", AdjustedToUtc = false },
            new ColumnInfo { Name = "ünï", Type = "string", Nullable = true },
        ],
        GroupCount = 3, RecordCount = 1_000_000_000_000, ByteCount = 123_456_789_012, LargestGroupRecords = 999_999_999_000,
        Stats = new GroupSizeStats(3, 1_000_000_000_000, 123_456_789_012, 1, 999_999_999_000, 333333333333.3333, 2.5, 1, 999_999_999_000, 999_999_999_000, 471404520791.03, 0.6666, 0.9999),
        Worker = new WorkerInfo { Index = 2, Count = 5, Split = "key", RecordsSeen = 77 },
        StorageOrder = keyColumn is null ? "files" : "key",
        Sources = [new SourceFileInfo { Path = "/data/in [1].csv", Bytes = 10, Records = 2 }],
        Shards = [new ShardInfo { File = "data/shard-00000.parquet", Bytes = 100, Xxh3 = "0123456789abcdef", Records = 2, RowGroups = 1 }],
        Index = new FileEntry { File = "index.gidx", Bytes = 64, Xxh3 = "fedcba9876543210" },
    };

    [Theory]
    [InlineData(DatasetManifest.KeyColumnName)]
    [InlineData(null)]
    public void Every_field_reads_back_as_written_and_is_written_as_the_serializer_writes_it(string? keyColumn)
    {
        var m = Full(keyColumn);
        var json = m.ToJson();
        // The hand-written writer against System.Text.Json's serializer with the documented options.
        Assert.Equal(Encoding.UTF8.GetString(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(m, DatasetManifest.SerializerOptions)), Encoding.UTF8.GetString(json));
        var sparse = new DatasetManifest
        {
            Key = new KeyInfo { Kind = "columns", Columns = [] }, Schema = [], Sources = [], Shards = [],
            Index = new FileEntry { File = "index.gidx", Xxh3 = "0" }, KeyColumn = keyColumn,
        };
        Assert.Equal(Encoding.UTF8.GetString(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(sparse, DatasetManifest.SerializerOptions)), Encoding.UTF8.GetString(sparse.ToJson()));
        var back = DatasetManifest.Parse(json, "m.json");
        Assert.Equal(Encoding.UTF8.GetString(json), Encoding.UTF8.GetString(back.ToJson()));
        Assert.Equal(keyColumn, back.KeyColumn);
        Assert.Equal(m.Stats, back.Stats);
        Assert.Equal(["label", "région"], back.Key.Columns);
        Assert.Equal("0.5", back.Key.Parameters!["alpha"]);
        Assert.Equal(18, back.Columns[1].Precision);
        Assert.Equal(Grouper.Schema.TimeUnit.Micros, back.Columns[2].Unit);
        Assert.False(back.Columns[2].AdjustedToUtc);
    }

    [Fact]
    public void Optional_fields_left_out_take_their_defaults_and_unknown_ones_are_ignored()
    {
        var json = """
            { "format": "grouper-dataset", "formatVersion": 1, "someFutureField": { "x": [1, 2] },
              "key": { "kind": "columns" }, "schema": [ { "name": "a", "type": "string" } ],
              "sources": [], "shards": [], "index": { "file": "index.gidx", "xxh3": "0000000000000000" } }
            """u8.ToArray();
        var m = DatasetManifest.Parse(json, "m.json");
        Assert.Equal(DatasetManifest.KeyColumnName, m.KeyColumn);
        Assert.Equal("key", m.StorageOrder);
        Assert.Equal("error", m.Key.NullPolicy);
        Assert.Empty(m.Key.Columns);
        Assert.Null(m.Stats);
        Assert.Null(m.Worker);
        Assert.False(m.Schema[0].Nullable);
        // Imported datasets written before "keyColumn": null was written out: their shards have no key column.
        var imported = DatasetManifest.Parse(Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(json).Replace("\"formatVersion\": 1,", "\"formatVersion\": 1, \"storageOrder\": \"files\",")), "m.json");
        Assert.Null(imported.KeyColumn);
    }

    [Theory]
    [InlineData("{ not json", "not valid")]
    // The JSON reader's words without their "LineNumber: 0 | BytePositionInLine: 0." tail, its place in people's count.
    [InlineData("<html>", "is not valid: '<' is an invalid start of a value (line 1, byte 1).")]
    [InlineData("{\n  \"format\": \"grouper-dataset\",\n  x\n}", "(line 3, byte 3).")]
    [InlineData("[]", "$ should be an object")]
    [InlineData("""{ "format": "grouper-dataset" }""", "$ has no 'key'")]
    [InlineData("""{ "format": "something-else", "key": { "kind": "columns" }, "schema": [], "sources": [], "shards": [], "index": { "file": "i", "xxh3": "0" } }""", "is not a Grouper dataset manifest")]
    [InlineData("""{ "formatVersion": 2, "key": { "kind": "columns" }, "schema": [], "sources": [], "shards": [], "index": { "file": "i", "xxh3": "0" } }""", "format version 2")]
    [InlineData("""{ "groupCount": "3", "key": { "kind": "columns" }, "schema": [], "sources": [], "shards": [], "index": { "file": "i", "xxh3": "0" } }""", "$.groupCount should be a number")]
    [InlineData("""{ "groupCount": -1, "key": { "kind": "columns" }, "schema": [], "sources": [], "shards": [], "index": { "file": "i", "xxh3": "0" } }""", "a count is negative")]
    [InlineData("""{ "key": { "kind": "columns" }, "schema": [ { "name": "a", "type": "string", "nullable": 1 } ], "sources": [], "shards": [], "index": { "file": "i", "xxh3": "0" } }""", "$.schema[0].nullable should be true or false")]
    [InlineData("""{ "key": { "kind": "columns" }, "schema": [ { "name": "a", "type": "no-such-type" } ], "sources": [], "shards": [], "index": { "file": "i", "xxh3": "0" } }""", "column 'a' has no valid type")]
    [InlineData("""{ "key": { "kind": "columns" }, "schema": [], "sources": [], "shards": [ { "file": "s", "xxh3": "0", "rowGroups": 3000000000 } ], "index": { "file": "i", "xxh3": "0" } }""", "$.shards[0].rowGroups should be a number (whole, and in range)")]
    [InlineData("""{ "key": { "kind": "columns", "columns": [ "a", 3 ] }, "schema": [], "sources": [], "shards": [], "index": { "file": "i", "xxh3": "0" } }""", "$.key.columns[1] should be text")]
    public void A_damaged_manifest_is_an_invalid_dataset_naming_the_file_and_what_is_wrong(string json, string expected)
    {
        var ex = Assert.Throws<GrouperException>(() => DatasetManifest.Parse(Encoding.UTF8.GetBytes(json), "/ds [x]/manifest.json"));
        Assert.Equal(GrouperErrorKind.InvalidDataset, ex.Kind);
        Assert.Contains("/ds [x]/manifest.json", ex.Message);
        Assert.Contains(expected, ex.Message);
    }
}
