using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Grouper.Keys;
using Grouper.Reading;
using Grouper.Schema;
using Grouper.Sources;
using Grouper.Stats;
using Grouper.Writer;

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
/// parts that disagree (key, worker count, input), that are missing or repeated, or whose groups overlap.
/// Parts of a file split whose schemas differ (each worker infers JSON Lines and object columns from its own
/// files; Parquet files may declare different widths) are written again under the schema that holds them
/// all (<see cref="Unify"/>); parts of a key split must agree.
/// </summary>
public static class DatasetMerger
{
    /// <param name="partPaths">Every part of the sharded build, in any order.</param>
    /// <param name="destination">The merged dataset's folder.</param>
    /// <param name="overwrite">Replace an existing dataset there.</param>
    /// <param name="transfer">How shards get into the merged dataset: linked (default), copied, or moved.</param>
    /// <param name="ct">Stops the merge; nothing is left behind.</param>
    /// <param name="durable">Write the merged dataset through to the disk before committing it (<see cref="BuildOptions.Durable"/>).</param>
    /// <param name="notice">Told, on the caller's thread, when the parts' schemas differ and their records are written again.</param>
    /// <param name="progress">
    /// Where the merge reports, on the caller's thread: a rewrite as a build does; otherwise the shards' transfer
    /// as a build's writing phase (records of the shards transferred so far, of all the parts' records, and
    /// the groups of the parts done), the indexes' merge as its merging phase, then done.
    /// </param>
    /// <param name="memoryLimit">Such a rewrite's memory budget, as a build's (<see cref="BuildOptions.MemoryLimit"/>).</param>
    public static DatasetManifest Merge(IReadOnlyList<string> partPaths, string destination, bool overwrite = false,
        ShardTransfer transfer = ShardTransfer.Link, CancellationToken ct = default, bool durable = false, Action<string>? notice = null,
        IProgress<BuildProgress>? progress = null, long memoryLimit = BuildOptions.DefaultMemoryLimit)
    {
        if (partPaths.Count == 0) throw new GrouperException(GrouperErrorKind.InvalidArgument, "There are no parts to merge.");
        destination = DatasetCommit.FullPath(destination);
        using var writerLock = DestinationLock.Acquire(destination);
        DatasetCommit.Recover(destination);
        if (!overwrite && (Directory.Exists(destination) || File.Exists(destination)))
            throw new GrouperException(GrouperErrorKind.DestinationExists, $"The destination {destination} exists. Choose another destination or replace it (-Force).", destination);
        DatasetCommit.EnsureReplaceable(destination);

        var parts = new List<GroupedDataset>();
        try
        {
            foreach (var p in partPaths)
            {
                if (SourceFiles.IsWithin(p, destination))
                    throw new GrouperException(GrouperErrorKind.InvalidArgument, $"The part {p} is the destination {destination} (or inside it), which this merge writes.", p);
                parts.Add(GroupedDataset.Open(p));
            }
            parts.Sort((a, b) => (a.Manifest.Worker?.Index ?? -1).CompareTo(b.Manifest.Worker?.Index ?? -1));
            Check(parts);
            if (parts.Skip(1).Select(p => SchemaDifference(p.Manifest, parts[0].Manifest)).FirstOrDefault(d => d is not null) is { } difference)
            {
                var columns = Unify(parts);
                foreach (var _ in MergeByKey(parts)) ct.ThrowIfCancellationRequested(); // overlapping parts are refused, as below
                notice?.Invoke($"The parts' schemas differ ({difference}): their records are written again under one schema that holds them all " +
                    $"({string.Join(", ", columns.Select(c => $"{c.Name}: {Describe(c)}"))}), which takes as long as a build{(transfer == ShardTransfer.Move ? "; the parts are left as they are" : "")}.");
                writerLock.Dispose(); // the rewrite's builder takes it
                return Rewrite(parts, columns, destination, overwrite, durable, progress, memoryLimit, ct);
            }

            // A move takes the shards out of the parts: what can refuse the merge (parts that overlap, indexes that
            // disagree with their manifests) is found before, not after (a refused move deleted the parts' shards
            // with the work folder).
            if (transfer == ShardTransfer.Move)
            {
                long indexed = 0;
                foreach (var (_, g) in MergeByKey(parts))
                {
                    indexed += g.RecordCount;
                    if ((indexed & 0xFFFF) == 0) ct.ThrowIfCancellationRequested();
                }
                if (indexed != parts.Sum(p => p.Manifest.RecordCount))
                    throw Miscounted(indexed, parts.Sum(p => p.Manifest.RecordCount));
            }
            var parent = Path.GetDirectoryName(destination)!;
            Directory.CreateDirectory(parent);
            var work = DatasetCommit.NewWorkFolder(parent, Path.GetFileName(destination));
            Directory.CreateDirectory(Path.Combine(work, "data"));
            var moved = new List<(string From, string To)>();
            try
            {
                var report = new TransferProgress(progress, parts.Sum(p => p.Manifest.RecordCount));
                var shards = new List<ShardInfo>();
                var offsets = new int[parts.Count];
                for (int i = 0; i < parts.Count; i++)
                {
                    offsets[i] = shards.Count;
                    foreach (var s in parts[i].Manifest.Shards)
                    {
                        ct.ThrowIfCancellationRequested();
                        var name = ShardWriter.ShardFileName(shards.Count);
                        var from = GroupedDataset.Resolve(parts[i].Path, s.File);
                        report.Transferring(from);
                        Transfer(from, Path.Combine(work, name), transfer);
                        if (transfer == ShardTransfer.Move) moved.Add((from, Path.Combine(work, name)));
                        shards.Add(new ShardInfo { File = name, Bytes = s.Bytes, Xxh3 = s.Xxh3, Records = s.Records, RowGroups = s.RowGroups });
                        report.Transferred(s.Records);
                    }
                    report.PartDone(parts[i].Manifest.GroupCount);
                }
                report.Enter(BuildPhase.Merging);

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
                        if ((groups & 0xFFFF) == 0)
                        {
                            ct.ThrowIfCancellationRequested();
                            report.Merging();
                        }
                    }
                    index.Finish();
                    checksum = index.Checksum;
                    indexLength = index.Length;
                }
                long expected = parts.Sum(p => p.Manifest.RecordCount);
                if (records != expected)
                    throw Miscounted(records, expected);

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
                report.Enter(BuildPhase.Committing);
                DatasetCommit.MoveIntoPlace(work, destination, overwrite, durable);
                report.Enter(BuildPhase.Done);
                return manifest;
            }
            catch (Exception ex)
            {
                // Whatever stopped the merge after shards were moved (Ctrl+C, a shard that could not be moved): they
                // go back into their parts before the work folder is deleted.
                for (int i = moved.Count - 1; i >= 0; i--)
                    try { File.Move(moved[i].To, moved[i].From); } catch (Exception back) when (back is IOException or UnauthorizedAccessException) { }
                if (moved.Count(m => File.Exists(m.To)) is var stuck and > 0)
                    throw new GrouperException(GrouperErrorKind.WriteFailed,
                        $"The merge stopped ({ex.Message}), and {stuck} shard(s) moved out of the parts could not be moved back: they are in {work}.", work, 0, ex);
                try { Directory.Delete(work, true); } catch (IOException) { }
                // A full disk, a failed link or copy, a write-through the device refused: said as a build says it.
                if (ex is IOException or UnauthorizedAccessException)
                    throw GrouperException.WriteFailed($"the merged dataset {destination}", destination, ex);
                throw;
            }
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }

    /// <summary>
    /// A merge that transfers shards, told as a build's phases: a copy of gigabytes takes a while, and said
    /// nothing until it was done. Reports a few times a second at most (a link is quick, and there may be
    /// thousands of shards), and at each phase's start.
    /// </summary>
    private sealed class TransferProgress(IProgress<BuildProgress>? progress, long records)
    {
        private static readonly long Interval = System.Diagnostics.Stopwatch.Frequency / 4;
        private BuildPhase _phase = BuildPhase.Writing;
        private long _phaseStart = System.Diagnostics.Stopwatch.GetTimestamp(), _last;
        private long _written, _groups;
        private string? _current;

        public void Transferring(string shard)
        {
            _current = shard;
            if (_written == 0 && _last == 0) Report(); // the first shard may be the largest: say what is going on
        }

        public void Transferred(long shardRecords)
        {
            _written += shardRecords;
            if (System.Diagnostics.Stopwatch.GetTimestamp() - _last >= Interval) Report();
        }

        public void PartDone(long partGroups) => _groups += partGroups;

        /// <summary>Another block of groups of the indexes merged: a report when one is due.</summary>
        public void Merging()
        {
            if (System.Diagnostics.Stopwatch.GetTimestamp() - _last >= Interval) Report();
        }

        public void Enter(BuildPhase phase)
        {
            _phase = phase;
            _phaseStart = System.Diagnostics.Stopwatch.GetTimestamp();
            _current = null;
            Report();
        }

        private void Report()
        {
            if (progress is null) return;
            _last = System.Diagnostics.Stopwatch.GetTimestamp();
            progress.Report(new BuildProgress(_phase, records, 0, _written, _groups, 0, _current)
            {
                InputRecords = records,
                PhaseElapsed = System.Diagnostics.Stopwatch.GetElapsedTime(_phaseStart),
            });
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
            // A file split's parts may differ (see Unify); a key split's workers all read the same records.
            if (m.Worker.Split != "file" && SchemaDifference(m, first.Manifest) is { } difference)
                throw new GrouperException(GrouperErrorKind.SchemaMismatch, $"The schema of {p.Path} differs from that of {first.Path}: {difference}.", p.Path);
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

    /// <summary>
    /// The schema that holds every part's records, as one build of all their files would infer it (and, for
    /// declared Parquet types, which such a build requires to agree, by the same rules): columns in
    /// order of first appearance (a column some parts lack is nullable there), integers widened to int64
    /// (uint64 where all are unsigned, double where uint64 meets signed integers), integers and floats to
    /// double, decimals to the largest scale and whole digits, times to the finest unit. A column of only nulls
    /// in one part (stored as nullable text) takes the other parts' type. Other differences (text against
    /// numbers, instants against local times) are refused, naming the column and both parts.
    /// </summary>
    private static List<ColumnSpec> Unify(List<GroupedDataset> parts)
    {
        var columns = new List<ColumnSpec>();
        var from = new List<int>(); // the part that gave each column its type so far
        var textIn = new List<List<int>>(); // the parts where each column is text
        var signedIn = new List<List<int>>(); // the parts where each column holds signed integers
        var byName = new Dictionary<string, int>(StringComparer.Ordinal);
        // Facts the schemas cannot tell, read from a part's column once, to its first value that decides them.
        var facts = new Dictionary<(int Part, string Column, bool Signs), bool>();
        bool Holds(int part, string name, bool signs)
        {
            if (facts.TryGetValue((part, name, signs), out var known)) return known;
            int c = parts[part].Columns.ToList().FindIndex(x => x.Name == name);
            bool all = true;
            foreach (var b in parts[part].ScanBatches([c]))
            {
                for (int r = 0; r < b.Count && all; r++)
                    all = signs ? b.GetValue(0, r) is not { } v || Convert.ToInt64(v, CultureInfo.InvariantCulture) >= 0 : b.IsNull(0, r);
                if (!all) break;
            }
            return facts[(part, name, signs)] = all;
        }
        // A column of only nulls in a part (stored as nullable text, or absent there).
        bool NullOnly(int part, string name) =>
            parts[part].Columns.FirstOrDefault(x => x.Name == name) is not { } col || (col is { Kind: ValueKind.String, Nullable: true } && Holds(part, name, signs: false));
        bool NonNegative(int part, string name) => Holds(part, name, signs: true);
        for (int p = 0; p < parts.Count; p++)
        {
            var own = parts[p].Columns;
            foreach (var col in own)
            {
                if (!byName.TryGetValue(col.Name, out int g))
                {
                    byName.Add(col.Name, columns.Count);
                    columns.Add(p > 0 ? col with { Nullable = true } : col); // the parts before lack it
                    from.Add(p);
                    textIn.Add(col.Kind == ValueKind.String ? [p] : []);
                    signedIn.Add(col.Kind.IsSignedInteger() ? [p] : []);
                    continue;
                }
                var have = columns[g];
                if (col.Kind == ValueKind.String) textIn[g].Add(p);
                if (col.Kind.IsSignedInteger()) signedIn[g].Add(p);
                if (have == col) continue;
                ColumnSpec? both = Combine(have, col);
                // uint64 against signed integers: uint64 still where none of them is negative, as one build decides.
                if (both is { Kind: ValueKind.Double } && (have.Kind == ValueKind.UInt64 || col.Kind == ValueKind.UInt64)
                    && IsInteger(have.Kind) && IsInteger(col.Kind) && signedIn[g].All(s => NonNegative(s, col.Name)))
                    both = both with { Kind = ValueKind.UInt64 };
                if (both is null && have.Kind != col.Kind)
                {
                    // Text against another type may be a column of only nulls on one side (every part where it is text).
                    if (have.Kind == ValueKind.String && textIn[g].All(t => NullOnly(t, col.Name))) both = col with { Nullable = true };
                    else if (col.Kind == ValueKind.String && NullOnly(p, col.Name)) both = have with { Nullable = true };
                }
                if (both is null)
                {
                    // Named against a part whose values clash with this one's: not one with only nulls.
                    int other = have.Kind == ValueKind.String ? textIn[g].Where(t => t != p).FirstOrDefault(t => !NullOnly(t, col.Name), from[g]) : from[g];
                    throw new GrouperException(GrouperErrorKind.SchemaMismatch,
                        $"Column '{col.Name}' is {Describe(ColumnInfo.From(col))} in {parts[p].Path} and {Describe(parts[other].Columns.First(c => c.Name == col.Name))} in {parts[other].Path}, " +
                        "and no type holds both, as one build of all their files would have stopped at them; the parts cannot be merged. Write the column's values alike in every input file (as text, for instance).",
                        parts[p].Path);
                }
                columns[g] = both;
                if (both.Kind != have.Kind) from[g] = p;
            }
            foreach (var (name, g) in byName)
                if (!own.Any(c => c.Name == name)) columns[g] = columns[g] with { Nullable = true };
        }
        return columns;
    }

    private static bool IsInteger(ValueKind k) => k.IsSignedInteger() || k.IsUnsignedInteger();

    /// <summary>The type that holds both columns' values (see <see cref="Unify"/>), or null.</summary>
    private static ColumnSpec? Combine(ColumnSpec a, ColumnSpec b)
    {
        bool nullable = a.Nullable || b.Nullable;
        if (a.Kind == b.Kind)
        {
            switch (a.Kind)
            {
                case ValueKind.Decimal:
                    int scale = Math.Max(a.Scale, b.Scale), whole = Math.Max(a.Precision - a.Scale, b.Precision - b.Scale);
                    return whole + scale > 38 ? null : a with { Nullable = nullable, Precision = whole + scale, Scale = scale };
                case ValueKind.Timestamp when a.AdjustedToUtc != b.AdjustedToUtc:
                    return null;
                case ValueKind.Timestamp or ValueKind.Time:
                    return a with { Nullable = nullable, Unit = (TimeUnit)Math.Max((byte)a.Unit, (byte)b.Unit) };
                default:
                    return a with { Nullable = nullable };
            }
        }
        if (IsInteger(a.Kind) && IsInteger(b.Kind))
        {
            bool anyU64 = a.Kind == ValueKind.UInt64 || b.Kind == ValueKind.UInt64;
            bool allUnsigned = a.Kind.IsUnsignedInteger() && b.Kind.IsUnsignedInteger();
            // Only widenings a declared column takes from other sources (SchemaBuilder.CanConvert).
            return new ColumnSpec(a.Name, anyU64 ? (allUnsigned ? ValueKind.UInt64 : ValueKind.Double) : ValueKind.Int64, nullable);
        }
        if ((IsInteger(a.Kind) || a.Kind.IsFloating()) && (IsInteger(b.Kind) || b.Kind.IsFloating()))
            return new ColumnSpec(a.Name, ValueKind.Double, nullable);
        return null;
    }

    /// <summary>The parts' records, written again as one build under <paramref name="columns"/>: groups in key order, each group's records in its part's order.</summary>
    private static DatasetManifest Rewrite(List<GroupedDataset> parts, List<ColumnSpec> columns, string destination, bool overwrite, bool durable,
        IProgress<BuildProgress>? progress, long memoryLimit, CancellationToken ct)
    {
        var first = parts[0].Manifest;
        string current = "";
        var options = new BuildOptions
        {
            Key = new StoredKeySpec(first.Key, () => current),
            KeyParameters = first.Key.Parameters,
            Overwrite = overwrite,
            Durable = durable,
            Progress = progress,
            MemoryLimit = memoryLimit,
            Sources = parts.SelectMany(p => p.Manifest.Sources).OrderBy(s => s.Path, StringComparer.Ordinal).ToList(),
        };
        using var builder = new GroupedDatasetBuilder(destination, options);
        builder.ExpectInput(0, parts.Sum(p => p.Manifest.RecordCount));
        foreach (var part in parts)
        {
            var reader = ObjectRecordReader.Declaring(part.Path, columns);
            var names = part.Columns.Select(c => c.Name).ToArray();
            long row = 0;
            foreach (var group in part.EnumerateGroups())
            {
                current = group.Key;
                foreach (var record in part.ReadRecords(group, ct))
                {
                    reader.SetCurrent(names.Select((n, i) => new KeyValuePair<string, object?>(n, record[i])), ++row);
                    builder.Add(reader);
                }
            }
        }
        var manifest = builder.Complete(ct);
        long expected = parts.Sum(p => p.Manifest.RecordCount);
        if (manifest.RecordCount != expected || manifest.GroupCount != parts.Sum(p => p.Manifest.GroupCount))
            throw new GrouperException(GrouperErrorKind.InvalidDataset, $"The parts hold {expected} records but {manifest.RecordCount} were written.");
        return manifest;
    }

    /// <summary>The key the parts were built with, as their manifest records it; each record's key is its group's.</summary>
    private sealed class StoredKeySpec : KeySpec
    {
        private readonly KeyInfo _info;
        private readonly Func<string> _current;

        public StoredKeySpec(KeyInfo info, Func<string> current)
        {
            _info = info;
            _current = current;
            NullPolicy = info.NullPolicy == "group" ? NullKeyPolicy.Group : NullKeyPolicy.Error;
            NullGroupName = info.NullGroupName ?? NullGroupName;
        }

        public override string KindName => _info.Kind;
        public override string Describe() => _info.Description;
        public override IReadOnlyList<string> Columns => _info.Columns;
        public override IReadOnlyDictionary<string, string>? Parameters => _info.Parameters;
        public override KeyExtractor Bind(RecordReader reader) => new Extractor(_current);

        private sealed class Extractor(Func<string> current) : KeyExtractor
        {
            public override void GetKey(RecordReader reader, StringBuilder sb) => sb.Clear().Append(current());
        }
    }

    private static string Describe(ColumnSpec c) => Describe(ColumnInfo.From(c));

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

    private static GrouperException Miscounted(long indexed, long expected) =>
        new(GrouperErrorKind.InvalidDataset, $"The parts' indexes hold {indexed} records but their manifests {expected}.");

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
