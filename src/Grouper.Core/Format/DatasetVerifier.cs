using Grouper.Schema;
using System.Globalization;
using System.Buffers.Binary;
using System.Text;
using Grouper.Keys;
using Grouper.Reading;
using Grouper.Util;
using Parquet;

namespace Grouper.Format;

/// <summary>One thing wrong with a dataset.</summary>
/// <param name="Check">What was checked: manifest, file, checksum, schema, index, shard, group, statistics.</param>
/// <param name="Target">The file (relative to the dataset) or group key concerned.</param>
/// <param name="Message">What is wrong, in words.</param>
public sealed record DatasetProblem(string Check, string Target, string Message);

/// <summary>How far a check of a dataset is, step by step.</summary>
/// <param name="Check">The step: checksum (files' sizes and checksums), index (the shards' rows against the index), statistics.</param>
/// <param name="Done">Files or shards of the step done.</param>
/// <param name="Total">Files or shards the step checks.</param>
public sealed record VerifyProgress(string Check, int Done, int Total);

/// <summary>
/// Checks a dataset: the manifest, that every file is there with its size and (unless quick) its xxHash3,
/// that every shard's columns are those the manifest's schema lists, of its types (<see cref="ShardSchema"/>),
/// and that the index matches the shards: every row belongs to exactly one group, in order, with the
/// group's key, and the counts add up; and that every column chunk's statistics hold its values
/// (<see cref="CheckStatistics"/>). Reports problems; never throws for a damaged dataset.
/// </summary>
public static class DatasetVerifier
{
    /// <param name="path">The dataset's folder.</param>
    /// <param name="quick">Files and sizes, and what opening the dataset refuses (the index's header, its group count): no checksums, no reading of shards.</param>
    /// <param name="ct">Stops the check.</param>
    /// <param name="progress">Told, on the enumerating thread, as each file or shard of each step is done (a full check of a large dataset reads all of it).</param>
    public static IEnumerable<DatasetProblem> Verify(string path, bool quick = false, CancellationToken ct = default, IProgress<VerifyProgress>? progress = null)
        => Verify(path, quick, keysWithParquetNetOnly: false, ct, progress);

