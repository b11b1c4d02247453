namespace Grouper.PowerShell;

/// <summary>A grouped dataset, as Get-GroupedDataset and New-GroupedDataset describe it.</summary>
public sealed class GroupedDatasetInfo
{
    public required string Path { get; init; }
    /// <summary>The same as <see cref="Path"/>, so datasets pipe into -LiteralPath of the other cmdlets.</summary>
    public string PSPath => Path;
    public int FormatVersion { get; init; }
    public long GroupCount { get; init; }
    public long RecordCount { get; init; }
    public long ByteCount { get; init; }
    public long LargestGroupRecords { get; init; }
    public required string Key { get; init; }
    public required string[] KeyColumns { get; init; }
    public required string[] Columns { get; init; }
    public int ShardCount { get; init; }
    public long SizeOnDisk { get; init; }
    public required string[] Sources { get; init; }
    /// <summary>Group-size statistics recorded at build time (Grouper.Stats.GroupSizeStats).</summary>
    public object? Stats { get; init; }
    /// <summary>The whole manifest (Grouper.Format.DatasetManifest).</summary>
    public required object Manifest { get; init; }
}

/// <summary>One group of a dataset, from its index.</summary>
public sealed class GroupEntry
{
    public required string Key { get; init; }
    public long RecordCount { get; init; }
    public long ByteCount { get; init; }
    public long Ordinal { get; init; }
    public int Shard { get; init; }
    public long RowOffset { get; init; }
    public required string DatasetPath { get; init; }
    /// <summary>The federated round this group was sampled for (with -GroupsPerRound), else null.</summary>
    public int? Round { get; init; }
    /// <summary>0-based position in the selected stream: pass it to -Skip to resume after this group (groups found by -Key: their place among those found).</summary>
    public long Position { get; init; }
}

/// <summary>One problem Test-GroupedDataset found.</summary>
public sealed class DatasetProblemInfo
{
    public required string DatasetPath { get; init; }
    /// <summary>manifest, file, checksum, index, shard, group or statistics.</summary>
    public required string Check { get; init; }
    public required string Target { get; init; }
    public required string Message { get; init; }
}

/// <summary>A group a build would make (New-GroupedDataset -Preview).</summary>
public sealed class GroupPreview
{
    public required string Key { get; init; }
    public long RecordCount { get; init; }
    public long ByteCount { get; init; }
}

/// <summary>Group counts, the distribution of group sizes (records per group) and, when asked, label heterogeneity and text size.</summary>
public sealed class GroupStats
{
    public string? DatasetPath { get; init; }
    public long GroupCount { get; init; }
    public long RecordCount { get; init; }
    public long ByteCount { get; init; }
    public long MinRecords { get; init; }
    public long MaxRecords { get; init; }
    public double MeanRecords { get; init; }
    public double MedianRecords { get; init; }
    public long P10Records { get; init; }
    public long P90Records { get; init; }
    public long P99Records { get; init; }
    public double StdDevRecords { get; init; }
    public double Gini { get; init; }
    /// <summary>Share of records in the largest 1% of groups.</summary>
    public double Top1PercentShare { get; init; }
    public string? LabelColumn { get; init; }
    /// <summary>Labels of the whole dataset; a missing (null or blank) label is none of them.</summary>
    public int? LabelCount { get; init; }
    /// <summary>Records of the groups measured whose label is null or blank, left out of the label measures.</summary>
    public long? MissingLabels { get; init; }
    public double? MeanDistinctLabels { get; init; }
    public double? MeanEntropy { get; init; }
    public double? MeanJensenShannon { get; init; }
    public double? MaxJensenShannon { get; init; }
    public double? MeanHellinger { get; init; }
    public double? MaxHellinger { get; init; }
    public double? MeanEarthMovers { get; init; }
    public double? MaxEarthMovers { get; init; }
    public string? TextColumn { get; init; }
    public long? TotalWords { get; init; }
    public long? TotalCharacters { get; init; }
    public double? MeanWords { get; init; }
    public double? MeanCharacters { get; init; }
}

/// <summary>One group's measures (Measure-GroupStats -PerGroup), flat so it pipes to Export-Csv.</summary>
public sealed class GroupStatsRow
{
    public required string Key { get; init; }
    public long RecordCount { get; init; }
    public long ByteCount { get; init; }
    public int? DistinctLabels { get; init; }
    public double? Entropy { get; init; }
    public double? JensenShannon { get; init; }
    public double? Hellinger { get; init; }
    public double? EarthMovers { get; init; }
    /// <summary>Records whose label is null or blank; a group of only such records has no entropy or distances.</summary>
    public long? MissingLabels { get; init; }
    public long? Words { get; init; }
    public long? Characters { get; init; }
}

/// <summary>Synthetic partition schemes of New-GroupedDataset -Scheme.</summary>
public enum PartitionScheme { Iid, Dirichlet, Shard, SizeSkew }

/// <summary>Dirichlet recipes: proportions per label over groups, or per group over labels.</summary>
public enum DirichletVariant { PerLabel, PerGroup }

/// <summary>Group-size curves of the SizeSkew scheme.</summary>
public enum GroupSizeCurve { Linear, Square, Exponential, PowerLaw }

/// <summary>How a sharded build divides the work: by key (every worker reads all input) or by input file.</summary>
public enum SplitBy { Key, File }

/// <summary>How shards get into a merged or imported dataset.</summary>
public enum TransferMode { Link, Copy, Move }

/// <summary>Which side of a split to read.</summary>
public enum Side { Train, Test }

/// <summary>Input formats; Auto tells by the file extension.</summary>
public enum InputFormat { Auto, Csv, Tsv, JsonLines, Parquet }

/// <summary>How delimited text inputs are quoted: Standard (RFC 4180), or None (quotes are ordinary characters; a record is one line).</summary>
public enum InputQuoting { Standard, None }
