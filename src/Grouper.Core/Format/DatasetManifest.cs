using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Grouper.Schema;

namespace Grouper.Format;

/// <summary>The manifest of a grouped dataset (manifest.json). See docs/format.md.</summary>
public sealed class DatasetManifest
{
    public const string FileName = "manifest.json";
    public const string FormatName = "grouper-dataset";
    /// <summary>The format version this library writes and reads.</summary>
    public const int CurrentFormatVersion = 1;
    /// <summary>The string column, first in every shard, that holds each record's group key.</summary>
    public const string KeyColumnName = "__group_key";

    /// <summary>"Grouper x.y.z" of this library.</summary>
    public static string CreatedByThisVersion => "Grouper " + (typeof(DatasetManifest).Assembly
        .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
        .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion.Split('+')[0] ?? "?");

    public string Format { get; init; } = FormatName;
    public int FormatVersion { get; init; } = CurrentFormatVersion;
    public string CreatedBy { get; init; } = "";
    /// <summary>The shards' key column, or null for imported shards that have none (their key is made from <see cref="Key"/>'s columns).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)] // null is written: imported shards have no key column
    public string? KeyColumn { get; init; } = KeyColumnName;
    public required KeyInfo Key { get; init; }
    public required IReadOnlyList<ColumnInfo> Schema { get; init; }
    public long GroupCount { get; init; }
    public long RecordCount { get; init; }
    /// <summary>Sum of the groups' byte counts (encoded record bytes, see docs/format.md).</summary>
    public long ByteCount { get; init; }
    public long LargestGroupRecords { get; init; }
    /// <summary>Group-size statistics computed while writing (from the index; no label or text measures).</summary>
    public Grouper.Stats.GroupSizeStats? Stats { get; init; }
    /// <summary>Set on a part of a sharded build (see Merge-GroupedDataset); null on a complete dataset.</summary>
    public WorkerInfo? Worker { get; init; }
    /// <summary>"key" when shards hold groups in key order throughout; "parts" after a merge (each part's shards in key order).</summary>
    public string StorageOrder { get; init; } = "key";
    public required IReadOnlyList<SourceFileInfo> Sources { get; init; }
    public required IReadOnlyList<ShardInfo> Shards { get; init; }
    public required FileEntry Index { get; init; }

    /// <summary>The schema as column specs.</summary>
    [JsonIgnore]
    public IReadOnlyList<ColumnSpec> Columns => Schema.Select(c => c.ToSpec()).ToList();

    /// <summary>
    /// The options a <see cref="JsonSerializer"/> would need to write and read manifests as
    /// <see cref="ManifestWriter"/> and <see cref="ManifestReader"/> do (which do not use it: see there).
    /// </summary>
    public static JsonSerializerOptions SerializerOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public byte[] ToJson() => ManifestWriter.Write(this);

    public static DatasetManifest Parse(ReadOnlyMemory<byte> json, string path)
    {
        DatasetManifest? m;
        try { m = ManifestReader.Read(json); }
        // InvalidOperationException: text that is not UTF-8 where the reader did not expect any (a field's name).
        catch (Exception ex) when (ex is JsonException or ManifestReader.InvalidManifestException or InvalidOperationException)
        {
            var why = ex is JsonException bad
                ? Util.JsonMessages.Plain(bad) + (bad.LineNumber is long line ? $" (line {line + 1}, byte {bad.BytePositionInLine + 1})." : ".")
                : ex.Message;
            throw new GrouperException(GrouperErrorKind.InvalidDataset, $"The manifest {path} is not valid: {why}", path, inner: ex);
        }
        if (m is null || m.Format != FormatName)
            throw new GrouperException(GrouperErrorKind.InvalidDataset, $"{path} is not a Grouper dataset manifest.", path);
        if (m.FormatVersion > CurrentFormatVersion || m.FormatVersion < 1)
            throw new GrouperException(GrouperErrorKind.InvalidDataset,
                $"{path} has format version {m.FormatVersion}; this Grouper reads version {CurrentFormatVersion}. Use a newer Grouper.", path);
        m.Validate(path);
        return m;
    }

