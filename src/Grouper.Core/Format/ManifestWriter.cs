using System.Text.Json;

namespace Grouper.Format;

/// <summary>
/// Writes manifest.json as the serializer would (same names, order, indentation and escaping; null fields
/// left out but keyColumn), with a <see cref="Utf8JsonWriter"/>, for the reason <see cref="ManifestReader"/>
/// gives. A test compares its bytes with the serializer's.
/// </summary>
internal static class ManifestWriter
{
    public static byte[] Write(DatasetManifest m)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("format", m.Format);
            w.WriteNumber("formatVersion", m.FormatVersion);
            w.WriteString("createdBy", m.CreatedBy);
            w.WriteString("keyColumn", m.KeyColumn); // null is written
            w.WritePropertyName("key");
            WriteKey(w, m.Key);
            w.WriteStartArray("schema");
            foreach (var c in m.Schema) WriteColumn(w, c);
            w.WriteEndArray();
            w.WriteNumber("groupCount", m.GroupCount);
            w.WriteNumber("recordCount", m.RecordCount);
            w.WriteNumber("byteCount", m.ByteCount);
            w.WriteNumber("largestGroupRecords", m.LargestGroupRecords);
            if (m.Stats is { } s)
            {
                w.WriteStartObject("stats");
                w.WriteNumber("groupCount", s.GroupCount);
                w.WriteNumber("recordCount", s.RecordCount);
                w.WriteNumber("byteCount", s.ByteCount);
                w.WriteNumber("minRecords", s.MinRecords);
                w.WriteNumber("maxRecords", s.MaxRecords);
                w.WriteNumber("meanRecords", s.MeanRecords);
                w.WriteNumber("medianRecords", s.MedianRecords);
                w.WriteNumber("p10Records", s.P10Records);
                w.WriteNumber("p90Records", s.P90Records);
                w.WriteNumber("p99Records", s.P99Records);
                w.WriteNumber("stdDevRecords", s.StdDevRecords);
                w.WriteNumber("gini", s.Gini);
                w.WriteNumber("top1PercentShare", s.Top1PercentShare);
                w.WriteEndObject();
            }
            if (m.Worker is { } k)
            {
                w.WriteStartObject("worker");
                w.WriteNumber("index", k.Index);
                w.WriteNumber("count", k.Count);
                StringUnlessNull(w, "split", k.Split);
                w.WriteNumber("recordsSeen", k.RecordsSeen);
                w.WriteEndObject();
            }
            StringUnlessNull(w, "storageOrder", m.StorageOrder);
            w.WriteStartArray("sources");
            foreach (var src in m.Sources)
            {
                w.WriteStartObject();
                StringUnlessNull(w, "path", src.Path);
                w.WriteNumber("bytes", src.Bytes);
                w.WriteNumber("records", src.Records);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("shards");
            foreach (var sh in m.Shards)
            {
                // The serializer writes a derived class's own properties before its base's.
                w.WriteStartObject();
                w.WriteNumber("records", sh.Records);
                w.WriteNumber("rowGroups", sh.RowGroups);
                FileFields(w, sh);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("index");
            FileFields(w, m.Index);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void FileFields(Utf8JsonWriter w, FileEntry f)
    {
        StringUnlessNull(w, "file", f.File);
        w.WriteNumber("bytes", f.Bytes);
        StringUnlessNull(w, "xxh3", f.Xxh3);
    }

    private static void WriteKey(Utf8JsonWriter w, KeyInfo k)
    {
        w.WriteStartObject();
        StringUnlessNull(w, "kind", k.Kind);
        if (k.Columns is { } columns)
        {
            w.WriteStartArray("columns");
            foreach (var c in columns) w.WriteStringValue(c);
            w.WriteEndArray();
        }
        StringUnlessNull(w, "description", k.Description);
        StringUnlessNull(w, "nullPolicy", k.NullPolicy);
        StringUnlessNull(w, "nullGroupName", k.NullGroupName);
        if (k.Parameters is { } p)
        {
            w.WriteStartObject("parameters");
            foreach (var (name, value) in p) w.WriteString(name, value);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private static void WriteColumn(Utf8JsonWriter w, ColumnInfo c)
    {
        w.WriteStartObject();
        StringUnlessNull(w, "name", c.Name);
        StringUnlessNull(w, "type", c.Type);
        w.WriteBoolean("nullable", c.Nullable);
        if (c.Precision is { } precision) w.WriteNumber("precision", precision);
        if (c.Scale is { } scale) w.WriteNumber("scale", scale);
        StringUnlessNull(w, "unit", c.Unit);
        if (c.AdjustedToUtc is { } utc) w.WriteBoolean("adjustedToUtc", utc);
        w.WriteEndObject();
    }

    private static void StringUnlessNull(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null) w.WriteString(name, value);
    }
}
