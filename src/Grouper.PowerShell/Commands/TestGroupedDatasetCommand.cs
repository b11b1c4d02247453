using System.Management.Automation;
using Grouper.Format;

namespace Grouper.PowerShell.Commands;

/// <summary>
/// Verifies grouped datasets: the manifest, every file's size and checksum, and that the index matches
/// the shards. Emits each problem as an object; with -Quiet, only true or false.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "GroupedDataset", DefaultParameterSetName = "Path")]
[OutputType(typeof(DatasetProblemInfo), typeof(bool))]
public sealed class TestGroupedDatasetCommand : DatasetPathCmdlet, IDisposable
{
    /// <summary>Check files and sizes only: no checksums, no reading of shards.</summary>
    [Parameter]
    public SwitchParameter Quick { get; set; }

    /// <summary>Emit $true when the dataset is sound, $false otherwise, instead of the problems.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    private readonly CancellationTokenSource _cts = new();

    protected override void ProcessRecord()
    {
        foreach (var path in ResolveDatasetPaths())
        {
            int problems = 0;
            WriteProgress(new ProgressRecord(2, "Test-GroupedDataset", $"Checking {path}"));
            foreach (var p in DatasetVerifier.Verify(path, Quick, _cts.Token))
            {
                problems++;
                if (!Quiet) WriteObject(new DatasetProblemInfo { DatasetPath = path, Check = p.Check, Target = p.Target, Message = p.Message });
            }
            WriteProgress(new ProgressRecord(2, "Test-GroupedDataset", "Done") { RecordType = ProgressRecordType.Completed });
            WriteVerbose($"{path}: {(problems == 0 ? "no problems" : $"{problems} problem(s)")}{(Quick ? " (quick check)" : "")}.");
            if (Quiet) WriteObject(problems == 0);
        }
    }

    protected override void StopProcessing() => _cts.Cancel();

    public void Dispose() => _cts.Dispose();
}
