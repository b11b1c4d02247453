using System.Runtime.InteropServices;
using System.Text;
using Grouper.Reading;
using Grouper.Stats;

namespace Grouper.Format;

/// <summary>How a merge puts the parts' shards into the merged dataset.</summary>
public enum ShardTransfer
{
    /// <summary>Hard links where the file system allows (no bytes copied, parts stay usable), else copies.</summary>
    Link,
    /// <summary>Copies the shard files.</summary>
    Copy,
    /// <summary>Moves the shard files out of the parts (the parts are no longer complete datasets).</summary>
    Move,
}

/// <summary>
/// Combines the parts of a sharded build into one dataset without rewriting record data: shards are
/// linked, copied or moved as they are; the indexes are merged by key and the manifests combined. Refuses
/// parts that disagree (schema, key, worker count, input), that are missing or repeated, or whose groups
/// overlap.
/// </summary>
public static class DatasetMerger
{
    public static DatasetManifest Merge(IReadOnlyList<string> partPaths, string destination, bool overwrite = false,
        ShardTransfer transfer = ShardTransfer.Link, CancellationToken ct = default, bool durable = false)
    {
        if (partPaths.Count == 0) throw new GrouperException(GrouperErrorKind.InvalidArgument, "There are no parts to merge.");
        destination = Path.GetFullPath(destination);
        using var writerLock = DestinationLock.Acquire(destination);
        DatasetCommit.Recover(destination);
        if (!overwrite && (Directory.Exists(destination) || File.Exists(destination)))
            throw new GrouperException(GrouperErrorKind.DestinationExists, $"The destination {destination} exists. Choose another destination or replace it (-Force).", destination);
        DatasetCommit.EnsureReplaceable(destination);

        var parts = new List<GroupedDataset>();
        try
        {
            foreach (var p in partPaths) parts.Add(GroupedDataset.Open(p));
            parts.Sort((a, b) => (a.Manifest.Worker?.Index ?? -1).CompareTo(b.Manifest.Worker?.Index ?? -1));
            Check(parts);

            var parent = Path.GetDirectoryName(destination)!;
            Directory.CreateDirectory(parent);
            var work = Path.Combine(parent, $".{Path.GetFileName(destination)}.grouper-tmp-{Environment.ProcessId}-{Guid.NewGuid():N}"[..^24]);
            Directory.CreateDirectory(Path.Combine(work, "data"));
            try
            {
                var shards = new List<ShardInfo>();
                var offsets = new int[parts.Count];
                for (int i = 0; i < parts.Count; i++)
                {
                    offsets[i] = shards.Count;
                    foreach (var s in parts[i].Manifest.Shards)
                    {
                        ct.ThrowIfCancellationRequested();
                        var name = ShardWriter.ShardFileName(shards.Count);
                        Transfer(GroupedDataset.Resolve(parts[i].Path, s.File), Path.Combine(work, name), transfer);
                        shards.Add(new ShardInfo { File = name, Bytes = s.Bytes, Xxh3 = s.Xxh3, Records = s.Records, RowGroups = s.RowGroups });
                    }
                }

                var indexPath = Path.Combine(work, "index.gidx");
                var sizes = new GroupSizeStats.Accumulator();
                long groups = 0, records = 0, bytes = 0, largest = 0;
                string? checksum;
                long indexLength;
                using (var index = new GroupIndexWriter(indexPath))
                {
                    foreach (var (part, g) in MergeByKey(parts))
                    {
                        index.Add(Encoding.UTF8.GetBytes(g.Key), g.Shard + offsets[part], g.RowOffset, g.RecordCount, g.ByteCount);
                        sizes.Add(g.RecordCount, g.ByteCount);
                        groups++; records += g.RecordCount; bytes += g.ByteCount; largest = Math.Max(largest, g.RecordCount);
                        if ((groups & 0xFFFF) == 0) ct.ThrowIfCancellationRequested();
                    }
                    index.Finish();
                    checksum = index.Checksum;
                    indexLength = index.Length;
                }
                long expected = parts.Sum(p => p.Manifest.RecordCount);
                if (records != expected)
                    throw new GrouperException(GrouperErrorKind.InvalidDataset, $"The parts' indexes hold {records} records but their manifests {expected}.");

                var first = parts[0].Manifest;
                bool fileSplit = first.Worker!.Split == "file";
                var manifest = new DatasetManifest
                {
                    CreatedBy = first.CreatedBy,
                    Key = first.Key,
                    Schema = first.Schema,
                    GroupCount = groups,
                    RecordCount = records,
                    ByteCount = bytes,
                    LargestGroupRecords = largest,
                    Stats = sizes.Result(),
                    StorageOrder = "parts",
                    // Key splits: every worker read the same inputs. File splits: each read its own.
                    Sources = fileSplit
                        ? parts.SelectMany(p => p.Manifest.Sources).OrderBy(s => s.Path, StringComparer.Ordinal).ToList()
                        : first.Sources.Select(s => new SourceFileInfo { Path = s.Path, Bytes = s.Bytes, Records = parts.Sum(p => p.Manifest.Sources.Where(x => x.Path == s.Path).Sum(x => x.Records)) }).ToList(),
                    Shards = shards,
                    Index = new FileEntry { File = "index.gidx", Bytes = indexLength, Xxh3 = checksum! },
                };
                File.WriteAllBytes(Path.Combine(work, DatasetManifest.FileName), manifest.ToJson());
                foreach (var p in parts) p.Dispose();
                DatasetCommit.MoveIntoPlace(work, destination, overwrite, durable);
                return manifest;
            }
            catch
            {
                try { Directory.Delete(work, true); } catch (IOException) { }
                throw;
            }
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }

    private static void Check(List<GroupedDataset> parts)
    {
        var first = parts[0];
        if (first.Manifest.Worker is null)
            throw new GrouperException(GrouperErrorKind.InvalidDataset, $"{first.Path} is not a part of a sharded build (it was built without a worker index).", first.Path);
        int n = first.Manifest.Worker.Count;
        foreach (var p in parts)
        {
            var m = p.Manifest;
            if (m.Worker is null)
                throw new GrouperException(GrouperErrorKind.InvalidDataset, $"{p.Path} is not a part of a sharded build.", p.Path);
            if (m.Worker.Count != n || m.Worker.Split != first.Manifest.Worker.Split)
                throw new GrouperException(GrouperErrorKind.InvalidDataset,
                    $"{p.Path} is worker {m.Worker.Index} of {m.Worker.Count} ({m.Worker.Split} split) but {first.Path} is of {n} ({first.Manifest.Worker.Split} split).", p.Path);
            if (SchemaDifference(m, first.Manifest) is { } difference)
                throw new GrouperException(GrouperErrorKind.SchemaMismatch,
                    $"The schema of {p.Path} differs from that of {first.Path}: {difference}." + (m.Worker.Split == "file"
                        ? " The workers of a file split each infer the types of JSON Lines and object columns from their own files; split by key (every worker reads all the input, so all infer the same schema), or make the column's values agree across files."
                        : ""), p.Path);
            if (m.Key.Kind != first.Manifest.Key.Kind || m.Key.Description != first.Manifest.Key.Description
                || !Same(m.Key.Parameters, first.Manifest.Key.Parameters) || m.Key.NullPolicy != first.Manifest.Key.NullPolicy)
                throw new GrouperException(GrouperErrorKind.SchemaMismatch, $"{p.Path} groups by '{m.Key.Description}' but {first.Path} by '{first.Manifest.Key.Description}'.", p.Path);
            if (m.Worker.Split == "key" && m.Worker.RecordsSeen != first.Manifest.Worker.RecordsSeen)
                throw new GrouperException(GrouperErrorKind.InvalidDataset,
                    $"{p.Path} read {m.Worker.RecordsSeen} records but {first.Path} read {first.Manifest.Worker.RecordsSeen}: the workers did not read the same input.", p.Path);
        }
        var dup = parts.GroupBy(p => p.Manifest.Worker!.Index).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null)
            throw new GrouperException(GrouperErrorKind.InvalidDataset, $"Worker {dup.Key} appears twice: {string.Join(" and ", dup.Select(p => p.Path))}.", dup.First().Path);
        var missing = Enumerable.Range(0, n).Except(parts.Select(p => p.Manifest.Worker!.Index)).ToList();
        if (missing.Count > 0)
            throw new GrouperException(GrouperErrorKind.InvalidDataset, $"Parts are missing: worker(s) {string.Join(", ", missing)} of {n}.");
    }

