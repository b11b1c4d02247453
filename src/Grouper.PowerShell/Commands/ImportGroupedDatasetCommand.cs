using System.Management.Automation;
using Grouper.Format;
using Grouper.Keys;
using Grouper.Writer;

namespace Grouper.PowerShell.Commands;

/// <summary>
/// Adopts Parquet files that are already grouped (Spark, DuckDB): checks in one pass that every group is
/// contiguous and in one file, then writes an index and a manifest, in place or into a new dataset.
/// </summary>
[Cmdlet(VerbsData.Import, "GroupedDataset", DefaultParameterSetName = "Path", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(GroupedDatasetInfo))]
public sealed class ImportGroupedDatasetCommand : GrouperCmdlet, IDisposable
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Path")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = "LiteralPath", ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string LiteralPath { get; set; } = "";

    [Parameter(Mandatory = true)]
    [ArgumentCompleter(typeof(ColumnNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] GroupBy { get; set; } = [];

    /// <summary>A new dataset; without it the index and manifest are written into the source folder.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    public string? Destination { get; set; }

    /// <summary>Build a new grouped dataset from the files instead (for files whose groups are not contiguous).</summary>
    [Parameter]
    public SwitchParameter Regroup { get; set; }

    [Parameter]
    public TransferMode Transfer { get; set; } = TransferMode.Link;

    [Parameter]
    [ValidateRange(4L << 20, long.MaxValue)]
    public long MemoryLimit { get; set; } = BuildOptions.DefaultMemoryLimit;

    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Write the new dataset through to the disk (fsync) before committing it; replacing a dataset always does.</summary>
    [Parameter]
    public SwitchParameter Durable { get; set; }

    private readonly CancellationTokenSource _cts = new();

    protected override void ProcessRecord()
    {
        var sources = ResolveInputPaths([ParameterSetName == "Path" ? Path : LiteralPath], ParameterSetName == "LiteralPath");
        if (sources.Count != 1)
        {
            if (sources.Count > 1) WriteError(new ErrorRecord(new PSArgumentException($"'{Path}' names {sources.Count} folders; import one at a time."), "AmbiguousSource", ErrorCategory.InvalidArgument, Path));
            return;
        }
        var source = sources[0];
        string? destination = Destination is null ? null : ResolveOutputPath(Destination, "DestinationNotFileSystem");
        if (Regroup && destination is null)
            ThrowTerminatingError(new ErrorRecord(new PSArgumentException("-Regroup writes a new dataset: give -Destination."), "RegroupNeedsDestination", ErrorCategory.InvalidArgument, source));
        // -Transfer Move with -Regroup left the files where they were, and an import in place has nothing to transfer:
        // both were accepted without a word.
        if (MyInvocation.BoundParameters.ContainsKey("Transfer") && (Regroup || destination is null))
            ThrowTerminatingError(new ErrorRecord(new PSArgumentException(Regroup
                ? "-Regroup writes the records again into new shards; its files are not transferred, so -Transfer does not apply."
                : "An import in place leaves the files where they are; -Transfer applies with -Destination."), "TransferUnused", ErrorCategory.InvalidArgument, source));
        var target = destination ?? source;
        if (!ShouldProcess(target, Regroup ? "Regroup Parquet files into a grouped dataset" : "Index grouped Parquet files as a grouped dataset")) return;
        try
        {
            if (Regroup)
            {
                var built = DatasetImporter.Regroup(source, destination!, new BuildOptions
                {
                    Key = new ColumnKeySpec(GroupBy), MemoryLimit = MemoryLimit, Overwrite = Force, Durable = Durable,
                    Progress = new PipelineProgress<BuildProgress>(p => WriteProgress(BuildProgressRecord(1, "Import-GroupedDataset", p, $"{ReadSoFar(p)} of Parquet files to regroup; {p.SpillRuns} spill runs", null))),
                }, _cts.Token);
                WriteProgress(new ProgressRecord(1, "Import-GroupedDataset", "Done") { RecordType = ProgressRecordType.Completed });
                WriteObject(ToInfo(destination!, built));
                return;
            }
            var m = DatasetImporter.Import(source, new ColumnKeySpec(GroupBy), destination, Force, (ShardTransfer)Transfer, MemoryLimit, _cts.Token, Durable);
            WriteObject(ToInfo(target, m));
        }
        catch (GrouperException ex)
        {
            ThrowTerminatingError(ToErrorRecord(ex, "Import", ex.SourceName ?? source));
        }
    }

    protected override void StopProcessing() => _cts.Cancel();

    public void Dispose() => _cts.Dispose();
}
