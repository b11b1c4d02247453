using System.Text.Json;
using Grouper.Stats;

namespace Grouper.Format;

/// <summary>
/// Reads manifest.json into a <see cref="DatasetManifest"/> with a <see cref="JsonDocument"/>, field by
/// field. The reflection serializer would do the same in one line, but it compiles code at run time (its
/// accessors and converters are generic over our types): that was half the time of opening a small
/// dataset in a fresh process, which every cmdlet of a new session and every short job pays. Names and
/// defaults are those the writer's serializer uses (camelCase; a missing optional field takes the
/// property's default); unknown fields are ignored, so a newer writer's additions do not break it.
/// </summary>
internal static class ManifestReader
{
    /// <summary>What is wrong, and where (a JSON path): the caller names the file.</summary>
    internal sealed class InvalidManifestException(string message) : Exception(message);

    public static DatasetManifest Read(ReadOnlyMemory<byte> json)
    {
        using var doc = JsonDocument.Parse(json);
        var m = new Obj(doc.RootElement, "$");
        var keyColumn = m.Get("keyColumn");
        string storageOrder = m.String("storageOrder") ?? "key";
        return new DatasetManifest
        {
            Format = m.String("format", DatasetManifest.FormatName)!,
            FormatVersion = m.Int("formatVersion", DatasetManifest.CurrentFormatVersion),
            CreatedBy = m.String("createdBy", "")!,
            // Imported shards have none: written as null, and left out by writers before that was so.
            KeyColumn = keyColumn.ValueKind != JsonValueKind.Undefined ? AsString(keyColumn, "$.keyColumn") : storageOrder == "files" ? null : DatasetManifest.KeyColumnName,
            Key = ReadKey(m.Required("key")),
            Schema = m.Array("schema", required: true).ConvertAll(ReadColumn),
            GroupCount = m.Long("groupCount"),
            RecordCount = m.Long("recordCount"),
            ByteCount = m.Long("byteCount"),
            LargestGroupRecords = m.Long("largestGroupRecords"),
            Stats = m.Optional("stats") is { } s ? ReadStats(s) : null,
            Worker = m.Optional("worker") is { } w ? new WorkerInfo
            {
                Index = w.Int("index"),
                Count = w.Int("count"),
                Split = w.RequiredString("split"),
                RecordsSeen = w.Long("recordsSeen"),
            } : null,
            StorageOrder = storageOrder,
            Sources = m.Array("sources", required: true).ConvertAll(e => new SourceFileInfo
            {
                Path = e.RequiredString("path"),
                Bytes = e.Long("bytes"),
                Records = e.Long("records"),
            }),
            Shards = m.Array("shards", required: true).ConvertAll(e => new ShardInfo
            {
                File = e.RequiredString("file"),
                Bytes = e.Long("bytes"),
                Xxh3 = e.RequiredString("xxh3"),
                Records = e.Long("records"),
                RowGroups = e.Int("rowGroups"),
            }),
            Index = ReadFileEntry(m.Required("index")),
        };
    }

    private static FileEntry ReadFileEntry(Obj f) => new() { File = f.RequiredString("file"), Bytes = f.Long("bytes"), Xxh3 = f.RequiredString("xxh3") };

    private static KeyInfo ReadKey(Obj k) => new()
    {
        Kind = k.RequiredString("kind"),
        Columns = k.Strings("columns"),
        Description = k.String("description", "")!,
        NullPolicy = k.String("nullPolicy", "error")!,
        NullGroupName = k.String("nullGroupName"),
        Parameters = k.Optional("parameters") is { } p ? ReadParameters(p) : null,
    };