    /// <inheritdoc cref="Verify(string, bool, CancellationToken, IProgress{VerifyProgress})"/>
    /// <param name="path">The dataset's folder.</param>
    /// <param name="quick">Files and sizes, and what opening refuses.</param>
    /// <param name="ct">Stops the check.</param>
    /// <param name="progress">Told as each step goes.</param>
    /// <param name="keysWithParquetNetOnly">Shards' keys read by Parquet.Net even where Grouper's page reader reads them (tests: the way taken for chunks that reader does not decode).</param>
    internal static IEnumerable<DatasetProblem> Verify(string path, bool quick, bool keysWithParquetNetOnly, CancellationToken ct = default, IProgress<VerifyProgress>? progress = null)
    {
        var root = Path.GetFullPath(path);
        var manifestPath = Path.Combine(root, DatasetManifest.FileName);
        if (!Directory.Exists(root)) { yield return new("manifest", root, $"There is no folder {root}."); yield break; }
        if (!File.Exists(manifestPath)) { yield return new("manifest", DatasetManifest.FileName, "The manifest is missing."); yield break; }
        DatasetManifest m;
        DatasetProblem? bad = null;
        try { m = DatasetManifest.Parse(File.ReadAllBytes(manifestPath), manifestPath); }
        catch (GrouperException ex) { bad = new("manifest", DatasetManifest.FileName, ex.Message); m = null!; }
        // Not readable (no permission, a link to nothing): a problem to report, not the runtime's exception.
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { bad = new("manifest", DatasetManifest.FileName, $"The manifest cannot be read: {ex.Message}"); m = null!; }
        if (bad is not null) { yield return bad; yield break; }

        bool filesOk = true;
        int files = m.Shards.Count + 1, filesDone = 0;
        foreach (var f in m.Shards.Cast<FileEntry>().Append(m.Index))
        {
            ct.ThrowIfCancellationRequested();
            progress?.Report(new("checksum", filesDone++, files));
            string? full = null;
            string? outside = null;
            try { full = GroupedDataset.Resolve(root, f.File); }
            catch (GrouperException ex) { outside = ex.Message; }
            if (full is null) { filesOk = false; yield return new("file", f.File, outside!); continue; }
            if (!File.Exists(full)) { filesOk = false; yield return new("file", f.File, "The file is missing."); continue; }
            long size = new FileInfo(full).Length;
            if (size != f.Bytes) { filesOk = false; yield return new("file", f.File, $"The file has {size} bytes; the manifest says {f.Bytes}."); continue; }
            if (!quick)
            {
                string? sum = null, unreadable = null;
                try { sum = FileChecksum.Compute(full); }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { unreadable = ex.Message; }
                if (unreadable is not null) { filesOk = false; yield return new("file", f.File, $"The file cannot be read: {unreadable}"); continue; }
                if (sum != f.Xxh3) { filesOk = false; yield return new("checksum", f.File, $"The xxHash3 is {sum}; the manifest says {f.Xxh3}."); }
            }
        }
        progress?.Report(new("checksum", files, files));
        if (m.Shards.Sum(s => s.Records) != m.RecordCount)
            yield return new("manifest", DatasetManifest.FileName, $"The shards hold {m.Shards.Sum(s => s.Records)} records; the manifest counts {m.RecordCount}.");
        if (!filesOk) yield break;
        if (quick)
        {
            // What opening refuses (the index's header and directory, its group count against the manifest's), every
            // reader refuses: cheap, as opening is, where checksums and shards are not.
            DatasetProblem? refused = null;
            try { GroupedDataset.Open(root).Dispose(); }
            catch (GrouperException ex) { refused = new("index", m.Index.File, ex.Message); }
            if (refused is not null) yield return refused;
            yield break;
        }

        var (schemaProblems, keysReadable) = CheckSchema(root, m, ct);
        foreach (var p in schemaProblems) yield return p;
        // The walk of the rows reads every shard's key column.
        if (!keysReadable) yield break;
        foreach (var p in CheckIndexAgainstShards(root, m, keysWithParquetNetOnly, ct, progress)) yield return p;
        foreach (var p in CheckStatistics(root, m, ct, progress)) yield return p;
    }

    /// <summary>
    /// Every shard's columns as a source reads them (the types an import takes from them) against the manifest's
    /// schema (<see cref="ShardSchema.Compare"/>): readers decode a column as the manifest types it. One problem per
    /// shard and column. Footers only; no progress of its own.
    /// </summary>
    private static (List<DatasetProblem> Problems, bool KeysReadable) CheckSchema(string root, DatasetManifest m, CancellationToken ct)
    {
        var problems = new List<DatasetProblem>();
        bool keysReadable = true;
        var manifest = m.Columns;
        foreach (var shard in m.Shards)
        {
            ct.ThrowIfCancellationRequested();
            var file = GroupedDataset.Resolve(root, shard.File);
            List<ColumnSpec> columns;
            try
            {
                using var r = new Sources.ParquetRecordReader(file);
                columns = Enumerable.Range(0, r.FieldCount).Select(i => r.GetDeclaredColumn(i)!).ToList();
            }
            catch (GrouperException ex)
            {
                problems.Add(new("schema", shard.File, $"The shard's columns cannot be read: {ex.Message}"));
                keysReadable = false;
                continue;
            }
            foreach (var d in ShardSchema.Compare(manifest, m.KeyColumn, columns))
            {
                if (d.Column == m.KeyColumn) keysReadable = false;
                problems.Add(new("schema", shard.File, $"Column '{d.Column}' {d.What}."));
            }
        }
        return (problems, keysReadable);
    }