    /// <summary>The first difference between two parts' schemas, said for a person (this part's first), or null.</summary>
    private static string? SchemaDifference(DatasetManifest a, DatasetManifest b)
    {
        for (int i = 0; i < Math.Min(a.Schema.Count, b.Schema.Count); i++)
        {
            ColumnInfo x = a.Schema[i], y = b.Schema[i];
            if (x.Name != y.Name) return $"its column {i + 1} is '{x.Name}' where the other's is '{y.Name}'";
            string tx = Describe(x), ty = Describe(y);
            if (tx != ty) return $"column '{x.Name}' is {tx} in it and {ty} in the other";
        }
        if (a.Schema.Count != b.Schema.Count)
        {
            var (more, which) = a.Schema.Count > b.Schema.Count ? (a, "it") : (b, "the other");
            return $"{which} has {Math.Abs(a.Schema.Count - b.Schema.Count)} column(s) more, from '{more.Schema[Math.Min(a.Schema.Count, b.Schema.Count)].Name}'";
        }
        return null;
    }

    private static string Describe(ColumnInfo c) =>
        (c.Precision is { } p ? $"{c.Type}({p},{c.Scale})" : c.Type)
        + (c.Unit is { } u ? $" in {u}" : "") + (c.AdjustedToUtc is { } utc ? (utc ? " (UTC)" : " (local)") : "")
        + (c.Nullable ? ", nullable" : ", never null");

