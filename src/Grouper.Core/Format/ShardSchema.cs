using Grouper.Schema;

namespace Grouper.Format;

/// <summary>
/// A shard's columns against the manifest's schema. The manifest is data, edited or written by another tool:
/// readers decode each column as the manifest types it, so a column it names that the shard lacks, or holds
/// as another type, stopped every reader with Parquet.Net's exception. The verifier names every disagreement;
/// readers refuse a shard with one before reading it (<see cref="Reading.GroupedDataset"/>).
/// </summary>
internal static class ShardSchema
{
    /// <summary>One column the shard and the manifest disagree on, in words that follow "Column 'name' ".</summary>
    public sealed record Difference(string Column, string What);

    /// <summary>
    /// Every disagreement between the manifest's <paramref name="manifest"/> columns and a shard's
    /// <paramref name="shard"/> columns (as a source reads them, the key column among them when
    /// <paramref name="keyColumn"/> is not null): a column one has and the other lacks, another type (with its
    /// precision, scale, unit and time zone), and nulls the manifest says the column never holds. A column the
    /// manifest says may be null and the shard holds as never null is no disagreement: a reader takes it as it is.
    /// </summary>
    public static List<Difference> Compare(IReadOnlyList<ColumnSpec> manifest, string? keyColumn, IReadOnlyList<ColumnSpec> shard)
    {
        var found = new List<Difference>();
        var byName = new Dictionary<string, ColumnSpec>(StringComparer.Ordinal);
        foreach (var c in shard) byName.TryAdd(c.Name, c);
        if (keyColumn is not null && (!byName.TryGetValue(keyColumn, out var key) || key.Kind != ValueKind.String))
            found.Add(new(keyColumn, key is null ? "is not in the shard: it holds the records' group keys" : $"is {Describe(key)} in the shard; a group key column is text"));
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in manifest)
        {
            listed.Add(c.Name);
            if (!byName.TryGetValue(c.Name, out var s)) { found.Add(new(c.Name, "is not in the shard (the manifest lists it)")); continue; }
            if (Differ(c, s) is { } what) found.Add(new(c.Name, what));
        }
        foreach (var s in shard)
            if (s.Name != keyColumn && !listed.Contains(s.Name)) found.Add(new(s.Name, $"is in the shard ({Describe(s)}) but not in the manifest"));
        return found;
    }

    /// <summary>How the shard's column <paramref name="shard"/> differs from the manifest's <paramref name="manifest"/> where a reader would notice, or null.</summary>
    public static string? Differ(ColumnSpec manifest, ColumnSpec shard)
    {
        bool sameType = Type(manifest) == Type(shard);
        if (sameType && (manifest.Nullable || !shard.Nullable)) return null;
        return $"is {Describe(shard)} in the shard; the manifest says {Describe(manifest)}";
    }

    private static string Type(ColumnSpec c)
    {
        var i = ColumnInfo.From(c);
        return (i.Precision is { } p ? $"{i.Type}({p},{i.Scale})" : i.Type)
            + (i.Unit is { } u ? $" in {u}" : "") + (i.AdjustedToUtc is { } utc ? (utc ? " (UTC)" : " (local)") : "");
    }

    public static string Describe(ColumnSpec c) => Type(c) + (c.Nullable ? ", nullable" : ", never null");
}
