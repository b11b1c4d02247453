using System.Management.Automation;
using Grouper.Reading;
using Grouper.Stats;

namespace Grouper.PowerShell.Commands;

/// <summary>Group count, records, bytes and the distribution of group sizes, from a dataset's index or from groups on the pipeline.</summary>
[Cmdlet(VerbsDiagnostic.Measure, "GroupStats", DefaultParameterSetName = "Path")]
[OutputType(typeof(GroupStats))]
public sealed class MeasureGroupStatsCommand : GrouperCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Path")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = "LiteralPath", ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = "Group", ValueFromPipeline = true)]
    [ValidateNotNull]
    public GroupEntry[] InputObject { get; set; } = [];

    private readonly List<(long, long)> _piped = new();

    protected override void ProcessRecord()
    {
        if (ParameterSetName == "Group")
        {
            foreach (var g in InputObject) _piped.Add((g.RecordCount, g.ByteCount));
            return;
        }
        foreach (var path in ResolveInputPaths(ParameterSetName == "Path" ? Path : LiteralPath, ParameterSetName == "LiteralPath"))
        {
            try
            {
                using var ds = GroupedDataset.Open(path);
                WriteObject(ToStats(ds.Path, GroupSizeStats.Compute(ds.EnumerateGroups())));
            }
            catch (GrouperException ex)
            {
                WriteError(ToErrorRecord(ex, "OpenDataset", path));
            }
        }
    }

    protected override void EndProcessing()
    {
        if (ParameterSetName == "Group") WriteObject(ToStats(null, GroupSizeStats.Compute(_piped)));
    }

    private static GroupStats ToStats(string? path, GroupSizeStats s) => new()
    {
        DatasetPath = path,
        GroupCount = s.GroupCount,
        RecordCount = s.RecordCount,
        ByteCount = s.ByteCount,
        MinRecords = s.MinRecords,
        MaxRecords = s.MaxRecords,
        MeanRecords = s.MeanRecords,
        MedianRecords = s.MedianRecords,
        P90Records = s.P90Records,
        P99Records = s.P99Records,
    };
}
