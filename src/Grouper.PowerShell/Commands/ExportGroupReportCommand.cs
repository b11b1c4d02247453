using System.Management.Automation;
using Grouper.Sources;
using Grouper.Stats;

namespace Grouper.PowerShell.Commands;

/// <summary>Writes a self-contained HTML report of a dataset: summary, size histogram and CDF, largest groups, label heatmap.</summary>
[Cmdlet(VerbsData.Export, "GroupReport", DefaultParameterSetName = "Path", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class ExportGroupReportCommand : GrouperCmdlet, IDisposable
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Path")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = "LiteralPath", ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string LiteralPath { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = "";

    /// <summary>Adds label heterogeneity and a heatmap of the label mix of a sample of groups.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(DatasetColumnCompleter))]
    public string? LabelColumn { get; set; }

    /// <summary>Seed of the heatmap's sample of groups.</summary>
    [Parameter]
    public long Seed { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    private readonly DatasetCache _datasets = new();
    private readonly CancellationTokenSource _cts = new();

    protected override void ProcessRecord()
    {
        var paths = ResolveInputPaths([ParameterSetName == "Path" ? Path : LiteralPath], ParameterSetName == "LiteralPath");
        if (paths.Count != 1)
        {
            if (paths.Count > 1) WriteError(new ErrorRecord(new PSArgumentException($"'{Path}' names {paths.Count} datasets; a report is about one."), "AmbiguousDataset", ErrorCategory.InvalidArgument, Path));
            return;
        }
        var destination = ResolveOutputPath(Destination, "DestinationNotFileSystem");
        if (Directory.Exists(destination) || Destination.EndsWith('/') || Destination.EndsWith(System.IO.Path.DirectorySeparatorChar))
        {
            WriteError(new ErrorRecord(new PSArgumentException($"'{destination}' is a folder; the report is one file: give its name, e.g. '{System.IO.Path.Combine(destination, "report.html")}'."),
                "ReportDestinationIsFolder", ErrorCategory.InvalidArgument, destination));
            return;
        }
        if (System.IO.Path.GetDirectoryName(destination) is { } folder && !Directory.Exists(folder))
        {
            // Not made here, as Out-File and Export-Csv do not make it either.
            WriteError(new ErrorRecord(new DirectoryNotFoundException($"The folder '{folder}' of the report '{destination}' does not exist."),
                "ReportFolderNotFound", ErrorCategory.ObjectNotFound, destination));
            return;
        }
        if (SourceFiles.IsWithin(destination, paths[0]))
        {
            // With -Force it replaced the dataset's manifest (or a shard) with the report, and the dataset was lost.
            WriteError(new ErrorRecord(new PSArgumentException($"'{destination}' is inside the dataset {paths[0]}, whose files a report must not replace: write it elsewhere."),
                "ReportInsideDataset", ErrorCategory.InvalidArgument, destination));
            return;
        }
        if (File.Exists(destination) && !Force)
        {
            WriteError(new ErrorRecord(new IOException($"The file '{destination}' exists. Use -Force to replace it."), "ReportExists", ErrorCategory.ResourceExists, destination));
            return;
        }
        if (!ShouldProcess(destination, "Write grouped dataset report")) return;
        try
        {
            var ds = _datasets.Get(paths[0], SessionState);
            // Written beside the destination and moved into place, so a failure leaves no half report.
            var temp = destination + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
            try
            {
                GroupReport.Write(ds, temp, new ReportOptions { LabelColumn = LabelColumn, Seed = Seed }, _cts.Token);
                File.Move(temp, destination, overwrite: true);
            }
            finally
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
            WriteObject(new FileInfo(destination));
        }
        catch (GrouperException ex)
        {
            WriteError(ToErrorRecord(ex, "Report", paths[0]));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A folder that cannot be written, a full disk, a dataset's file gone while it was read.
            WriteError(new ErrorRecord(new IOException($"Writing the report '{destination}' failed: {ex.Message}", ex), "ReportWriteFailed", ErrorCategory.WriteError, destination));
        }
    }

    protected override void StopProcessing() => _cts.Cancel();

    public void Dispose()
    {
        _datasets.Dispose();
        _cts.Dispose();
    }
}