    private static bool Same(IReadOnlyDictionary<string, string>? a, IReadOnlyDictionary<string, string>? b) =>
        (a?.Count ?? 0) == (b?.Count ?? 0) && (a is null || a.All(p => b!.TryGetValue(p.Key, out var v) && v == p.Value));

    /// <summary>The parts' groups in key order; a key in two parts is an overlap.</summary>
    private static IEnumerable<(int Part, GroupInfo Group)> MergeByKey(List<GroupedDataset> parts)
    {
        var cursors = parts.Select(p => p.EnumerateGroups().GetEnumerator()).ToList();
        var heap = new PriorityQueue<int, (byte[] Key, int Part)>(Comparer<(byte[] Key, int Part)>.Create((a, b) =>
        {
            int c = a.Key.AsSpan().SequenceCompareTo(b.Key);
            return c != 0 ? c : a.Part.CompareTo(b.Part);
        }));
        for (int i = 0; i < cursors.Count; i++)
            if (cursors[i].MoveNext()) heap.Enqueue(i, (Encoding.UTF8.GetBytes(cursors[i].Current.Key), i));
        byte[]? last = null;
        int lastPart = -1;
        while (heap.TryDequeue(out var i, out var pri))
        {
            if (last is not null && pri.Key.AsSpan().SequenceEqual(last))
                throw new GrouperException(GrouperErrorKind.InvalidDataset,
                    $"The parts overlap: group '{cursors[i].Current.Key}' is in {parts[lastPart].Path} and in {parts[i].Path}.", parts[i].Path);
            yield return (i, cursors[i].Current);
            last = pri.Key;
            lastPart = i;
            if (cursors[i].MoveNext()) heap.Enqueue(i, (Encoding.UTF8.GetBytes(cursors[i].Current.Key), i));
        }
    }

    internal static void Transfer(string from, string to, ShardTransfer how)
    {
        switch (how)
        {
            case ShardTransfer.Move: File.Move(from, to); return;
            case ShardTransfer.Copy: File.Copy(from, to); return;
            default:
                if (!TryHardLink(from, to)) File.Copy(from, to);
                return;
        }
    }

    [DllImport("libc", SetLastError = true, EntryPoint = "link")]
    private static extern int Link(string oldPath, string newPath);

    [DllImport("kernel32", SetLastError = true, CharSet = CharSet.Unicode, EntryPoint = "CreateHardLinkW")]
    private static extern bool CreateHardLink(string newPath, string existingPath, IntPtr security);

    private static bool TryHardLink(string from, string to)
    {
        try
        {
            return OperatingSystem.IsWindows() ? CreateHardLink(to, from, IntPtr.Zero) : Link(from, to) == 0;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }
}