    /// <summary>Everything a reader relies on, checked once: a manifest is data, not code.</summary>
    private void Validate(string path)
    {
        string? why = null;
        if (Key is null || Schema is null || Shards is null || Index is null || Sources is null) why = "a required part is missing";
        else if (GroupCount < 0 || RecordCount < 0 || ByteCount < 0) why = "a count is negative";
        else if (Shards.Any(s => s is null || string.IsNullOrEmpty(s.File) || s.Bytes < 0 || s.Records < 0 || s.Xxh3 is null)
                 || string.IsNullOrEmpty(Index.File) || Index.Xxh3 is null)
            why = "a file entry is incomplete";
        else
        {
            foreach (var c in Schema)
            {
                try { _ = c.ToSpec(); }
                catch (Exception ex) when (ex is FormatException or ArgumentException or NullReferenceException) { why = $"column '{c?.Name}' has no valid type ({ex.Message})"; break; }
                if (string.IsNullOrEmpty(c.Name)) { why = "a column has no name"; break; }
            }
            if (why is null && Schema.Select(c => c.Name).Distinct(StringComparer.Ordinal).Count() != Schema.Count) why = "two columns have the same name";
        }
        if (why is not null) throw new GrouperException(GrouperErrorKind.InvalidDataset, $"The manifest {path} is not valid: {why}.", path);
    }
}

public sealed class WorkerInfo
{
    public int Index { get; init; }
    public int Count { get; init; }
    /// <summary>"key" or "file".</summary>
    public required string Split { get; init; }
    /// <summary>Records the worker read (kept or not), so a merge can check that workers saw the same input.</summary>
    public long RecordsSeen { get; init; }
}

public sealed class KeyInfo
{
    /// <summary>"columns", "function", or a scheme's name.</summary>
    public required string Kind { get; init; }
    public IReadOnlyList<string> Columns { get; init; } = Array.Empty<string>();
    public string Description { get; init; } = "";
    /// <summary>"error" or "group".</summary>
    public string NullPolicy { get; init; } = "error";
    public string? NullGroupName { get; init; }
    public IReadOnlyDictionary<string, string>? Parameters { get; init; }
}

public sealed class ColumnInfo
{
    public required string Name { get; init; }
    public required string Type { get; init; }
    public bool Nullable { get; init; }
    public int? Precision { get; init; }
    public int? Scale { get; init; }
    /// <summary>"millis", "micros" or "nanos", for timestamps and times.</summary>
    public string? Unit { get; init; }
    public bool? AdjustedToUtc { get; init; }

    public static ColumnInfo From(ColumnSpec c) => new()
    {
        Name = c.Name,
        Type = c.Kind.ToName(),
        Nullable = c.Nullable,
        Precision = c.Kind == ValueKind.Decimal ? c.Precision : null,
        Scale = c.Kind == ValueKind.Decimal ? c.Scale : null,
        Unit = c.Kind is ValueKind.Timestamp or ValueKind.Time ? c.Unit.ToString().ToLowerInvariant() : null,
        AdjustedToUtc = c.Kind == ValueKind.Timestamp ? c.AdjustedToUtc : null,
    };

    public ColumnSpec ToSpec() => new(Name, ValueKinds.Parse(Type), Nullable)
    {
        Precision = Precision ?? 0,
        Scale = Scale ?? 0,
        Unit = Unit is null ? TimeUnit.Micros : Enum.Parse<TimeUnit>(Unit, ignoreCase: true),
        AdjustedToUtc = AdjustedToUtc ?? true,
    };
}

public sealed class SourceFileInfo
{
    public required string Path { get; init; }
    public long Bytes { get; set; }
    public long Records { get; set; }
}

public class FileEntry
{
    /// <summary>Path relative to the dataset folder, with '/' separators.</summary>
    public required string File { get; init; }
    public long Bytes { get; init; }
    /// <summary>xxHash3 (64-bit) of the file's bytes, 16 lowercase hex digits.</summary>
    public required string Xxh3 { get; init; }
}

public sealed class ShardInfo : FileEntry
{
    public long Records { get; init; }
    public int RowGroups { get; init; }
}
