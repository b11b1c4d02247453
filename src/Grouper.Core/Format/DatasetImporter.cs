using System.Text;
using Grouper.Keys;
using Grouper.Schema;
using Grouper.Sources;
using Grouper.Stats;
using Grouper.Util;
using Grouper.Writer;

namespace Grouper.Format;

/// <summary>
/// Adopts Parquet files that are already grouped (Spark's repartition + sortWithinPartitions, DuckDB's
/// ORDER BY with PARTITION_BY): one streaming pass checks that every group is contiguous and lies in one
/// file, then an index and a manifest are written, in place or into a new dataset that links or copies
/// the files. The records are not rewritten.
/// </summary>
public static class DatasetImporter
{
    /// <summary>
    /// The Parquet files of a folder (or the one file), in the order a build reads them; none inside
    /// <paramref name="destination"/>: a source folder that holds the destination holds that dataset's shards too
    /// once it is written, which an import again with -Force took for source files.
    /// </summary>
    private static List<string> ParquetFiles(string source, string? destination) =>
        SourceFiles.Expand(source).Where(f => SourceFiles.TryDetectFormat(f, out var fmt) && fmt == SourceFormat.Parquet
            && (destination is null || !SourceFiles.IsWithin(f, destination))).ToList();

    /// <summary>
    /// Builds a new grouped dataset from the Parquet files under <paramref name="source"/> instead (files whose
    /// groups are not contiguous): a build of those files, its progress measured against all their bytes.
    /// </summary>
    public static DatasetManifest Regroup(string source, string destination, BuildOptions options, CancellationToken ct = default)
    {
        var files = ParquetFiles(source, destination);
        using var builder = new GroupedDatasetBuilder(destination, options);
        builder.ExpectFiles(files);
        foreach (var f in files)
            using (var r = SourceFiles.Open(f)) builder.AddAll(r, ct);
        return builder.Complete(ct);
    }

    /// <summary>
    /// The files' columns as they name them. A build gives an input column named as the shards' key column
    /// (a dataset's shards read again) a name of its own in the shards it writes (<see cref="SchemaBuilder"/>);
    /// an import links the files as they are, and its manifest has no key column (keyColumn null), so readers
    /// find every column by the files' name: under the build's name, a re-indexed dataset could not be read.
    /// </summary>
    private static List<ColumnInfo> ImportedSchema(SchemaBuilder schema) =>
        schema.ToSpecs().Select((c, i) => ColumnInfo.From(c with { Name = schema[i].Name })).ToList();

    /// <param name="source">A folder of Parquet files, or a wildcard.</param>
    /// <param name="key">The key; columns (or a function) of the records.</param>
    /// <param name="destination">A new dataset folder, or null to write the index and manifest into the source folder.</param>
    /// <param name="overwrite">Replace an existing dataset (or, in place, an existing manifest).</param>
    /// <param name="transfer">How files get into a new dataset: linked (default), copied, or moved.</param>
    /// <param name="memoryLimit">Memory for sorting the group entries.</param>
    /// <param name="ct">Stops the import; nothing is left behind.</param>
    /// <param name="durable">Write the new files through to the disk before committing them (<see cref="BuildOptions.Durable"/>).</param>
    public static DatasetManifest Import(string source, KeySpec key, string? destination, bool overwrite = false,
        ShardTransfer transfer = ShardTransfer.Link, long memoryLimit = BuildOptions.DefaultMemoryLimit, CancellationToken ct = default, bool durable = false)
    {
        var files = ParquetFiles(source, destination);
        if (files.Count == 0) throw new GrouperException(GrouperErrorKind.NotFound, $"{source} holds no Parquet files{(destination is null ? "" : " outside the destination")}.", source);
        bool inPlace = destination is null;
        string root = inPlace ? (Directory.Exists(source) ? DatasetCommit.FullPath(source) : Path.GetDirectoryName(files[0])!) : DatasetCommit.FullPath(destination!);
        using var writerLock = DestinationLock.Acquire(root);
        if (!inPlace) DatasetCommit.Recover(root);
        if (inPlace && File.Exists(Path.Combine(root, DatasetManifest.FileName)) && !overwrite)
            throw new GrouperException(GrouperErrorKind.DestinationExists, $"{root} already has a {DatasetManifest.FileName}; use -Force to replace it.", root);
        if (inPlace && files.Any(f => !Path.GetFullPath(f).StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal)))
            throw new GrouperException(GrouperErrorKind.InvalidArgument, $"To import in place, the files must be inside {root}.", root);
        if (!inPlace)
        {
            if (!overwrite && (Directory.Exists(root) || File.Exists(root)))
                throw new GrouperException(GrouperErrorKind.DestinationExists, $"The destination {root} exists. Choose another destination or replace it (-Force).", root);
            DatasetCommit.EnsureReplaceable(root);
        }