    private static Dictionary<string, string> ReadParameters(Obj p)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in p.Element.EnumerateObject()) result[f.Name] = AsString(f.Value, $"{p.Where}.{f.Name}")!; // the last of a repeated name wins, as with the serializer
        return result;
    }

    private static ColumnInfo ReadColumn(Obj c) => new()
    {
        Name = c.RequiredString("name"),
        Type = c.RequiredString("type"),
        Nullable = c.Bool("nullable"),
        Precision = c.NullableInt("precision"),
        Scale = c.NullableInt("scale"),
        Unit = c.String("unit"),
        AdjustedToUtc = c.NullableBool("adjustedToUtc"),
    };

    private static GroupSizeStats ReadStats(Obj s) => new(
        s.Long("groupCount"), s.Long("recordCount"), s.Long("byteCount"),
        s.Long("minRecords"), s.Long("maxRecords"), s.Double("meanRecords"), s.Double("medianRecords"),
        s.Long("p10Records"), s.Long("p90Records"), s.Long("p99Records"), s.Double("stdDevRecords"), s.Double("gini"), s.Double("top1PercentShare"));

    private static string? AsString(JsonElement e, string where)
    {
        try
        {
            return e.ValueKind switch
            {
                JsonValueKind.String => e.GetString(),
                JsonValueKind.Null => null,
                _ => throw new InvalidManifestException($"{where} should be text"),
            };
        }
        catch (InvalidOperationException) // the document checks a string's UTF-8 only when it is read
        {
            throw new InvalidManifestException($"{where} is not valid UTF-8");
        }
    }

    /// <summary>A JSON object of the manifest and its path, for messages.</summary>
    /// <remarks>
    /// A class, and members that take no nullable of a struct and no LINQ over the document's elements: a
    /// generic collection or method of a value type is compiled when first used (its code is not in the
    /// runtime's precompiled images), and opening a dataset compiled dozens of them here.
    /// </remarks>
    private sealed class Obj
    {
        public Obj(JsonElement element, string where)
        {
            if (element.ValueKind != JsonValueKind.Object) throw new InvalidManifestException($"{where} should be an object");
            Element = element;
            Where = where;
        }

        public JsonElement Element { get; }
        public string Where { get; }

        /// <summary>The member's value; <see cref="JsonValueKind.Undefined"/> when there is none.</summary>
        public JsonElement Get(string name) => Element.TryGetProperty(name, out var v) ? v : default;

        private static bool Present(JsonElement v) => v.ValueKind != JsonValueKind.Undefined;
        private static bool PresentNotNull(JsonElement v) => v.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null);

        public Obj Required(string name) =>
            Get(name) is var v && PresentNotNull(v) ? new Obj(v, $"{Where}.{name}") : throw Missing(name);

        public Obj? Optional(string name) =>
            Get(name) is var v && PresentNotNull(v) ? new Obj(v, $"{Where}.{name}") : null;

        public List<Obj> Array(string name, bool required)
        {
            var v = Get(name);
            if (!PresentNotNull(v))
                return required ? throw Missing(name) : [];
            if (v.ValueKind != JsonValueKind.Array) throw new InvalidManifestException($"{Where}.{name} should be a list");
            var where = $"{Where}.{name}";
            var list = new List<Obj>(v.GetArrayLength());
            foreach (var e in v.EnumerateArray()) list.Add(new Obj(e, $"{where}[{list.Count}]"));
            return list;
        }

        public string[] Strings(string name)
        {
            var v = Get(name);
            if (!PresentNotNull(v)) return [];
            if (v.ValueKind != JsonValueKind.Array) throw new InvalidManifestException($"{Where}.{name} should be a list");
            var where = $"{Where}.{name}";
            var result = new string[v.GetArrayLength()];
            int n = 0;
            foreach (var e in v.EnumerateArray()) { result[n] = AsString(e, $"{where}[{n}]")!; n++; }
            return result;
        }

        public string RequiredString(string name) => Get(name) is var v && Present(v) ? AsString(v, $"{Where}.{name}")! : throw Missing(name);

        public string? String(string name, string? missing = null) => Get(name) is var v && Present(v) ? AsString(v, $"{Where}.{name}") : missing;

        public long Long(string name, long missing = 0) =>
            Get(name) is var v && !Present(v) ? missing : v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var x) ? x : throw NotNumber(name, whole: true);

        public int Int(string name, int missing = 0) =>
            Get(name) is var v && !Present(v) ? missing : v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var x) ? x : throw NotNumber(name, whole: true);

        public int? NullableInt(string name) => PresentNotNull(Get(name)) ? Int(name) : null;

        public double Double(string name) =>
            Get(name) is var v && !Present(v) ? 0 : v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var x) ? x : throw NotNumber(name, whole: false);

        private InvalidManifestException NotNumber(string name, bool whole) =>
            new($"{Where}.{name} should be a number{(whole ? " (whole, and in range)" : "")}");

        public bool Bool(string name) => Get(name) is var v && Present(v) ? v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new InvalidManifestException($"{Where}.{name} should be true or false"),
        } : false;

        public bool? NullableBool(string name) => PresentNotNull(Get(name)) ? Bool(name) : null;

        private InvalidManifestException Missing(string name) => new($"{Where} has no '{name}'");
    }
}
