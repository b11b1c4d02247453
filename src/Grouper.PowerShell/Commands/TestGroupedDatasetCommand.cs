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
    /// <summary>Check files and sizes, and what opening the dataset refuses (the index's header, its group count): no checksums, no reading of shards.</summary>
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
            // On this (the pipeline) thread, as the problems are enumerated; a few times a second, and at each step's end.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            long last = long.MinValue / 2;
            var progress = new PipelineProgress<VerifyProgress>(p =>
            {
                if (p.Done < p.Total && clock.ElapsedMilliseconds - last < 250) return;
                last = clock.ElapsedMilliseconds;
                WriteProgress(new ProgressRecord(2, "Test-GroupedDataset", $"Checking {path}: {Step(p.Check)}, {p.Done} of {p.Total}")
                {
                    CurrentOperation = p.Check,
                    PercentComplete = p.Total > 0 ? 100 * p.Done / p.Total : -1,
                });
            });
            foreach (var p in DatasetVerifier.Verify(path, Quick, _cts.Token, progress))
            {
                problems++;
                if (!Quiet) WriteObject(new DatasetProblemInfo { DatasetPath = path, Check = p.Check, Target = p.Target, Message = p.Message });
            }
            WriteProgress(new ProgressRecord(2, "Test-GroupedDataset", "Done") { RecordType = ProgressRecordType.Completed });
            WriteVerbose($"{path}: {(problems == 0 ? "no problems" : $"{problems} problem(s)")}{(Quick ? " (quick check)" : "")}.");
            if (Quiet) WriteObject(problems == 0);
        }
    }

    private static string Step(string check) => check switch
    {
        "checksum" => "files and their checksums",
        "index" => "the shards' rows against the index",
        "statistics" => "the shards' statistics against their values",
        _ => check,
    };

    protected override void StopProcessing() => _cts.Cancel();

    public void Dispose() => _cts.Dispose();
}