        key.Reset();
        var parent = inPlace ? root : Path.GetDirectoryName(root)!;
        Directory.CreateDirectory(parent);
        var work = DatasetCommit.NewWorkFolder(parent, Path.GetFileName(root));
        Directory.CreateDirectory(work);
        bool committed = false;
        try
        {
            var schema = new SchemaBuilder();
            var sourcesInfo = new List<SourceFileInfo>();
            var rowGroupCounts = new List<int>();
            IReadOnlyList<ColumnSpec>? firstSpecs = null;
            using var sorter = new ExternalSorter(Path.Combine(work, "spill"), memoryLimit / 2, memoryLimit / 2,
                (int)Math.Clamp(memoryLimit / 1024, 64 << 10, 1 << 20), 128);
            var row = new ByteBuffer();
            var entry = new ByteBuffer(64);
            var keyText = new StringBuilder();
            long total = 0;
            for (int f = 0; f < files.Count; f++)
            {
                using var reader = SourceFiles.Open(files[f], SourceFormat.Parquet);
                // A build reads a nested column as JSON text; an import keeps the files as they are, and the dataset
                // reader reads flat columns only.
                if (((ParquetRecordReader)reader).FirstNestedColumn is { } nested)
                    throw new GrouperException(GrouperErrorKind.SchemaMismatch,
                        $"Column '{nested}' of {files[f]} is nested (a list, map or struct): an import uses the files as they are, and a dataset's shards hold flat columns. Regroup them instead (-Regroup), which writes nested values as their JSON text.", files[f]);
                var specs = Enumerable.Range(0, reader.FieldCount).Select(i => reader.GetDeclaredColumn(i)!).ToList();
                if (firstSpecs is null) firstSpecs = specs;
                else if (!specs.SequenceEqual(firstSpecs))
                    throw new GrouperException(GrouperErrorKind.SchemaMismatch,
                        $"The schema of {files[f]} ({string.Join(", ", specs)}) differs from that of {files[0]} ({string.Join(", ", firstSpecs)}).", files[f]);
                var map = schema.Bind(reader);
                var extractor = key.Bind(reader);
                byte[] current = [];
                long start = 0, count = 0, bytes = 0, rowIndex = 0;
                void Emit()
                {
                    if (count == 0) return;
                    entry.Clear();
                    entry.WriteVarInt((ulong)f); entry.WriteVarInt((ulong)start); entry.WriteVarInt((ulong)count); entry.WriteVarInt((ulong)bytes);
                    sorter.Add(current, entry.Span);
                }
                while (reader.Read())
                {
                    extractor.GetKey(reader, keyText);
                    var k = Encoding.UTF8.GetBytes(keyText.ToString());
                    row.Clear();
                    RowCodec.Encode(reader, map, schema, row);
                    if (count == 0 || !k.AsSpan().SequenceEqual(current))
                    {
                        Emit();
                        current = k;
                        start = rowIndex;
                        count = 0;
                        bytes = 0;
                    }
                    count++;
                    bytes += row.Length;
                    rowIndex++;
                    if ((++total & 0x3FFF) == 0) ct.ThrowIfCancellationRequested();
                }
                Emit();
                sourcesInfo.Add(new SourceFileInfo { Path = files[f], Bytes = new FileInfo(files[f]).Length, Records = rowIndex });
                rowGroupCounts.Add(((ParquetRecordReader)reader).RowGroupCount);
            }

            // In key order, one entry per group; a key seen twice was split (within a file, or across files).
            var indexPath = Path.Combine(work, "index.gidx");
            var sizes = new GroupSizeStats.Accumulator();
            long groups = 0, records = 0, allBytes = 0, largest = 0;
            string checksum;
            long indexLength;
            using (var index = new GroupIndexWriter(indexPath))
            using (var sorted = sorter.Sorted(ct))
            {
                byte[]? last = null;
                (int File, long Start) lastAt = default;
                while (sorted.MoveNext())
                {
                    var payload = sorted.Row;
                    int pos = 0;
                    int file = (int)VarInt.Read(payload, ref pos);
                    long start = (long)VarInt.Read(payload, ref pos), count = (long)VarInt.Read(payload, ref pos), bytes = (long)VarInt.Read(payload, ref pos);
                    if (last is not null && sorted.Key.SequenceEqual(last))
                    {
                        var where = lastAt.File == file ? $"at rows {lastAt.Start + 1} and {start + 1} of {files[file]}" : $"in {files[lastAt.File]} (row {lastAt.Start + 1}) and in {files[file]} (row {start + 1})";
                        throw new GrouperException(GrouperErrorKind.InvalidData,
                            $"Group '{Encoding.UTF8.GetString(sorted.Key)}' is not contiguous in one file: it appears {where}. Regroup the files instead (-Regroup).", files[file], start + 1);
                    }
                    last = sorted.Key.ToArray();
                    lastAt = (file, start);
                    index.Add(sorted.Key, file, start, count, bytes);
                    sizes.Add(count, bytes);
                    groups++; records += count; allBytes += bytes; largest = Math.Max(largest, count);
                }
                index.Finish();
                checksum = index.Checksum!;
                indexLength = index.Length;
            }

            var shards = new List<ShardInfo>();
            for (int f = 0; f < files.Count; f++)
            {
                string rel;
                if (inPlace) rel = Path.GetRelativePath(root, files[f]).Replace(Path.DirectorySeparatorChar, '/');
                else
                {
                    rel = ShardWriter.ShardFileName(f);
                    Directory.CreateDirectory(Path.Combine(work, "data"));
                    DatasetMerger.Transfer(files[f], Path.Combine(work, rel), transfer == ShardTransfer.Move ? ShardTransfer.Copy : transfer);
                }
                shards.Add(new ShardInfo { File = rel, Bytes = new FileInfo(files[f]).Length, Xxh3 = FileChecksum.Compute(files[f]), Records = sourcesInfo[f].Records, RowGroups = rowGroupCounts[f] });
            }
            var manifest = new DatasetManifest
            {
                CreatedBy = DatasetManifest.CreatedByThisVersion,
                KeyColumn = null,
                Key = new KeyInfo { Kind = key.KindName, Columns = key.Columns.ToArray(), Description = key.Describe() },
                Schema = ImportedSchema(schema),
                GroupCount = groups,
                RecordCount = records,
                ByteCount = allBytes,
                LargestGroupRecords = largest,
                Stats = sizes.Result(),
                StorageOrder = "files",
                Sources = sourcesInfo,
                Shards = shards,
                Index = new FileEntry { File = "index.gidx", Bytes = indexLength, Xxh3 = checksum },
            };
            sorter.Dispose();
            if (inPlace)
            {
                // The files stay. The index goes in under a name of its own and the manifest, which names it,
                // replaces the old one last in one rename: a crash leaves the old dataset or the new one.
                var indexName = $"index-{checksum[..8]}.gidx";
                manifest = new DatasetManifest
                {
                    CreatedBy = manifest.CreatedBy, KeyColumn = null, Key = manifest.Key, Schema = manifest.Schema, GroupCount = manifest.GroupCount,
                    RecordCount = manifest.RecordCount, ByteCount = manifest.ByteCount, LargestGroupRecords = manifest.LargestGroupRecords, Stats = manifest.Stats,
                    StorageOrder = manifest.StorageOrder, Sources = manifest.Sources, Shards = manifest.Shards,
                    Index = new FileEntry { File = indexName, Bytes = indexLength, Xxh3 = checksum },
                };
                File.WriteAllBytes(Path.Combine(work, DatasetManifest.FileName), manifest.ToJson());
                // Replacing a manifest deletes the old index: the new index and manifest on the disk first,
                // then their renames, as a replaced dataset is (DatasetCommit.MoveIntoPlace).
                bool sync = durable || File.Exists(Path.Combine(root, DatasetManifest.FileName));
                if (sync) Durable.FlushTree(work);
                File.Move(indexPath, Path.Combine(root, indexName), overwrite: true);
                File.Move(Path.Combine(work, DatasetManifest.FileName), Path.Combine(root, DatasetManifest.FileName), overwrite: true);
                committed = true;
                if (sync) Durable.FlushFolder(root);
                foreach (var old in Directory.GetFiles(root, "index*.gidx").Where(f => Path.GetFileName(f) != indexName)) File.Delete(old);
                Directory.Delete(work, true);
            }
            else
            {
                File.WriteAllBytes(Path.Combine(work, DatasetManifest.FileName), manifest.ToJson());
                // Moved files are deleted from the source after the commit: their copies must be on the disk first.
                DatasetCommit.MoveIntoPlace(work, root, overwrite, durable || transfer == ShardTransfer.Move);
                committed = true;
            }
            if (transfer == ShardTransfer.Move && !inPlace) foreach (var f in files) File.Delete(f);
            return manifest;
        }
        catch (Exception ex)
        {
            try { if (Directory.Exists(work)) Directory.Delete(work, true); } catch (IOException) { }
            // A full disk, a failed link or copy, a write-through the device refused: said as a build says it.
            if (ex is IOException or UnauthorizedAccessException)
                throw committed
                    ? new GrouperException(GrouperErrorKind.WriteFailed, $"The dataset {root} was committed, but cleaning up after it failed: {ex.Message}.", root, inner: ex)
                    : GrouperException.WriteFailed($"the dataset {root}", root, ex);
            throw;
        }
    }
}
