using System.Management.Automation;
using Grouper.Format;
using Grouper.Reading;
using Grouper.Stats;

namespace Grouper.PowerShell.Commands;

/// <summary>
/// Group count, records, bytes and the distribution of group sizes, from a dataset's index or from groups
/// on the pipeline; with -LabelColumn, label heterogeneity; with -TextColumn, words and characters;
/// with -PerGroup, one row per group.
/// </summary>
[Cmdlet(VerbsDiagnostic.Measure, "GroupStats", DefaultParameterSetName = "Path")]
[OutputType(typeof(GroupStats), typeof(GroupStatsRow))]
public sealed class MeasureGroupStatsCommand : DatasetPathCmdlet, IDisposable
{
    [Parameter(Mandatory = true, ParameterSetName = "Group", ValueFromPipeline = true)]
    [ValidateNotNull]
    public GroupEntry[] InputObject { get; set; } = [];

    /// <summary>Measure each group's label mix against the whole dataset's (reads the records).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(DatasetColumnCompleter))]
    public string? LabelColumn { get; set; }

    /// <summary>Count words (split on Unicode whitespace) and characters of this column (reads the records).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(DatasetColumnCompleter))]
    public string? TextColumn { get; set; }

    /// <summary>Emit one row per group instead of the summary.</summary>
    [Parameter]
    public SwitchParameter PerGroup { get; set; }

    private readonly List<GroupEntry> _piped = new();
    private readonly DatasetCache _datasets = new();
    private readonly CancellationTokenSource _cts = new();

    protected override void ProcessRecord()
    {
        if (ParameterSetName == "Group")
        {
            _piped.AddRange(InputObject);
            return;
        }
        foreach (var path in ResolveDatasetPaths())
        {
            try
            {
                var ds = _datasets.Get(path, SessionState);
                Measure(ds, ds.EnumerateGroups(), ds.Path);
            }
            catch (GrouperException ex)
            {
                WriteError(ToErrorRecord(ex, "MeasureDataset", path));
            }
        }
    }

    protected override void EndProcessing()
    {
        if (ParameterSetName != "Group") return;
        foreach (var byDataset in _piped.GroupBy(g => g.DatasetPath))
        {
            try
            {
                var ds = _datasets.Get(byDataset.Key, SessionState);
                Measure(ds, FindAgain(ds, byDataset), ds.Path);
            }
            catch (GrouperException ex)
            {
                WriteError(ToErrorRecord(ex, "MeasureGroups", byDataset.Key));
            }
        }
    }

    // A piped group's shard and rows are where they were when Get-Group read the index, and the dataset may
    // have been built again since: each group is found again by key, as Get-GroupRecord finds it. A group
    // piped more than once would weigh twice in every statistic, so it is measured once.
    private List<GroupInfo> FindAgain(GroupedDataset ds, IEnumerable<GroupEntry> entries)
    {
        var groups = new List<GroupInfo>();
        var seen = new HashSet<long>();
        long repeated = 0;
        foreach (var e in entries)
        {
            var g = ds.FindGroup(e.Key);
            if (g is null)
                WriteError(new ErrorRecord(new ItemNotFoundException($"The dataset {ds.Path} has no group with key '{e.Key}'."),
                    "GroupNotFound", ErrorCategory.ObjectNotFound, e.Key));
            else if (seen.Add(g.Ordinal)) groups.Add(g);
            else repeated++;
        }
        if (repeated > 0)
            WriteWarning($"{repeated} group{(repeated == 1 ? "" : "s")} of {ds.Path} came again on the pipeline; each group is measured once.");
        return groups;
    }

    // Piped groups are measured against the whole dataset's labels, not the selection's: the global counts
    // are read first, from every group.
    private IReadOnlyDictionary<string, long>? GlobalLabels(GroupedDataset ds) =>
        ParameterSetName == "Group" && LabelColumn is not null ? ContentStats.GlobalLabelCounts(ds, LabelColumn, null, _cts.Token) : null;

    private void Measure(GroupedDataset ds, IEnumerable<GroupInfo> groups, string datasetPath)
    {
        var globalLabels = GlobalLabels(ds);
        IReadOnlyDictionary<string, long>? global = null;
        if (PerGroup)
        {
            foreach (var r in ContentStats.PerGroup(ds, groups, LabelColumn, TextColumn, globalLabels, _cts.Token))
                WriteObject(new GroupStatsRow
                {
                    Key = r.Key, RecordCount = r.Records, ByteCount = r.Bytes, DistinctLabels = r.DistinctLabels, Entropy = r.Entropy,
                    JensenShannon = r.JensenShannon, Hellinger = r.Hellinger, EarthMovers = r.EarthMovers, MissingLabels = r.MissingLabels,
                    Words = r.Words, Characters = r.Characters,
                });
            return;
        }
        var sizes = new GroupSizeStats.Accumulator();
        var rows = ContentStats.PerGroup(ds, groups.Select(g => { sizes.Add(g.RecordCount, g.ByteCount); return g; }), LabelColumn, TextColumn, globalLabels, _cts.Token, g => global = g);
        var summary = ContentStats.Summarize(rows, global?.Count ?? 0);
        var s = sizes.Result();
        WriteObject(new GroupStats
        {
            DatasetPath = datasetPath,
            GroupCount = s.GroupCount, RecordCount = s.RecordCount, ByteCount = s.ByteCount,
            MinRecords = s.MinRecords, MaxRecords = s.MaxRecords, MeanRecords = s.MeanRecords, MedianRecords = s.MedianRecords,
            P10Records = s.P10Records, P90Records = s.P90Records, P99Records = s.P99Records, StdDevRecords = s.StdDevRecords,
            Gini = s.Gini, Top1PercentShare = s.Top1PercentShare,
            LabelColumn = LabelColumn,
            LabelCount = global?.Count,
            MissingLabels = summary.MissingLabels,
            MeanDistinctLabels = summary.DistinctLabels?.Mean,
            MeanEntropy = summary.Entropy?.Mean,
            MeanJensenShannon = summary.JensenShannon?.Mean, MaxJensenShannon = summary.JensenShannon?.Max,
            MeanHellinger = summary.Hellinger?.Mean, MaxHellinger = summary.Hellinger?.Max,
            MeanEarthMovers = summary.EarthMovers?.Mean, MaxEarthMovers = summary.EarthMovers?.Max,
            TextColumn = TextColumn,
            TotalWords = summary.TotalWords, TotalCharacters = summary.TotalCharacters,
            MeanWords = summary.Words?.Mean, MeanCharacters = summary.Characters?.Mean,
        });
    }

    protected override void StopProcessing() => _cts.Cancel();

    public void Dispose()
    {
        _datasets.Dispose();
        _cts.Dispose();
    }
}