    /// <summary>
    /// Every column chunk's minimum and maximum hold its values: engines skip a row group by them, so a value
    /// outside its chunk's bounds is lost to every filter that would match it. Checked on the values as they
    /// lie in the pages, uncompressed or of any codec Grouper writes (the chunks of encodings Grouper does not
    /// read, as in an imported file, are not checked). Shards written before 2026-11-30 kept the min/max Parquet.Net 6.1 writes for
    /// timestamp columns of micro- or nanoseconds, in milliseconds (StitchedParquetFile): those, told by their
    /// created_by, are named with what happened without reading their values. One problem per shard and column.
    /// </summary>
    private static IEnumerable<DatasetProblem> CheckStatistics(string root, DatasetManifest m, CancellationToken ct, IProgress<VerifyProgress>? progress)
    {
        var fineTimestamps = m.Schema.Where(c => c.Type == "timestamp" && c.Unit is "micros" or "nanos").Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var values = new PlainTextChunk(GrouperErrorKind.InvalidDataset);
        int done = 0;
        foreach (var shard in m.Shards)
        {
            ct.ThrowIfCancellationRequested();
            progress?.Report(new("statistics", done++, m.Shards.Count));
            var found = new SortedDictionary<string, string>(StringComparer.Ordinal);
            var file = GroupedDataset.Resolve(root, shard.File);
            using (var fs = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.RandomAccess))
            {
                // The footer was read back by the walk of the shards before this; a shard that failed it is reported there.
                ParquetLayout layout;
                try { layout = ParquetFooter.ReadLayout(fs); }
                catch (InvalidDataException) { continue; }
                bool parquetNet = layout.CreatedBy?.StartsWith("Parquet.Net", StringComparison.Ordinal) == true;
                var leaves = new Dictionary<string, ParquetLeaf>(StringComparer.Ordinal);
                foreach (var c in layout.Columns) leaves.TryAdd(c.Name, c);
                for (int g = 0; g < layout.RowGroups.Count; g++)
                {
                    var rg = layout.RowGroups[g];
                    foreach (var chunk in rg.Columns)
                    {
                        if (chunk.MetaData is not { PathInSchema: [var name], Statistics: { } st } || found.ContainsKey(name)) continue;
                        // min_value and max_value, or the deprecated min and max (of the same order for numbers only).
                        bool current = st.MinValue is not null || st.MaxValue is not null;
                        var min = current ? st.MinValue : st.Min;
                        var max = current ? st.MaxValue : st.Max;
                        if (min is null && max is null) continue;
                        if (parquetNet && fineTimestamps.Contains(name))
                        {
                            found[name] = $"Column '{name}' carries minimum and maximum statistics in milliseconds for timestamps of finer units (written through Parquet.Net 6.1 by Grouper before 2026-11-30): engines that filter by them skip matching rows. Rebuild the dataset.";
                            continue;
                        }
                        if (!leaves.TryGetValue(name, out var leaf) || BoundOrder.Of(leaf, current) is not { } order || rg.NumRows is < 0 or > int.MaxValue) continue;
                        int rows = (int)rg.NumRows;
                        bool read;
                        // The shard's checksum was right, so its pages are as written: what cannot be read is said, not skipped.
                        // A binary column's bounds are bytes, compared as bytes: its values are not text (a BLOB column of
                        // DuckDB's, imported, was called damaged for not being UTF-8).
                        values.Utf8Only = leaf.Physical != Parquet.Meta.Type.BYTE_ARRAY || leaf.Kind == ValueKind.String;
                        try { read = values.TryLoad(new RowGroupFile(fs.SafeFileHandle, file, rg), name, leaf.Nullable, rows, leaf.Physical, leaf.FixedLength); }
                        catch (Exception ex) when (ex is not OperationCanceledException)
                        {
                            found[name] = $"Column '{name}' of row group {g} cannot be read to check its statistics: {ex.Message}";
                            continue;
                        }
                        if (!read) continue;
                        if (order.Check(values, rows, min, max) is { } wrong)
                            found[name] = $"Column '{name}' of row group {g} {wrong}: engines that filter by them skip matching rows. Rebuild the dataset.";
                    }
                }
            }
            foreach (var message in found.Values) yield return new("statistics", shard.File, message);
        }
        progress?.Report(new("statistics", m.Shards.Count, m.Shards.Count));
    }

    /// <summary>How a column's values and its statistics' bounds compare: Parquet's order for the column's physical and logical type.</summary>
    private sealed class BoundOrder(Parquet.Meta.Type physical, bool unsigned, int size)
    {
        /// <summary>The order of <paramref name="leaf"/>'s values; null for booleans, and for text bounded by the deprecated min and max (their order is the writer's).</summary>
        public static BoundOrder? Of(ParquetLeaf leaf, bool currentFields) => leaf.Physical switch
        {
            Parquet.Meta.Type.INT32 or Parquet.Meta.Type.INT64 or Parquet.Meta.Type.FLOAT or Parquet.Meta.Type.DOUBLE =>
                new(leaf.Physical, leaf.Kind is ValueKind.UInt8 or ValueKind.UInt16 or ValueKind.UInt32 or ValueKind.UInt64,
                    leaf.Physical is Parquet.Meta.Type.INT32 or Parquet.Meta.Type.FLOAT ? 4 : 8),
            Parquet.Meta.Type.FIXED_LEN_BYTE_ARRAY when leaf.Kind == ValueKind.Decimal && leaf.FixedLength > 0 => new(leaf.Physical, false, leaf.FixedLength),
            Parquet.Meta.Type.BYTE_ARRAY when currentFields => new(leaf.Physical, true, -1),
            _ => null,
        };

        /// <summary>
        /// What is wrong with the bounds: a value below <paramref name="min"/> or above <paramref name="max"/> (the
        /// first, shown), or a bound of the wrong size for the type; null when all lie within (NaN is never a bound).
        /// </summary>
        public string? Check(PlainTextChunk values, int rows, byte[]? min, byte[]? max)
        {
            foreach (var bound in new[] { min, max })
                if (bound is not null && size > 0 && bound.Length != size)
                    return $"has statistics of {bound.Length} bytes for values of {size}";
            for (int r = 0; r < rows; r++)
            {
                if (values.IsNull(r)) continue;
                var v = values.GetUtf8(r);
                if (min is not null && Compare(v, min) < 0 || max is not null && Compare(v, max) > 0)
                    return $"holds {Show(v)}, outside its statistics (minimum {Show(min)}, maximum {Show(max)})";
            }
            return null;
        }

        // Negative, zero or positive as a is below, at or above b (of the same size for fixed-width types: checked above).
        private int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
        {
            switch (physical)
            {
                case Parquet.Meta.Type.INT32:
                    return unsigned ? BinaryPrimitives.ReadUInt32LittleEndian(a).CompareTo(BinaryPrimitives.ReadUInt32LittleEndian(b))
                        : BinaryPrimitives.ReadInt32LittleEndian(a).CompareTo(BinaryPrimitives.ReadInt32LittleEndian(b));
                case Parquet.Meta.Type.INT64:
                    return unsigned ? BinaryPrimitives.ReadUInt64LittleEndian(a).CompareTo(BinaryPrimitives.ReadUInt64LittleEndian(b))
                        : BinaryPrimitives.ReadInt64LittleEndian(a).CompareTo(BinaryPrimitives.ReadInt64LittleEndian(b));
                case Parquet.Meta.Type.FLOAT:
                    float fa = BinaryPrimitives.ReadSingleLittleEndian(a), fb = BinaryPrimitives.ReadSingleLittleEndian(b);
                    return float.IsNaN(fa) ? 0 : fa < fb ? -1 : fa > fb ? 1 : 0;
                case Parquet.Meta.Type.DOUBLE:
                    double da = BinaryPrimitives.ReadDoubleLittleEndian(a), db = BinaryPrimitives.ReadDoubleLittleEndian(b);
                    return double.IsNaN(da) ? 0 : da < db ? -1 : da > db ? 1 : 0;
                case Parquet.Meta.Type.FIXED_LEN_BYTE_ARRAY:
                    // Big-endian two's complement: the first byte signed, the rest as they are.
                    int first = ((sbyte)a[0]).CompareTo((sbyte)b[0]);
                    return first != 0 ? first : a[1..].SequenceCompareTo(b[1..]);
                default:
                    return a.SequenceCompareTo(b); // text: bytes unsigned, as Parquet orders UTF-8
            }
        }

        public string Show(ReadOnlySpan<byte> v)
        {
            var c = CultureInfo.InvariantCulture;
            return physical switch
            {
                Parquet.Meta.Type.INT32 when v.Length == 4 => unsigned ? BinaryPrimitives.ReadUInt32LittleEndian(v).ToString(c) : BinaryPrimitives.ReadInt32LittleEndian(v).ToString(c),
                Parquet.Meta.Type.INT64 when v.Length == 8 => unsigned ? BinaryPrimitives.ReadUInt64LittleEndian(v).ToString(c) : BinaryPrimitives.ReadInt64LittleEndian(v).ToString(c),
                Parquet.Meta.Type.FLOAT when v.Length == 4 => BinaryPrimitives.ReadSingleLittleEndian(v).ToString("R", c),
                Parquet.Meta.Type.DOUBLE when v.Length == 8 => BinaryPrimitives.ReadDoubleLittleEndian(v).ToString("R", c),
                Parquet.Meta.Type.BYTE_ARRAY when System.Text.Unicode.Utf8.IsValid(v) => $"'{Encoding.UTF8.GetString(v)}'",
                _ => $"0x{Convert.ToHexString(v)}",
            };
        }

        public string Show(byte[]? bound) => bound is null ? "none" : Show(bound.AsSpan());
    }

    private static IEnumerable<DatasetProblem> CheckIndexAgainstShards(string root, DatasetManifest m, bool keysWithParquetNetOnly, CancellationToken ct, IProgress<VerifyProgress>? progress)
    {
        GroupedDataset? ds = null;
        DatasetProblem? openProblem = null;
        try { ds = GroupedDataset.Open(root); }
        catch (GrouperException ex) { openProblem = new("index", m.Index.File, ex.Message); }
        if (openProblem is not null) { yield return openProblem; yield break; }
        using var _ = ds!;

        // The index is read twice rather than held: a GroupInfo and a key a group (2.7 million groups took 700 MB and
        // most of a 5-s check in the collector). First its entries as stored, for their key order (as UTF-8), counts,
        // and whether those with records are in storage order (shard, row), as a dataset built in one piece has them.
        var problems = new List<DatasetProblem>();
        var index = ds!.Index;
        byte[] data = [], previous = new byte[64];
        var raw = new GroupIndexReader.Entry[0];
        int previousLength = -1;
        long groups = 0, records = 0;
        bool inStorageOrder = true;
        (int Shard, long Row) lastStart = (-1, -1);
        for (int b = 0; b < index.BlockCount; b++)
        {
            int count = index.ReadBlockEntries(b, ref data, ref raw);
            for (int i = 0; i < count; i++)
            {
                ref var e = ref raw[i];
                var key = data.AsSpan(e.KeyStart, e.KeyLength);
                if (previousLength >= 0 && previous.AsSpan(0, previousLength).SequenceCompareTo(key) >= 0)
                {
                    string shown = Encoding.UTF8.GetString(key);
                    problems.Add(new("index", shown, $"The index is out of key order: '{shown}' follows '{Encoding.UTF8.GetString(previous, 0, previousLength)}'."));
                }
                if (previous.Length < key.Length) previous = new byte[Math.Max(key.Length, previous.Length * 2)];
                key.CopyTo(previous);
                previousLength = key.Length;
                groups++;
                records += e.RecordCount;
                if (e.RecordCount > 0)
                {
                    if ((e.Shard, e.RowOffset).CompareTo(lastStart) <= 0) inStorageOrder = false;
                    lastStart = (e.Shard, e.RowOffset);
                }
            }
        }
        if (groups != m.GroupCount) problems.Add(new("index", m.Index.File, $"The index lists {groups} groups; the manifest counts {m.GroupCount}."));
        if (records != m.RecordCount) problems.Add(new("index", m.Index.File, $"The index's groups hold {records} records; the manifest counts {m.RecordCount}."));
        foreach (var p in problems) yield return p;
        problems.Clear();

        // Then the entries with records in storage order: read again as they are, or (a merged dataset's) sorted by
        // where they start, 24 bytes an entry, and each fetched by its ordinal.
        var entries = inStorageOrder ? new StoredEntries(index) : (EntryCursor)new SortedEntries(ds);
        bool more = entries.MoveNext();

        // Walk the shards' rows once, matching each row's key to the group the index says holds it, as UTF-8 bytes:
        // the key column is read by Grouper's page reader, the index's keys as stored (a string only for a message).
        long inGroup = 0, unwalked = 0;
        using var keys = new ShardKeys(root, m, keysWithParquetNetOnly, ct);
        // The first mismatch ends the walk: past it, rows and entries are out of step and every later row would differ.
        for (int s = 0; s < m.Shards.Count && problems.Count == 0; s++)
        {
            progress?.Report(new("index", s, m.Shards.Count));
            long row = 0;
            keys.Open(s);
            while (keys.MoveNext())
            {
                // Entries are ordered by where they start; a group that spans shards continues here.
                if (inGroup == 0)
                {
                    if (!more) { problems.Add(new("shard", m.Shards[s].File, $"Row {row} belongs to no group in the index.")); break; }
                    if (entries.Shard != s || entries.Row != row)
                    {
                        string next = entries.KeyText;
                        problems.Add(new("group", next, $"The index says group '{next}' starts at row {entries.Row} of shard {entries.Shard}; the rows before it ({m.Shards[s].File}, row {row}) belong to no group."));
                        break;
                    }
                }
                if (!keys.Current.SequenceEqual(entries.Key))
                {
                    string group = entries.KeyText;
                    problems.Add(new("group", group, $"Row {row} of {m.Shards[s].File} has key '{Encoding.UTF8.GetString(keys.Current)}' but the index puts it in group '{group}'."));
                    break;
                }
                inGroup++;
                if (inGroup == entries.Count) { inGroup = 0; more = entries.MoveNext(); }
                row++;
            }
            if (row != m.Shards[s].Records && problems.Count == 0)
                problems.Add(new("shard", m.Shards[s].File, $"The shard has {row} rows; the manifest says {m.Shards[s].Records}."));
        }
        if (problems.Count == 0 && (more || inGroup != 0))
        {
            if (more) unwalked++;
            while (entries.MoveNext()) unwalked++;
            problems.Add(new("index", m.Index.File, $"{unwalked} group(s) of the index have no rows in the shards."));
        }
        progress?.Report(new("index", m.Shards.Count, m.Shards.Count));
        foreach (var p in problems) yield return p;
    }

    /// <summary>The index's groups with records, one at a time, in the order the shards hold them.</summary>
    private abstract class EntryCursor
    {
        public abstract bool MoveNext();
        /// <summary>The group's key as the index stores it (UTF-8).</summary>
        public abstract ReadOnlySpan<byte> Key { get; }
        public string KeyText => Encoding.UTF8.GetString(Key);
        public int Shard { get; protected set; }
        public long Row { get; protected set; }
        public long Count { get; protected set; }
    }

    /// <summary>An index in storage order (a dataset built in one piece): its entries as stored, block by block, without a GroupInfo or a string a group.</summary>
    private sealed class StoredEntries(GroupIndexReader index) : EntryCursor
    {
        private byte[] _data = [];
        private GroupIndexReader.Entry[] _entries = [];
        private int _block = -1, _count, _at;

        public override ReadOnlySpan<byte> Key => _data.AsSpan(_entries[_at].KeyStart, _entries[_at].KeyLength);

        public override bool MoveNext()
        {
            while (true)
            {
                if (++_at >= _count)
                {
                    if (++_block >= index.BlockCount) return false;
                    _count = index.ReadBlockEntries(_block, ref _data, ref _entries);
                    _at = -1;
                    continue;
                }
                ref var e = ref _entries[_at];
                if (e.RecordCount == 0) continue;
                (Shard, Row, Count) = (e.Shard, e.RowOffset, e.RecordCount);
                return true;
            }
        }
    }

    /// <summary>The index's groups with records, by where they start (shard, row), each read by its ordinal when its turn comes.</summary>
    private sealed class SortedEntries : EntryCursor
    {
        private readonly GroupedDataset _ds;
        private readonly List<(int Shard, long Row, long Ordinal)> _starts = [];
        private int _at = -1;
        private byte[] _key = [];
        private int _keyLength;

        public SortedEntries(GroupedDataset ds)
        {
            _ds = ds;
            foreach (var g in ds.EnumerateGroups())
                if (g.RecordCount > 0) _starts.Add((g.Shard, g.RowOffset, g.Ordinal));
            _starts.Sort();
        }

        public override ReadOnlySpan<byte> Key => _key.AsSpan(0, _keyLength);

        public override bool MoveNext()
        {
            if (++_at >= _starts.Count) return false;
            long ordinal = _starts[_at].Ordinal;
            var g = _ds.GetGroup(ordinal) ?? throw new GrouperException(GrouperErrorKind.InvalidDataset, $"The index has no group {ordinal}, which it listed.", _ds.Path);
            (Shard, Row, Count) = (g.Shard, g.RowOffset, g.RecordCount);
            _keyLength = Encoding.UTF8.GetByteCount(g.Key);
            if (_key.Length < _keyLength) _key = new byte[Math.Max(_keyLength, _key.Length * 2)];
            Encoding.UTF8.GetBytes(g.Key, _key);
            return true;
        }
    }

    /// <summary>
    /// The key of every row of a shard as UTF-8, one row group at a time: the key column read by Grouper's page
    /// reader (<see cref="PlainTextChunk"/>), or, for a chunk it does not read and for imported shards (whose key
    /// is made from the key columns, as the import made it), keys made as strings and encoded.
    /// </summary>
    private sealed class ShardKeys(string root, DatasetManifest m, bool parquetNetOnly, CancellationToken ct) : IDisposable
    {
        private readonly PlainTextChunk _chunk = new(GrouperErrorKind.InvalidDataset);
        private FileStream? _file;
        private ParquetLayout? _layout;
        private ParquetLeaf? _leaf;
        private string _path = "";
        private int _rowGroup, _rows, _row;
        private IEnumerator<string>? _strings; // keys made as strings (see above)
        private bool _encodedRow;              // the current key is in _encoded, not in the chunk
        private byte[] _encoded = new byte[64];
        private int _encodedLength;

        public ReadOnlySpan<byte> Current => _encodedRow ? _encoded.AsSpan(0, _encodedLength) : _chunk.GetUtf8(_row);

        public void Open(int shard)
        {
            Close();
            _path = GroupedDataset.Resolve(root, m.Shards[shard].File);
            _file = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.RandomAccess);
            _rowGroup = -1;
            _rows = _row = 0;
            if (m.KeyColumn is null)
            {
                _strings = ImportedKeys(_path).GetEnumerator();
                return;
            }
            try { _layout = ParquetFooter.ReadLayout(_file); }
            catch (InvalidDataException ex) { throw new GrouperException(GrouperErrorKind.InvalidDataset, $"The shard {_path} cannot be read: {ex.Message}", _path, inner: ex); }
            _leaf = _layout.Columns.FirstOrDefault(c => c.Name == m.KeyColumn);
        }

        public bool MoveNext()
        {
            _encodedRow = false;
            if (_strings is not null)
            {
                if (_strings.MoveNext()) return Encoded(_strings.Current);
                _strings.Dispose();
                _strings = null;
                if (m.KeyColumn is null) return false;
            }
            while (++_row >= _rows)
            {
                if (++_rowGroup >= _layout!.RowGroups.Count) return false;
                ct.ThrowIfCancellationRequested();
                var rg = _layout.RowGroups[_rowGroup];
                if (rg.NumRows is < 0 or > int.MaxValue) throw new GrouperException(GrouperErrorKind.InvalidDataset, $"The shard {_path} has a row group of {rg.NumRows} rows.", _path);
                _rows = (int)rg.NumRows;
                _row = -1;
                if (_leaf is null || parquetNetOnly || !_chunk.TryLoad(new RowGroupFile(_file!.SafeFileHandle, _path, rg), m.KeyColumn!, _leaf.Nullable, _rows))
                {
                    // Parquet.Net reads what Grouper's reader does not (or says what is wrong); then the next row group.
                    _row = _rows = 0;
                    _strings = ParquetNetKeys(_rowGroup).GetEnumerator();
                    return MoveNext();
                }
            }
            return !_chunk.IsNull(_row) || Encoded("");
        }

        private bool Encoded(string key)
        {
            _encodedLength = Encoding.UTF8.GetByteCount(key);
            if (_encoded.Length < _encodedLength) _encoded = new byte[Math.Max(_encodedLength, _encoded.Length * 2)];
            Encoding.UTF8.GetBytes(key, _encoded);
            _encodedRow = true;
            return true;
        }

        private IEnumerable<string> ParquetNetKeys(int rowGroup)
        {
            _file!.Position = 0;
            ParquetReader reader;
            try { reader = ParquetFooter.OpenReader(_file); }
            catch (InvalidDataException ex) { throw new GrouperException(GrouperErrorKind.InvalidDataset, $"The shard {_path} cannot be read: {ex.Message}", _path, inner: ex); }
            try
            {
                var field = reader.Schema.DataFields.First(f => f.Name == m.KeyColumn);
                using var rgr = reader.OpenRowGroupReader(rowGroup);
                var keys = new string?[rgr.RowCount];
                rgr.ReadAsync(field, keys.AsMemory(), null, ct).AsTask().GetAwaiter().GetResult();
                foreach (var k in keys) yield return k ?? "";
            }
            finally
            {
                reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }

        private IEnumerable<string> ImportedKeys(string file)
        {
            using var src = Sources.SourceFiles.Open(file, Sources.SourceFormat.Parquet);
            var ordinals = m.Key.Columns.Select(src.FindOrdinal).ToArray(); // a Parquet file's columns are known before its rows
            var key = new StringBuilder();
            while (src.Read())
            {
                ct.ThrowIfCancellationRequested();
                yield return KeyOf(src, ordinals, key);
            }
        }

        private void Close()
        {
            _strings?.Dispose();
            _strings = null;
            _file?.Dispose();
            _file = null;
            _layout = null;
        }

        public void Dispose() => Close();
    }

    // The key as a build makes it (KeyText.Compose's form for several columns), in one buffer for all the rows.
    private static string KeyOf(Sources.RecordReader r, int[] ordinals, StringBuilder sb)
    {
        sb.Clear();
        for (int i = 0; i < ordinals.Length; i++)
        {
            if (i > 0) sb.Append('|');
            KeyText.Append(r, ordinals[i], sb, escape: ordinals.Length > 1);
        }
        return sb.ToString();
    }
}
