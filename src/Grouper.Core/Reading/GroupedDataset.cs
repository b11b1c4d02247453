using Grouper.Format;
using Grouper.Schema;
using Parquet;

namespace Grouper.Reading;

/// <summary>
/// An open grouped dataset: its manifest, its groups (from the index, without touching records) and
/// each group's records, streamed one row group at a time so a group larger than memory streams too.
/// Not thread-safe: open one per thread.
/// </summary>
public sealed class GroupedDataset : IDisposable
{
    private readonly GroupIndexReader _index;
    private readonly Dictionary<int, (FileStream File, ParquetReader Reader, long[] RowGroupStarts)> _shards = new();

    private GroupedDataset(string path, DatasetManifest manifest, GroupIndexReader index)
    {
        Path = path;
        Manifest = manifest;
        Columns = manifest.Columns;
        _index = index;
    }

    public string Path { get; }
    public DatasetManifest Manifest { get; }
    public IReadOnlyList<ColumnSpec> Columns { get; }
    public long GroupCount => _index.GroupCount;

    /// <summary>Opens the dataset in folder <paramref name="path"/>: reads and validates the manifest and opens the index.</summary>
    public static GroupedDataset Open(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        var manifestPath = System.IO.Path.Combine(full, DatasetManifest.FileName);
        if (!Directory.Exists(full))
            throw new GrouperException(GrouperErrorKind.NotFound, $"There is no dataset at {full}.", full);
        if (!File.Exists(manifestPath))
            throw new GrouperException(GrouperErrorKind.InvalidDataset, $"{full} is not a Grouper dataset: it has no {DatasetManifest.FileName}.", full);
        var manifest = DatasetManifest.Parse(File.ReadAllBytes(manifestPath), manifestPath);
        foreach (var f in manifest.Shards.Cast<FileEntry>().Append(manifest.Index))
        {
            var p = Resolve(full, f.File);
            if (!File.Exists(p))
                throw new GrouperException(GrouperErrorKind.InvalidDataset, $"The dataset {full} is incomplete: {f.File} is missing.", p);
            long size = new FileInfo(p).Length;
            if (size != f.Bytes)
                throw new GrouperException(GrouperErrorKind.InvalidDataset, $"The dataset {full} is damaged: {f.File} has {size} bytes, the manifest says {f.Bytes}.", p);
        }
        var index = new GroupIndexReader(Resolve(full, manifest.Index.File));
        if (index.GroupCount != manifest.GroupCount)
        {
            index.Dispose();
            throw new GrouperException(GrouperErrorKind.InvalidDataset, $"The dataset {full} is damaged: the index has {index.GroupCount} groups, the manifest {manifest.GroupCount}.", full);
        }
        return new GroupedDataset(full, manifest, index);
    }

