using System.Management.Automation;
using Grouper.Reading;

namespace Grouper.PowerShell.Commands;

/// <summary>Opens grouped datasets and emits their manifests.</summary>
[Cmdlet(VerbsCommon.Get, "GroupedDataset", DefaultParameterSetName = "Path")]
[OutputType(typeof(GroupedDatasetInfo))]
public sealed class GetGroupedDatasetCommand : GrouperCmdlet
{
    // By property name too, as Get-Item's -Path: an object with a Path (and no PSPath) became the text "@{Path=…}".
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Path", ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = "LiteralPath", ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = [];

    protected override void ProcessRecord()
    {
        foreach (var path in ResolveInputPaths(ParameterSetName == "Path" ? Path : LiteralPath, ParameterSetName == "LiteralPath"))
        {
            try
            {
                using var ds = GroupedDataset.Open(path);
                WriteObject(ToInfo(ds.Path, ds.Manifest));
            }
            catch (GrouperException ex)
            {
                WriteError(ToErrorRecord(ex, "OpenDataset", path));
            }
        }
    }
}
