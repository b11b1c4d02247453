using Grouper.Keys;

namespace Grouper.Writer;

/// <summary>Compression of the Parquet shards.</summary>
public enum ShardCompression { Snappy, Zstd, Gzip, None }

/// <summary>How a grouped dataset is built.</summary>
public sealed class BuildOptions
{
    /// <summary>The default memory budget: 256 MiB.</summary>
    public const long DefaultMemoryLimit = 256L << 20;

    /// <summary>How each record's group key is made.</summary>
    public required KeySpec Key { get; init; }

    /// <summary>
    /// Bytes of memory the build may use for records in flight (sort buffer, merge buffers, row-group
    /// buffers). The process uses some more for the runtime and libraries.
    /// </summary>
    public long MemoryLimit { get; init; } = DefaultMemoryLimit;

    /// <summary>Replace an existing dataset at the destination. Without it an existing destination is an error.</summary>
    public bool Overwrite { get; init; }

    /// <summary>
    /// Write the new dataset's files through to the disk (fsync) before committing it, so that a power loss
    /// cannot leave a committed dataset whose files lack their data. Replacing a dataset always does this
    /// (the old one is deleted only once the new one is on the disk); a new dataset does it when asked, as a
    /// build that a lost machine can rerun need not wait for the disk.
    /// </summary>
    public bool Durable { get; init; }

    /// <summary>Start a new shard once one holds this many bytes of encoded records (at a row-group boundary).</summary>
    public long ShardTargetBytes { get; init; } = 512L << 20;

    /// <summary>Largest number of rows in one Parquet row group.</summary>
    public int RowGroupMaxRows { get; init; } = 4096;

    /// <summary>Largest encoded size of one row group; the build lowers it to fit the memory budget.</summary>
    public long RowGroupTargetBytes { get; init; } = 32L << 20;

    public ShardCompression Compression { get; init; } = ShardCompression.Snappy;

    /// <summary>Every column encoded by Parquet.Net (what Zstd and Gzip shards use): tests compare the two encoders.</summary>
    internal bool EncodeWithParquetNetOnly { get; init; }

    /// <summary>Tests: text columns always PLAIN, never runs as a dictionary (to compare with Parquet.Net's bytes).</summary>
    internal bool PlainTextOnly { get; init; }

    /// <summary>For tests: the time zone of timestamps of local time (<see cref="DateTimeKind.Local"/>) instead of this machine's.</summary>
    internal TimeZoneInfo? LocalTimeZone { get; init; }

    /// <summary>
    /// For tests: shards as Grouper wrote them before 2026-11-30 15:30, with Parquet.Net's created_by and the min/max
    /// it writes for timestamps of micro- or nanoseconds (wrong; with <see cref="EncodeWithParquetNetOnly"/>).
    /// </summary>
    internal bool AsShardsBeforeTimestampFix { get; init; }

    /// <summary>
    /// Records of at least this many bytes (encoded) are merged and written in two halves by key at once, on
    /// two threads (<see cref="KeyHalves"/>): a 1 GB build's writing phase 11-17% shorter, a 100 MB build's
    /// no shorter. Tests lower it to write small builds in halves, or raise it to keep them whole.
    /// </summary>
    internal long HalvesFromBytes { get; init; } = 256L << 20;

    /// <summary>Tests: the shards the first half is taken to make (when wrong, the second half's index entries are renumbered).</summary>
    internal int? HalvesExpectedShards { get; init; }

    /// <summary>Least time between two reports to <see cref="Progress"/> (progress is costly for hosts that draw it); tests set zero.</summary>
    internal TimeSpan ProgressInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Folder for spill runs (a faster or larger disk). The build spills into a subfolder named after its
    /// work folder and deletes it when done; if the process dies, the next writer of the same destination
    /// deletes it. Default: inside the build's temporary folder beside the destination.
    /// </summary>
    public string? SpillDirectory { get; init; }

    /// <summary>Receives progress now and then (not per record).</summary>
    public IProgress<BuildProgress>? Progress { get; init; }

    /// <summary>
    /// Only count: records keep their key and size but not their values, and nothing is written
    /// (<see cref="GroupedDatasetBuilder.Preview"/>).
    /// </summary>
    public bool KeysOnly { get; init; }

    /// <summary>
    /// Build one part of a sharded build: keep only the groups whose key hashes to this worker
    /// (<see cref="WorkerSplit.Key"/>), or read only this worker's share of the input files
    /// (<see cref="WorkerSplit.File"/>, applied by the caller that lists the files). Parts combine with
    /// <see cref="Format.DatasetMerger"/>.
    /// </summary>
    public WorkerShare? Worker { get; init; }

    /// <summary>Free-form description of how keys were made beyond <see cref="KeySpec.Describe"/> (a scheme's parameters), recorded in the manifest.</summary>
    public IReadOnlyDictionary<string, string>? KeyParameters { get; init; }