    internal static string Resolve(string root, string relative)
    {
        var p = System.IO.Path.GetFullPath(System.IO.Path.Combine(root, relative));
        // The manifest is data: never let it point outside the dataset.
        if (!p.StartsWith(root.TrimEnd(System.IO.Path.DirectorySeparatorChar) + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new GrouperException(GrouperErrorKind.InvalidDataset, $"The manifest of {root} names a file outside the dataset: {relative}.", root);
        return p;
    }

    /// <summary>All groups in storage order, with their sizes; reads only the index.</summary>
    public IEnumerable<GroupInfo> EnumerateGroups() => _index.Enumerate();

    /// <summary>The group at this storage position (0-based), or null; reads one index block.</summary>
    public GroupInfo? GetGroup(long ordinal) => _index.GetByOrdinal(ordinal);

    /// <summary>The group with this key, or null; reads one index block.</summary>
    public GroupInfo? FindGroup(string key) => _index.Find(key);

    /// <summary>One side of a split of the group's records (see <see cref="WithinGroupSplit"/>), in input order.</summary>
    public IEnumerable<object?[]> ReadRecords(GroupInfo group, WithinGroupSplit split, CancellationToken ct = default)
    {
        long i = 0;
        foreach (var r in ReadRecords(group, (IReadOnlyList<int>?)null, ct))
            if (split.Includes(group, i++)) yield return r;
    }

    /// <summary>The group's records in input order; each is an array of values aligned with <see cref="Columns"/>.</summary>
    public IEnumerable<object?[]> ReadRecords(GroupInfo group, CancellationToken ct = default) => ReadRecords(group, (IReadOnlyList<int>?)null, ct);

    /// <summary>The positions in <see cref="Columns"/> of these column names; an unknown name is an error.</summary>
    public int[] ColumnIndexes(IEnumerable<string> names) => names.Select(n =>
    {
        for (int i = 0; i < Columns.Count; i++) if (Columns[i].Name == n) return i;
        throw new GrouperException(GrouperErrorKind.MissingColumn, $"The dataset {Path} has no column '{n}' (columns: {string.Join(", ", Columns.Select(c => c.Name))}).", Path);
    }).ToArray();

    /// <summary>
    /// The group's records in input order, with only the columns at <paramref name="columns"/> (positions in
    /// <see cref="Columns"/>; null for all): the other columns are not even decoded.
    /// </summary>
    public IEnumerable<object?[]> ReadRecords(GroupInfo group, IReadOnlyList<int>? columns, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(group);
        var wanted = columns ?? Enumerable.Range(0, Columns.Count).ToArray();
        long remaining = group.RecordCount;
        int shard = group.Shard;
        long row = group.RowOffset;
        while (remaining > 0)
        {
            if (shard >= Manifest.Shards.Count)
                throw new GrouperException(GrouperErrorKind.InvalidDataset, $"The dataset {Path} is damaged: group '{group.Key}' runs past the last shard.", Path);
            var (_, reader, starts) = OpenShard(shard);
            int rg = Array.BinarySearch(starts, row);
            if (rg < 0) rg = ~rg - 1;
            for (; rg < reader.RowGroupCount && remaining > 0; rg++)
            {
                ct.ThrowIfCancellationRequested();
                var (loaded, count) = RowGroup(shard, reader, rg, wanted, ct);
                int from = (int)(row - starts[rg]);
                int take = (int)Math.Min(remaining, count - from);
                for (int i = from; i < from + take; i++)
                {
                    var values = new object?[wanted.Count];
                    for (int c = 0; c < values.Length; c++) values[c] = loaded[wanted[c]]!.Get(i);
                    yield return values;
                }
                remaining -= take;
                row += take;
            }
            shard++;
            row = 0;
        }
    }

    // The last row group read, its columns decoded as they are asked for: groups that follow each other
    // share row groups, so streaming all groups (or fetching neighbours) decodes each column chunk once.
    // Memory: one row group.
    private (int Shard, int RowGroup, ParquetRowGroupReader Reader, ShardColumn?[] Columns, int Count)? _lastRowGroup;

    private (ShardColumn?[] Columns, int Count) RowGroup(int shard, ParquetReader reader, int rg, IReadOnlyList<int> wanted, CancellationToken ct)
    {
        if (_lastRowGroup is not { } last || last.Shard != shard || last.RowGroup != rg)
        {
            _lastRowGroup?.Reader.Dispose();
            _lastRowGroup = null;
            var rgr = reader.OpenRowGroupReader(rg);
            last = (shard, rg, rgr, new ShardColumn?[Columns.Count], checked((int)rgr.RowCount));
            _lastRowGroup = last;
        }
        foreach (var c in wanted)
        {
            if (last.Columns[c] is not null) continue;
            var column = ShardColumn.Create(Field(reader, c), Columns[c]);
            column.Load(last.Reader, last.Count, ct);
            last.Columns[c] = column;
        }
        return (last.Columns, last.Count);
    }

    private Parquet.Schema.DataField Field(ParquetReader reader, int c)
    {
        // Grouper's shards: the key column, then the record's columns in manifest order. Imported shards
        // have no key column and may order columns their own way: find them by name.
        var fields = reader.Schema.DataFields;
        return Manifest.KeyColumn is not null && c + 1 < fields.Length && fields[c + 1].Name == Columns[c].Name
            ? fields[c + 1]
            : fields.FirstOrDefault(f => f.Name == Columns[c].Name)
              ?? throw new GrouperException(GrouperErrorKind.InvalidDataset, $"A shard of {Path} has no column '{Columns[c].Name}' (the manifest lists it).", Path);
    }

    private (FileStream, ParquetReader, long[]) OpenShard(int shard)
    {
        if (_shards.TryGetValue(shard, out var open)) return open;
        var path = Resolve(Path, Manifest.Shards[shard].File);
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.RandomAccess);
        ParquetReader reader;
        try
        {
            reader = ParquetReader.CreateAsync(fs, new ParquetOptions { UseDateOnlyTypeForDates = true }, leaveStreamOpen: true).GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            fs.Dispose();
            throw new GrouperException(GrouperErrorKind.InvalidDataset, $"The shard {path} cannot be read: {ex.Message}", path, inner: ex);
        }
        var starts = new long[reader.RowGroupCount];
        long total = 0;
        for (int i = 0; i < starts.Length; i++)
        {
            starts[i] = total;
            total += reader.RowGroups[i].RowCount;
        }
        open = (fs, reader, starts);
        _shards[shard] = open;
        return open;
    }

    public void Dispose()
    {
        _lastRowGroup?.Reader.Dispose();
        _lastRowGroup = null;
        foreach (var (fs, reader, _) in _shards.Values)
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
            fs.Dispose();
        }
        _shards.Clear();
        _index.Dispose();
    }
}
