using System.Management.Automation;
using Grouper.Format;
using Grouper.Sources;
using Grouper.Writer;

namespace Grouper.PowerShell.Commands;

/// <summary>Combines the parts of a sharded build into one dataset: without rewriting record data, unless a file split's parts differ in schema.</summary>
[Cmdlet(VerbsData.Merge, "GroupedDataset", DefaultParameterSetName = "Path", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(GroupedDatasetInfo))]
public sealed class MergeGroupedDatasetCommand : DatasetPathCmdlet, IDisposable
{
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = "";

    /// <summary>Link (default: hard links, else copies), Copy, or Move the parts' shards.</summary>
    [Parameter]
    public TransferMode Transfer { get; set; } = TransferMode.Link;

    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Write the new dataset through to the disk (fsync) before committing it; replacing a dataset always does.</summary>
    [Parameter]
    public SwitchParameter Durable { get; set; }

    /// <summary>Memory budget of a merge that writes its parts again (their schemas differ), as a build's.</summary>
    [Parameter]
    [ValidateRange(4L << 20, long.MaxValue)]
    public long MemoryLimit { get; set; } = BuildOptions.DefaultMemoryLimit;

    private readonly List<string> _parts = new();
    private readonly CancellationTokenSource _cts = new();

    protected override void ProcessRecord() =>
        _parts.AddRange(ResolveDatasetPaths());

    protected override void EndProcessing()
    {
        var destination = ResolveOutputPath(Destination, "DestinationNotFileSystem");
        // A wildcard over the parts' folder matches the merged dataset too once it is there (merged again with -Force).
        if (_parts.RemoveAll(p => SourceFiles.IsWithin(p, destination)) > 0)
            WriteWarning($"Skipped the destination {destination} among the parts: it is the dataset this merge writes.");
        if (UnresolvedInputs > 0)
            // A part's path with a typo: the merge would commit a dataset without that part's groups (with -Force, over the old one).
            ThrowTerminatingError(new ErrorRecord(new InvalidOperationException(
                $"{UnresolvedInputs} part(s) could not be found; nothing was merged, so that the dataset does not silently lack them."),
                "PartsNotFound", ErrorCategory.ObjectNotFound, destination));
        if (_parts.Count == 0)
            ThrowTerminatingError(new ErrorRecord(new PSArgumentException("No parts to merge."), "NoParts", ErrorCategory.InvalidArgument, Path));
        if (!ShouldProcess(destination, $"Merge {_parts.Count} parts into a grouped dataset")) return;
        try
        {
            var m = DatasetMerger.Merge(_parts, destination, Force, (ShardTransfer)Transfer, _cts.Token, Durable, WriteWarning, new PipelineProgress<BuildProgress>(Report), MemoryLimit);
            WriteObject(ToInfo(destination, m));
        }
        catch (GrouperException ex)
        {
            ThrowTerminatingError(ToErrorRecord(ex, "Merge", destination));
        }
    }

    /// <summary>
    /// On this (the pipeline) thread, a few times a second: a rewrite of the parts (their schemas differ) as a
    /// build; a merge of their shards as a build's writing (the shards' records copied, linked or moved so far,
    /// the shard under way as the current operation) and merging (the indexes) phases.
    /// </summary>
    private void Report(BuildProgress p)
    {
        var record = BuildProgressRecord(2, "Merge-GroupedDataset", p, $"Read {p.RecordsRead:N0} records of the parts, to write them under one schema", null);
        if (p.Phase == BuildPhase.Done) record.RecordType = ProgressRecordType.Completed;
        WriteProgress(record);
    }

    // A merge that writes its parts again takes as long as a build: Ctrl+C stops it, leaving nothing.
    protected override void StopProcessing() => _cts.Cancel();

    public void Dispose() => _cts.Dispose();
}