    /// <summary>The sources the manifest lists, in place of the readers the build was given (a merge's rewrite of its parts).</summary>
    internal IReadOnlyList<Format.SourceFileInfo>? Sources { get; init; }
}

/// <summary>Where a build is.</summary>
public enum BuildPhase { Reading, Merging, Writing, Verifying, Committing, Done }

/// <summary>
/// A snapshot of a build's progress. <see cref="BytesRead"/> counts the files read whole and how far the
/// reader is into the current one (on disk: compressed bytes of a .gz file).
/// </summary>
public sealed record BuildProgress(
    BuildPhase Phase,
    long RecordsRead,
    long BytesRead,
    long RecordsWritten,
    long GroupsWritten,
    int SpillRuns,
    string? CurrentSource)
{
    /// <summary>Bytes of input the build was told to expect (<see cref="GroupedDatasetBuilder.ExpectInput"/>); 0 when it was not.</summary>
    public long InputBytes { get; init; }

    /// <summary>Records the build was told to expect (a merge that writes its parts again knows them); 0 when it was not.</summary>
    public long InputRecords { get; init; }

    /// <summary>Size of the file being read; 0 when none is, or when its reader cannot tell how far it is.</summary>
    public long SourceBytes { get; init; }

    /// <summary>How far into <see cref="SourceBytes"/> the reader is.</summary>
    public long SourceBytesRead { get; init; }

    /// <summary>
    /// How much of the input has been read, from 0 to 1: of the records or bytes the build was told to expect,
    /// else of the file being read; -1 when the build cannot tell (records from the pipeline).
    /// </summary>
    public double ReadFraction =>
        InputRecords > 0 ? Math.Min(1.0, (double)RecordsRead / InputRecords)
        : InputBytes > 0 ? Math.Min(1.0, (double)BytesRead / InputBytes)
        : SourceBytes > 0 ? Math.Min(1.0, (double)SourceBytesRead / SourceBytes)
        : -1;

    /// <summary>Time since the build entered <see cref="Phase"/>.</summary>
    public TimeSpan PhaseElapsed { get; init; }

    /// <summary>
    /// How much of <see cref="Phase"/> is done, from 0 to 1: <see cref="ReadFraction"/> while reading, the
    /// records written of those read while writing; -1 when the build cannot tell (and in the short phases).
    /// </summary>
    public double PhaseFraction => Phase switch
    {
        BuildPhase.Reading => ReadFraction,
        BuildPhase.Writing when RecordsRead > 0 => Math.Min(1.0, (double)RecordsWritten / RecordsRead),
        _ => -1,
    };

    /// <summary>
    /// The time <see cref="Phase"/> should still take at the pace it has gone so far (its elapsed time times
    /// what is left over what is done); null until a second of it and a hundredth of its work have gone, when
    /// the pace says little, and where <see cref="PhaseFraction"/> is unknown.
    /// </summary>
    public TimeSpan? PhaseRemaining
    {
        get
        {
            double f = PhaseFraction;
            if (f < 0.01 || f >= 1 || PhaseElapsed < TimeSpan.FromSeconds(1)) return null;
            return TimeSpan.FromSeconds(PhaseElapsed.TotalSeconds * (1 - f) / f);
        }
    }
}

/// <summary>How a sharded build divides the work among workers.</summary>
public enum WorkerSplit
{
    /// <summary>Every worker reads all input; worker i keeps the groups with xxh3_64(UTF-8 key, 0) mod n = i.</summary>
    Key,
    /// <summary>Worker i reads the input files at positions i, i+n, i+2n… of the ordered file list and keeps all their groups.</summary>
    File,
}

/// <summary>One worker's share of a sharded build.</summary>
public sealed record WorkerShare(int Index, int Count, WorkerSplit Split = WorkerSplit.Key)
{
    public void Validate()
    {
        if (Count < 1 || Index < 0 || Index >= Count)
            throw new GrouperException(GrouperErrorKind.InvalidArgument, $"The worker index must be between 0 and {Count - 1} (it is {Index} of {Count}).");
    }

    /// <summary>The worker that keeps a group, for key splits: xxh3_64 of the key's UTF-8 bytes, seed 0, modulo the worker count.</summary>
    public static int WorkerOf(ReadOnlySpan<byte> utf8Key, int count) => (int)(System.IO.Hashing.XxHash3.HashToUInt64(utf8Key) % (ulong)count);

    /// <summary>The files this worker reads, for file splits: every n-th of the ordered list, from position i.</summary>
    public IEnumerable<string> FilesOf(IReadOnlyList<string> orderedFiles) =>
        Split == WorkerSplit.File ? orderedFiles.Where((_, i) => i % Count == Index) : orderedFiles;
}
